"""`apr tokenize repair-manifest DIR`: rebuild an encode-corpus ``manifest.json`` from the shards on disk.

A run killed after its last shard was renamed into place but before the manifest was written
(or a manifest left stale by a hand-edited folder) loses the folder's provenance, while the
shards themselves are intact. Re-encoding costs as long as the first run; everything that
matters can be recomputed from the files in seconds:

* the shards: every ``shard-NNNNN.bin`` (regular files only; temporary ``.shard-*.tmp`` files of
  an interrupted run are not shards), in index order, with no gap in the numbering; each one's
  ids = bytes / 4 (little-endian uint32) and its sha256. A size that is not a multiple of 4 is a
  truncated shard and is refused, naming it: a manifest must never vouch for it.
* the run's settings (tokenizer, corpus, EOS policy and id, vocab size...) from whatever still
  knows them: the stale manifest, the run's ``.encode-state.json``, and ``--tokenizer``. What no
  source knows is written as null (never guessed), and verify-shards says what it could not check.

Schema: the reference project calls its shard-folder manifest ``pretokenize-bin-v1``; ours is
``apr.tokenize.encode-corpus/v1`` (:data:`engines.tokenizer.encode.ENCODE_SCHEMA`) with
``dtype: uint32-le``. A repaired manifest carries exactly that schema and the same fields as a
clean one, plus ``repair: true`` and ``repaired_at`` (RFC 3339, UTC). It is written atomically,
and nothing but ``manifest.json`` is written. Run twice, the output differs only in
``repaired_at``. A manifest that already agrees with the shards is left alone (``--force``
rewrites it).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_json_atomic
from apr_contracts.hashing import sha256_file
from engines.errors import AprError, UsageError
from engines.tokenizer.shards import MANIFEST, STATE

SHARD_RE = re.compile(r"^shard-(\d{5,})\.bin$")  # what ShardWriter names (shard-{index:05d}.bin)
# Run-level fields of a clean manifest that the shards cannot tell; carried from the sources.
CARRIED = ("tokenizer", "corpus", "input_format", "text_field", "eos_policy", "eos_id", "shard_tokens", "max_docs",
           "on_bad_line", "vocab_size")
SOURCE_ORDER = ("stale manifest.json", STATE, "--tokenizer", "shards")
RECORD_KEYS = ("file", "tokens", "bytes", "sha256")  # per-shard fields recomputed from the file


def rfc3339_now() -> str:
    """UTC wall clock to the second, e.g. ``2026-05-08T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class RepairResult:
    output: Path
    manifest: dict[str, Any]
    sources: list[str]
    unchanged: bool = False  # the existing manifest already agreed with the shards
    fixed: list[str] = field(default_factory=list)  # how the previous manifest disagreed with the disk

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "unchanged": self.unchanged, "sources": self.sources,
                "fixed": self.fixed, "manifest": self.manifest}


class RepairManifest:
    """`apr tokenize repair-manifest DIR` (mixin for the tokenizer engine)."""

    def repair_manifest(self, directory: Path, *, tokenizer: Path | None = None, force: bool = False) -> RepairResult:
        directory = Path(directory)
        if not directory.is_dir():
            raise UsageError(f"{directory}: not a directory", hint="pass the --output folder of encode-corpus")
        records = [self.repair_record(path) for path in self.repair_shard_files(directory)]
        old = self._read_json(directory / MANIFEST)
        state = self._read_json(directory / STATE)
        fixed = self.repair_differences(old, records)
        if old is not None and not old.get("repair") and not fixed and not force:
            return RepairResult(directory, old, ["manifest.json"], unchanged=True)
        meta, sources, documents = self.repair_metadata(old, state, tokenizer)
        for record in records:  # documents per shard only where a source recorded this very shard
            record["documents"] = documents.get((record["file"], record["sha256"]))
        manifest = self.repair_compose(records, meta, sources)
        write_json_atomic(directory / MANIFEST, manifest)
        return RepairResult(directory, manifest, sources, fixed=fixed)

    # -- the shards ---------------------------------------------------------------------------------
    def repair_shard_files(self, directory: Path) -> list[Path]:
        """The folder's shards in index order; refuses a non-file, a misnamed shard or a gap."""
        found: dict[int, Path] = {}
        for path in directory.glob("shard-*.bin"):
            match = SHARD_RE.match(path.name)
            if match is None:
                raise AprError(f"{path}: named like a shard but not shard-NNNNN.bin", hint="rename or remove it")
            if path.is_symlink() or not path.is_file():
                raise AprError(f"{path}: not a regular file (a symlink, folder or device), so not a shard this "
                               "folder owns", hint="replace it with the shard file itself, or remove it")
            found[int(match.group(1))] = path
        if not found:
            raise AprError(f"{directory}: no shard-NNNNN.bin files to rebuild a manifest from",
                           hint="pass the --output folder of encode-corpus")
        missing = [i for i in range(max(found) + 1) if i not in found]
        if missing:
            raise AprError(f"{directory}: shard-{missing[0]:05d}.bin is missing ({len(missing)} gap(s) in 0..{max(found)});"
                           " a manifest over the rest would hide lost data",
                           hint="restore the missing shard, or re-run encode-corpus")
        return [found[i] for i in sorted(found)]

    def repair_record(self, path: Path) -> dict[str, Any]:
        """file, tokens (bytes / 4), bytes, sha256 of one shard; refuses a size that is not a multiple of 4."""
        size = path.stat().st_size
        if size % 4:
            raise AprError(f"{path}: {size} bytes is not a multiple of 4 (uint32 ids): the shard is truncated "
                           "or corrupt, and a manifest must not vouch for it",
                           hint="re-run the same encode-corpus command to rewrite it (it resumes), or remove it "
                                "and every later shard")
        return {"file": path.name, "tokens": self.repair_token_count(size), "documents": None, "bytes": size,
                "sha256": sha256_file(path)}

    def repair_token_count(self, size: int) -> int:
        return size // 4  # one little-endian uint32 per id

    # -- what the shards cannot tell ----------------------------------------------------------------
    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # lost or unreadable: exactly what repair is for
        return data if isinstance(data, dict) else None

    @staticmethod
    def repair_differences(old: dict[str, Any] | None, records: list[dict[str, Any]]) -> list[str]:
        """How the existing manifest disagrees with the shards on disk (empty: it agrees)."""
        if old is None:
            return ["manifest.json was missing or unreadable"]
        listed: list[Any] = old["shards"] if isinstance(old.get("shards"), list) else []
        before = {r.get("file"): r for r in listed if isinstance(r, dict)}
        now = {r["file"]: r for r in records}
        out = [f"{name}: not on disk" for name in sorted(set(before) - set(now), key=str)]
        out += [f"{name}: not in the manifest" for name in sorted(set(now) - set(before))]
        out += [f"{name}: {key} was {before[name].get(key)!r}, is {now[name][key]!r}"
                for name in sorted(set(now) & set(before)) for key in RECORD_KEYS[1:]
                if before[name].get(key) != now[name][key]]
        total = sum(r["tokens"] for r in records)
        if old.get("tokens") != total:
            out.append(f"total tokens was {old.get('tokens')!r}, is {total}")
        if old.get("schema") != _schema():
            out.append(f"schema was {old.get('schema')!r}")
        return out

    def repair_metadata(self, old: dict[str, Any] | None, state: dict[str, Any] | None,
                        tokenizer: Path | None) -> tuple[dict[str, Any], list[str], dict[tuple[str, str], int]]:
        """Run-level fields, the sources they came from, and known per-shard document counts."""
        meta: dict[str, Any] = dict.fromkeys(CARRIED)
        sources: list[str] = []
        documents: dict[tuple[str, str], int] = {}
        if old is not None:
            meta.update({k: old[k] for k in CARRIED if old.get(k) is not None})
            # A repaired manifest's own sources are the real ones; a clean stale one is a source itself.
            sources += list(old.get("repair_sources") or []) if old.get("repair") else ["stale manifest.json"]
            _remember_documents(documents, old.get("shards"))
        if state is not None and isinstance(state.get("fingerprint"), dict):
            fp = state["fingerprint"]
            meta.update({k: fp[k] for k in CARRIED if fp.get(k) is not None})
            if fp.get("tokenizer_sha256") and not isinstance(meta["tokenizer"], dict):
                meta["tokenizer"] = {"sha256": fp["tokenizer_sha256"]}
            sources.append(STATE)
            _remember_documents(documents, state.get("shards"))
        if tokenizer is not None:
            tok = self.load(tokenizer, lazy=True)  # type: ignore[attr-defined]
            known = meta["tokenizer"].get("sha256") if isinstance(meta["tokenizer"], dict) else None
            if known and known != tok.sha256:
                raise AprError(f"{tokenizer}: sha256 {tok.sha256[:16]}… is not the tokenizer these shards were "
                               f"encoded with ({str(known)[:16]}…, recorded in the folder)",
                               hint="pass the tokenizer of the original encode-corpus run, or omit --tokenizer")
            meta["tokenizer"] = {"path": str(tok.path.resolve()), "sha256": tok.sha256, "model_type": tok.model_type,
                                 "eos_token": tok.eos_token}
            meta["vocab_size"] = self.tokenizer_vocab_size(tok)  # type: ignore[attr-defined]
            if meta["eos_id"] is None and meta["eos_policy"] not in (None, "none"):
                meta["eos_id"] = tok.eos_id
            sources.append("--tokenizer")
        sources.append("shards")
        # One canonical order, so that a second repair lists the same sources as the first.
        return meta, sorted(set(sources), key=SOURCE_ORDER.index), documents

    def repair_compose(self, records: list[dict[str, Any]], meta: dict[str, Any], sources: list[str]) -> dict[str, Any]:
        """A clean manifest's fields, computed or carried, plus the repair provenance."""
        counts = [r["documents"] for r in records]
        return {
            "schema": _schema(), **meta, "dtype": "uint32-le",
            "documents": sum(counts) if None not in counts else None,
            "tokens": sum(r["tokens"] for r in records), "eos_count": None,
            "skipped_lines": None, "bad_lines": None, "blank_lines": None,
            "shards": records,
            "run": {"tool_version": _tool_version()},
            "repair": True, "repaired_at": rfc3339_now(), "repair_sources": sources,
        }


def _remember_documents(into: dict[tuple[str, str], int], records: Any) -> None:
    for r in records if isinstance(records, list) else []:
        if isinstance(r, dict) and isinstance(r.get("documents"), int):
            into[(str(r.get("file")), str(r.get("sha256")))] = r["documents"]


def _schema() -> str:
    from engines.tokenizer.encode import ENCODE_SCHEMA

    return ENCODE_SCHEMA


def _tool_version() -> str:
    from apr_contracts import __version__

    return str(__version__)
