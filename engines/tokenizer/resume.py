"""What identifies an encode-corpus run in its output folder, and how an interrupted one resumes.

The fingerprint (tokenizer and corpus sha256, options) decides between start, resume, "already
complete" and refusal; ``.encode-state.json`` holds the corpus position after the last completed
shard. Kept apart from :mod:`engines.tokenizer.encode`, which runs the encoding, because this is
the folder's bookkeeping: it reads no document and encodes nothing. A mixin of
:class:`engines.tokenizer.encode.EncodeCorpus`, so mutants still override single steps
(``same_run``, ``resume_start``) on the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apr_contracts.atomic import is_leftover
from apr_contracts.hashing import sha256_file
from engines.errors import AprError
from engines.tokenizer import corpus as corpus_mod
from engines.tokenizer.load import LoadedTokenizer
from engines.tokenizer.shards import MANIFEST, STATE

if TYPE_CHECKING:  # encode.py imports this module: the options type is only an annotation here
    from engines.tokenizer.encode import EncodeOptions


class ResumableOutput:
    """The output folder's run identity and resume state (mixin of the encode-corpus algorithm)."""

    def fingerprint(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path]) -> dict[str, Any]:
        return {
            "tokenizer_sha256": tok.sha256,
            "corpus": [{"path": str(p.resolve()), "sha256": sha256_file(p), "bytes": p.stat().st_size}
                       for p in files],
            "text_field": opts.text_field, "eos_policy": opts.eos_policy, "eos_id": self._eos(opts, tok),
            "shard_tokens": opts.shard_tokens, "max_docs": opts.max_docs, "on_bad_line": opts.on_bad_line,
        }

    def same_run(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Same tokenizer, same corpus bytes (paths may move), same options."""
        def key(fp: dict[str, Any]) -> Any:
            return {**fp, "corpus": [(c["sha256"], c["bytes"]) for c in fp.get("corpus", [])]}
        return bool(key(old) == key(new))

    def resume_start(self, state: dict[str, Any]) -> corpus_mod.Position:
        return corpus_mod.Position(**state["next_position"])

    @staticmethod
    def _eos(opts: EncodeOptions, tok: LoadedTokenizer) -> int | None:
        return tok.eos_id if opts.eos_policy != "none" else None

    def _prepare_output(self, out: Path, fingerprint: dict[str, Any], force: bool) -> dict[str, Any] | None:
        """Prior state to resume from, {"complete": True, ...} if already done, or None to start."""
        if out.exists() and not out.is_dir():
            raise AprError(f"{out}: exists and is not a directory", hint="choose another --output")
        out.mkdir(parents=True, exist_ok=True)
        state_path, manifest_path = out / STATE, out / MANIFEST
        prior: dict[str, Any] | None = None
        kind = ""
        if state_path.is_file():
            prior, kind = json.loads(state_path.read_text(encoding="utf-8")), "an interrupted run"
        elif manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            prior, kind = {"fingerprint": _fingerprint_of(manifest), "complete": True, "manifest": manifest}, \
                "a completed run"
        elif any(not _own_leftover(p.name) for p in out.iterdir()) and not force:
            raise AprError(f"{out}: not empty and not an encode-corpus output; refusing to write shards into it",
                           hint="choose an empty or new --output, or pass --force")
        if prior is not None and not force:
            if self.same_run(prior["fingerprint"], fingerprint):
                return prior if kind == "a completed run" else self._check_resumable(out, prior)
            raise AprError(f"{out}: holds {kind} with a different tokenizer, corpus or options; mixing them "
                           "would corrupt the dataset", falsifier="FALSIFY-TOK-ENCODE-CORPUS-007",
                           hint="pass --force to start over in this directory, or choose another --output")
        for stale in [*out.glob("shard-*.bin"), *out.glob(".*.tmp"), state_path, manifest_path]:
            if stale.name.startswith("shard-") or _own_leftover(stale.name) or stale in (state_path, manifest_path):
                stale.unlink(missing_ok=True)
        return None

    def _check_resumable(self, out: Path, state: dict[str, Any]) -> dict[str, Any]:
        for record in state["shards"]:
            path = out / record["file"]
            ok = path.is_file() and path.stat().st_size == record["bytes"]
            if ok and sha256_file(path) != record["sha256"]:
                ok = False
            if not ok:
                raise AprError(f"{path}: completed shard is missing or changed since the interrupted run",
                               hint="pass --force to start over", falsifier="FALSIFY-TOK-ENCODE-CORPUS-006")
        done = {r["file"] for r in state["shards"]}
        for stray in [*out.glob("shard-*.bin"), *out.glob(".*.tmp")]:
            if stray.name not in done and (stray.name.startswith("shard-") or _own_leftover(stray.name)):
                stray.unlink()  # written after the last state update: it will be rewritten identically
        return state


def _fingerprint_of(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("text_field", "eos_policy", "eos_id", "shard_tokens", "max_docs", "on_bad_line")
    return {"tokenizer_sha256": manifest.get("tokenizer", {}).get("sha256"),
            "corpus": manifest.get("corpus", []), **{k: manifest.get(k) for k in keys}}


def _own_leftover(name: str) -> bool:
    """A temporary file an interrupted encode-corpus run can leave: a shard, the state or the manifest."""
    return (name.startswith(".shard-") and name.endswith(".tmp")) or any(
        is_leftover(name, of) for of in (STATE, MANIFEST))
