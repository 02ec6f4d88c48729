"""Falsifiers of the reference contract apr-tokenize-repair-manifest-v1 (FALSIFY-REPAIR-MANIFEST-*): rebuilding
a lost shard manifest with `apr tokenize repair-manifest DIR`.

Each claim runs the real command on a folder a real `apr tokenize encode-corpus` run wrote (fixture
BPE, 12 standard-library files, 6 shards), after deleting its manifest.json: the state of a run killed
after its last shard and before its manifest. The reference's names map to ours as follows:
``shard_count`` is the length of our manifest's ``shards`` list, ``total_tokens`` is our ``tokens``, its
schema literal ``pretokenize-bin-v1`` is its name for the format our encode-corpus manifests call
``apr.tokenize.encode-corpus/v1`` (measured from a clean run, never hard-coded), and ShardBatchIter is
the trainer's shard loader and its sequential windows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._shard_support import (
    Failed,
    copy_folder,
    encoded_folder,
    file_digests,
    ids_of,
    lose_manifest,
    manifest,
    repair,
    shard_paths,
    trainer_reading,
)
from falsifiers._tokenizer_support import said

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
PROVENANCE_KEYS = {"repair", "repaired_at", "repair_sources"}  # the only keys a clean manifest lacks


def _repaired(ctx: RunContext, folder: Path, *extra: str | Path) -> dict[str, Any]:
    proc = repair(ctx, folder, *extra)
    if proc.returncode != 0:
        raise Failed(f"repair-manifest refused a folder of intact shards: {said(proc)}")
    return manifest(folder)


@falsifier("FALSIFY-REPAIR-MANIFEST-001", level="integration", engines=["tokenizer"])
def shard_count_matches_filesystem(ctx: RunContext) -> Verdict:
    """Read as: len(manifest.shards) == the shard-*.bin files on disk, for 1 and for 6 shards, with an
    interrupted run's temporary shard (.shard-NNNNN.bin.*.tmp) lying beside them."""
    measured: dict[str, Any] = {}
    try:
        for label, shard_tokens in (("one", "10000000"), ("six", "3000")):
            _tok, _corpus, out = encoded_folder(ctx, f"out-{label}", shard_tokens=shard_tokens)
            lose_manifest(out)
            # What a kill mid-shard leaves: atomic_path's temporary file, whole ids, not a shard.
            (out / f".shard-{len(shard_paths(out)):05d}.bin.k1ll3d.tmp").write_bytes(b"\x01\x00\x00\x00" * 8)
            on_disk = [p.name for p in shard_paths(out)]
            listed = [r.get("file") for r in _repaired(ctx, out)["shards"]]
            measured[label] = {"on_disk": len(on_disk), "manifest": len(listed)}
            if listed != on_disk:
                return ctx.falsified(f"{len(on_disk)} shard file(s) on disk, the repaired manifest lists {len(listed)}: "
                                     f"{listed}", counterexample={"on_disk": on_disk, "listed": listed},
                                     measured=measured)
    except Failed as exc:
        return ctx.falsified(str(exc), measured=measured)
    return ctx.held("shard count == files on disk for 1 and 6 shards (temporary shard ignored)", measured=measured)


@falsifier("FALSIFY-REPAIR-MANIFEST-002", level="integration", engines=["tokenizer"])
def total_tokens_is_bytes_over_four(ctx: RunContext) -> Verdict:
    """Read as: manifest.tokens == Σ size/4 and each record's tokens == its size/4; a shard of 4k+1,
    4k+2 or 4k+3 bytes is refused (exit 1, naming it, no manifest written); 4k and 4k+4 are accepted."""
    try:
        _tok, _corpus, base = encoded_folder(ctx, "out")
        sizes = {p.name: p.stat().st_size for p in shard_paths(base)}
        got = _repaired(ctx, lose_manifest(copy_folder(base, ctx.workspace / "whole")))
        per_shard = {r["file"]: r.get("tokens") for r in got["shards"]}
        expected = sum(sizes.values()) // 4
        measured: dict[str, Any] = {"shards": len(sizes), "total_tokens": got.get("tokens"), "expected": expected}
        if got.get("tokens") != expected or per_shard != {n: s // 4 for n, s in sizes.items()}:
            return ctx.falsified(f"manifest tokens {got.get('tokens')} (per shard {per_shard}) != bytes / 4 = {expected}",
                                 counterexample={"sizes": sizes, "manifest": per_shard}, measured=measured)
        last = shard_paths(base)[-1].name
        for extra in (1, 2, 3, 4):  # 4k+1..4k+3 refused; 4(k+1) is the next whole id
            folder = lose_manifest(copy_folder(base, ctx.workspace / f"plus{extra}"))
            with open(folder / last, "ab") as handle:
                handle.write(b"\x07" * extra)
            proc = repair(ctx, folder)
            wrote = (folder / "manifest.json").is_file()
            if extra < 4 and (proc.returncode != 1 or last not in proc.stderr or wrote):
                return ctx.falsified(f"{last} of {sizes[last] + extra} bytes (4k+{extra}): repair-manifest "
                                     f"{'wrote a manifest' if wrote else 'did not refuse naming it'} ({said(proc)})",
                                     counterexample={"shard": last, "bytes": sizes[last] + extra}, measured=measured)
            if extra == 4:
                if proc.returncode != 0:
                    return ctx.falsified(f"{last} grown by one whole id was refused: {said(proc)}", measured=measured)
                if manifest(folder).get("tokens") != expected + 1:
                    return ctx.falsified(f"one more id on disk, manifest tokens {manifest(folder).get('tokens')} "
                                         f"!= {expected + 1}", measured=measured)
    except Failed as exc:
        return ctx.falsified(str(exc))
    return ctx.held(f"tokens == Σ bytes/4 over {len(sizes)} shards; 4k+1..4k+3 refused, 4k and 4k+4 accepted",
                    measured=measured)


@falsifier("FALSIFY-REPAIR-MANIFEST-003", level="integration", engines=["tokenizer"])
def schema_same_as_clean_run(ctx: RunContext) -> Verdict:
    """Read as: the repaired manifest's schema and dtype equal a clean encode-corpus manifest's (our
    `pretokenize-bin-v1`), and its fields are the clean manifest's plus only the repair provenance."""
    try:
        _tok, _corpus, out = encoded_folder(ctx, "out")
        clean = manifest(out)
        got = _repaired(ctx, lose_manifest(out))
    except Failed as exc:
        return ctx.falsified(str(exc))
    measured = {"clean_schema": clean.get("schema"), "repaired_schema": got.get("schema")}
    if got.get("schema") != clean.get("schema") or got.get("dtype") != clean.get("dtype"):
        return ctx.falsified(f"repaired schema/dtype {got.get('schema')!r}/{got.get('dtype')!r}, a clean run writes "
                             f"{clean.get('schema')!r}/{clean.get('dtype')!r}",
                             counterexample=got.get("schema"), measured=measured)
    missing, extra = set(clean) - set(got), set(got) - set(clean) - PROVENANCE_KEYS
    if missing or extra:
        return ctx.falsified(f"repaired manifest fields differ from a clean one beyond the repair flag: missing "
                             f"{sorted(missing)}, extra {sorted(extra)}", measured=measured)
    return ctx.held(f"schema {got['schema']!r}, dtype {got['dtype']!r}, same fields as a clean run + repair "
                    "provenance", measured=measured)


@falsifier("FALSIFY-REPAIR-MANIFEST-004", level="integration", engines=["tokenizer"])
def repair_flag_and_rfc3339_timestamp(ctx: RunContext) -> Verdict:
    """Read as: `repair` is JSON true (a clean manifest has no true flag), `repaired_at` is RFC 3339 with a
    zone (T separator, Z or ±hh:mm) and lies between the wall clock before and after the command."""
    try:
        _tok, _corpus, out = encoded_folder(ctx, "out")
        clean_flag = manifest(out).get("repair")
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        got = _repaired(ctx, lose_manifest(out))
        after = dt.datetime.now(dt.UTC)
    except Failed as exc:
        return ctx.falsified(str(exc))
    stamp = got.get("repaired_at")
    measured = {"repair": got.get("repair"), "repaired_at": stamp, "clean_repair_flag": clean_flag}
    if got.get("repair") is not True or clean_flag is True:
        return ctx.falsified(f"repair flag {got.get('repair')!r} (a clean manifest: {clean_flag!r}); expected JSON "
                             "true only on the repaired one", counterexample=got.get("repair"), measured=measured)
    if not isinstance(stamp, str) or not RFC3339.match(stamp):
        return ctx.falsified(f"repaired_at {stamp!r} is not an RFC 3339 date-time with a zone",
                             counterexample=stamp, measured=measured)
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
    # The stamp has second resolution (floored), so it may be up to 1 s before `before`'s second.
    if not before - dt.timedelta(seconds=1) <= when <= after:
        return ctx.falsified(f"repaired_at {stamp} is outside the command's run [{before.isoformat()}, "
                             f"{after.isoformat()}]", counterexample=stamp, measured=measured)
    return ctx.held(f"repair: true, repaired_at {stamp}", measured=measured)


@falsifier("FALSIFY-REPAIR-MANIFEST-005", level="integration", engines=["tokenizer", "trainer"])
def shards_still_train_after_repair(ctx: RunContext) -> Verdict:
    """Read as: repair writes nothing but manifest.json (every other file byte-identical, none added),
    also when it refuses a truncated shard; afterwards the trainer's loader opens the folder and its
    first seq=4 window is the first 5 ids on disk; verify-shards accepts the folder."""
    from falsifiers._tokenizer_support import apr

    try:
        _tok, _corpus, base = encoded_folder(ctx, "out")
        procs = {}
        for label, damage in (("intact", 0), ("truncated", 2)):
            folder = lose_manifest(copy_folder(base, ctx.workspace / label))
            if damage:
                with open(shard_paths(folder)[-1], "ab") as handle:
                    handle.write(b"\x00" * damage)
            before = file_digests(folder)
            proc = procs[label] = repair(ctx, folder)
            after = file_digests(folder)
            if before != after:
                changed = sorted(set(before) ^ set(after) | {n for n in before if after.get(n) != before[n]})
                return ctx.falsified(f"{label} folder: repair-manifest changed or added {changed} (exit "
                                     f"{proc.returncode}); it may write only manifest.json", counterexample=changed)
        folder = ctx.workspace / "intact"
        if not (folder / "manifest.json").is_file():
            return ctx.falsified(f"no manifest written for intact shards: {said(procs['intact'])}")
        loaded, windows = trainer_reading(ctx, folder, 4)
        first = ids_of(shard_paths(folder)[0])[:5]
        verify = apr(ctx, "verify-shards", folder)
    except Failed as exc:
        return ctx.falsified(str(exc))
    except Exception as exc:  # the trainer's loader refusing the repaired folder is the refutation
        return ctx.falsified(f"the trainer's loader refused the repaired folder: {type(exc).__name__}: {exc}")
    measured = {"loaded_tokens": len(loaded), "windows": len(windows), "verify_exit": verify.returncode}
    if not len(windows) or list(windows[0]) != [int(i) for i in first]:
        return ctx.falsified(f"first seq=4 window {list(windows[0]) if len(windows) else None} != first ids on disk "
                             f"{[int(i) for i in first]}", measured=measured)
    if verify.returncode != 0:
        return ctx.falsified(f"verify-shards rejects the repaired folder: {said(verify)} {verify.stdout[-400:]}",
                             measured=measured)
    return ctx.held("only manifest.json written (also on refusal); loader and verify-shards accept the folder",
                    measured=measured)


def _without_stamp(path: Path) -> tuple[str, dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    data.pop("repaired_at", None)
    return re.sub(r'\n\s*"repaired_at": "[^"]*",?', "", text), data


@falsifier("FALSIFY-REPAIR-MANIFEST-006", level="integration", engines=["tokenizer"])
def idempotent_modulo_timestamp(ctx: RunContext) -> Verdict:
    """Read as: two runs of the command (bare shards; with --tokenizer) write manifests whose bytes are
    identical once the repaired_at line is removed (a second apart, so the stamps may differ)."""
    try:
        tok, _corpus, base = encoded_folder(ctx, "out")
        for label, extra in (("bare", ()), ("tokenizer", ("--tokenizer", tok))):
            folder = lose_manifest(copy_folder(base, ctx.workspace / label))
            _repaired(ctx, folder, *extra)
            first = _without_stamp(folder / "manifest.json")
            time.sleep(1.0)  # a different second, so a field derived from the clock would show
            _repaired(ctx, folder, *extra)
            second = _without_stamp(folder / "manifest.json")
            if first != second:
                diff = sorted(k for k in set(first[1]) | set(second[1]) if first[1].get(k) != second[1].get(k))
                return ctx.falsified(f"{label}: a second repair-manifest run changed {diff or 'the bytes'} (beyond "
                                     "repaired_at)", counterexample={k: (first[1].get(k), second[1].get(k)) for k in diff})
    except Failed as exc:
        return ctx.falsified(str(exc))
    return ctx.held("two runs identical modulo repaired_at (bare shards and with --tokenizer)")


CONTRACT = "C-APR-TOKENIZE-REPAIR-MANIFEST"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
