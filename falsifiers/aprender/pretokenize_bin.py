"""Falsifiers of the reference contract pretokenize-bin-v1 (FALSIFY-PRETOK-*): the pre-tokenized uint32 shard format.

The producer is `apr tokenize encode-corpus` (fixture BPE trained on the standard library, 10-12
standard-library files as documents); the consumers are `apr tokenize verify-shards` and the trainer's
shard loader (its ``open_shards`` and consecutive ``seq + 1`` windows stand for the reference's
ShardBatchIter). Oracles are `tokenizers` itself, numpy / struct over the raw bytes and hashlib.
"""

from __future__ import annotations

import hashlib
import platform
import struct
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from apr_contracts.hashing import sha256_file
from falsifiers._shard_support import (
    Failed,
    copy_folder,
    encoded_folder,
    ids_of,
    joined_windows,
    lose_manifest,
    manifest,
    merkle,
    repair,
    set_id,
    shard_paths,
    stream_of,
    trainer_reading,
)
from falsifiers._tokenizer_support import apr, eos_id, reference_ids, said, stdlib_docs


def _vocab_size(tokenizer_json: Any) -> int:
    from tokenizers import Tokenizer

    return int(Tokenizer.from_file(str(tokenizer_json)).get_vocab_size(with_added_tokens=True))


def _verify(ctx: RunContext, folder: Any) -> tuple[int, str]:
    proc = apr(ctx, "verify-shards", folder)
    return proc.returncode, proc.stdout + proc.stderr


@falsifier("FALSIFY-PRETOK-001", level="integration", engines=["tokenizer"])
def ids_below_vocab(ctx: RunContext) -> Verdict:
    """Every id in every shard < V (`tokenizers`' vocab size with added tokens; EOS is an added token at
    2000, so the top of the range is used), manifest.vocab_size == V, and verify-shards' scan draws the
    line at V: an id of V-1 passes, V and V+1 are reported."""
    try:
        tok, _corpus, out = encoded_folder(ctx, "out", eos_in_vocab=False, extra=("--eos-policy", "after"))
    except Failed as exc:
        return ctx.falsified(str(exc))
    v = _vocab_size(tok)
    stream = stream_of(out)
    top = int(stream.max())
    measured: dict[str, Any] = {"vocab_size": v, "max_id": top, "tokens": len(stream),
                                "manifest_vocab_size": manifest(out).get("vocab_size")}
    if top >= v or manifest(out).get("vocab_size") != v:
        return ctx.falsified(f"max id {top} with vocab size {v} (manifest says {manifest(out).get('vocab_size')})",
                             counterexample=top, measured=measured)
    first = shard_paths(out)[0].name
    for value in (v - 1, v, v + 1):
        folder = copy_folder(out, ctx.workspace / f"id-{value}")
        set_id(folder, first, 3, value)
        code, said_ = _verify(ctx, folder)
        measured[f"verify_exit_id_{value}"] = code
        if (code == 0) != (value < v):
            return ctx.falsified(f"verify-shards with one id = {value} (vocab size {v}) exited {code}: "
                                 f"{said_.strip()[-300:]}", counterexample=value, measured=measured)
    return ctx.held(f"max id {top} < {v}; verify-shards passes id {v - 1}, reports {v} and {v + 1}",
                    measured=measured)


@falsifier("FALSIFY-PRETOK-002", level="integration", engines=["tokenizer", "trainer"])
def shards_are_uint32_aligned(ctx: RunContext) -> Verdict:
    """Every shard's size is a multiple of 4; a shard of 4k+1..4k+3 bytes is refused (never read with the
    fragment dropped) by the trainer's loader (folder without manifest, so only the size can tell) and
    reported by verify-shards; 4k and 4k+4 bytes load."""
    try:
        _tok, _corpus, out = encoded_folder(ctx, "out")
    except Failed as exc:
        return ctx.falsified(str(exc))
    sizes = {p.name: p.stat().st_size for p in shard_paths(out)}
    bad = {n: s for n, s in sizes.items() if s % 4}
    measured: dict[str, Any] = {"shards": len(sizes)}
    if bad:
        return ctx.falsified(f"shard sizes not a multiple of 4: {bad}", counterexample=bad, measured=measured)
    last = shard_paths(out)[-1].name
    for extra in (0, 1, 2, 3, 4):
        folder = copy_folder(out, ctx.workspace / f"plus{extra}")
        with open(folder / last, "ab") as handle:
            handle.write(b"\x05" * extra)
        code, said_ = _verify(ctx, folder)
        bare = lose_manifest(copy_folder(folder, ctx.workspace / f"bare{extra}"))
        try:
            loaded, _ = trainer_reading(ctx, bare, 4)
            loader = f"loaded {len(loaded)} ids"
            refused = False
        except Exception as exc:  # the refusal we expect for a fragment: any error naming the shard
            loader, refused = f"{type(exc).__name__}: {exc}", last in str(exc)
        measured[f"4k+{extra}"] = {"verify_exit": code, "loader_refused": refused}
        aligned = extra % 4 == 0
        if aligned and (refused or (extra == 0 and code != 0)):  # +4: verify-shards rightly sees a count drift
            return ctx.falsified(f"{last} with {extra} extra byte(s) (aligned): loader {loader}; verify-shards exit "
                                 f"{code}", measured=measured)
        if not aligned and not refused:
            return ctx.falsified(f"{last} of 4k+{extra} bytes: the trainer's loader did not refuse it ({loader}); a "
                                 "trailing fragment must never be dropped silently",
                                 counterexample={"shard": last, "extra_bytes": extra}, measured=measured)
        if not aligned and (code != 1 or "multiple of 4" not in said_):
            return ctx.falsified(f"{last} of 4k+{extra} bytes: verify-shards exit {code}: {said_.strip()[-300:]}",
                                 counterexample={"shard": last, "extra_bytes": extra}, measured=measured)
    return ctx.held(f"{len(sizes)} shards aligned; 4k+1..4k+3 refused by the loader and verify-shards",
                    measured=measured)


@falsifier("FALSIFY-PRETOK-003", level="integration", engines=["tokenizer", "trainer"])
def trainer_reads_back_the_stream(ctx: RunContext) -> Verdict:
    """10 documents, EOS after each, several shards (5,000 ids each): the trainer loads exactly the intended stream (the
    `tokenizers` ids of each document + EOS, in order, across shard boundaries), and its consecutive
    seq=4 windows cover the first 4·n+1 ids of it."""
    texts = stdlib_docs(10)
    try:
        tok, _corpus, out = encoded_folder(ctx, "out", docs=10, shard_tokens="5000",
                                           extra=("--eos-policy", "after"))
        loaded, windows = trainer_reading(ctx, out, 4)
    except Failed as exc:
        return ctx.falsified(str(exc))
    except Exception as exc:
        return ctx.falsified(f"the trainer's loader refused encode-corpus output: {type(exc).__name__}: {exc}")
    eos = eos_id(tok)
    intended = [i for ids in reference_ids(tok, texts) for i in [*ids, eos]]
    got = [int(i) for i in loaded]
    measured = {"shards": len(shard_paths(out)), "intended": len(intended), "loaded": len(got),
                "windows": len(windows)}
    if measured["shards"] < 2:
        return ctx.falsified(f"expected several shards at --shard-tokens 5000, got {measured['shards']}")
    if got != intended:
        at = next((k for k, (a, b) in enumerate(zip(got, intended, strict=False)) if a != b), min(len(got), len(intended)))
        return ctx.falsified(f"loaded stream differs from the intended one at id {at} of {len(intended)} "
                             f"(loaded {len(got)} ids)", counterexample={"position": at}, measured=measured)
    covered = [int(i) for i in joined_windows(windows)]
    n = (len(intended) - 1) // 4
    if len(windows) != n or covered != intended[: 4 * n + 1]:
        return ctx.falsified(f"{len(windows)} windows of seq 4 cover {len(covered)} ids; expected {n} windows over the "
                             f"first {4 * n + 1} intended ids", measured=measured)
    return ctx.held(f"{len(got)} ids read back exactly over {measured['shards']} shards; {n} windows", measured=measured)


@falsifier("FALSIFY-PRETOK-004", level="integration", engines=["tokenizer"])
def two_runs_byte_identical(ctx: RunContext) -> Verdict:
    """Two encode-corpus runs of the same corpus and tokenizer into two folders: same shard names, every
    shard byte-identical, same per-shard sha256 and counts in both manifests."""
    try:
        # 2 shards of ~6 documents: a per-shard order that depends on the run shows with P ~ 1 - 1/720^2.
        _t, _c, a = encoded_folder(ctx, "run-a", shard_tokens="20000")
        _t, _c, b = encoded_folder(ctx, "run-b", shard_tokens="20000")
    except Failed as exc:
        return ctx.falsified(str(exc))
    names_a, names_b = [p.name for p in shard_paths(a)], [p.name for p in shard_paths(b)]
    measured = {"shards": len(names_a)}
    if names_a != names_b:
        return ctx.falsified(f"run A wrote {names_a}, run B {names_b}", measured=measured)
    for name in names_a:
        x, y = (a / name).read_bytes(), (b / name).read_bytes()
        if x != y:
            at = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]), min(len(x), len(y)))
            return ctx.falsified(f"{name}: runs differ from byte {at} ({len(x)} vs {len(y)} bytes)",
                                 counterexample={"shard": name, "byte": at}, measured=measured)
    keys = ("file", "tokens", "bytes", "sha256", "documents")
    records = [[{k: r.get(k) for k in keys} for r in manifest(f)["shards"]] for f in (a, b)]
    if records[0] != records[1]:
        return ctx.falsified("the manifests' shard records differ between the runs", measured=measured)
    return ctx.held(f"{len(names_a)} shards byte-identical across two runs", measured=measured)


@falsifier("FALSIFY-PRETOK-005", level="integration", engines=["tokenizer"])
def bytes_independent_of_host(ctx: RunContext) -> Verdict:
    """One host here, so read as: what differs between hosts cannot change the bytes. Byte order: the
    shards' sha256 equals that of the reference ids packed explicitly little-endian (struct '<I'), not
    in this host's order; fast-backend availability: `--backend hf` (a host without the fast path) and
    `--backend auto` write the same sha256."""
    texts = stdlib_docs(12)
    digests: dict[str, str] = {}
    try:
        for backend in ("hf", "auto"):
            tok, _corpus, out = encoded_folder(ctx, f"out-{backend}", extra=("--backend", backend))
            digests[backend] = hashlib.sha256(b"".join(p.read_bytes() for p in shard_paths(out))).hexdigest()
    except Failed as exc:
        return ctx.falsified(str(exc))
    ids = [i for doc in reference_ids(tok, texts) for i in [*doc, eos_id(tok)]]
    digests["reference_le"] = hashlib.sha256(struct.pack(f"<{len(ids)}I", *ids)).hexdigest()
    measured = {"host": f"{platform.machine()} {sys.byteorder}-endian", **{k: v[:16] for k, v in digests.items()}}
    if len(set(digests.values())) != 1:
        return ctx.falsified(f"shard sha256 differs: {measured}", counterexample=digests, measured=measured)
    return ctx.held(f"shards == little-endian packing of the reference ids, same with --backend hf and auto "
                    f"(host {measured['host']}; a second architecture is not available here)", measured=measured)


@falsifier("FALSIFY-PRETOK-006", level="integration", engines=["tokenizer"])
def manifest_digests_match_shards(ctx: RunContext) -> Verdict:
    """Read as: the merkle root (sha256 over the shards' sha256s in shard order) computed from the files
    equals the one computed from the manifest's per-shard sha256 (our manifest records those, the
    reference a root over them), for encode-corpus's manifest and for a repair-manifest one; and a
    shard changed after the fact is reported by verify-shards as a sha256 mismatch."""
    try:
        _tok, _corpus, out = encoded_folder(ctx, "out")
        files = [sha256_file(p) for p in shard_paths(out)]
        clean = [r.get("sha256") for r in manifest(out)["shards"]]
        repaired_dir = lose_manifest(copy_folder(out, ctx.workspace / "repaired"))
        proc = repair(ctx, repaired_dir)
        if proc.returncode != 0:
            return ctx.falsified(f"repair-manifest failed on intact shards: {said(proc)}")
        repaired = [r.get("sha256") for r in manifest(repaired_dir)["shards"]]
    except Failed as exc:
        return ctx.falsified(str(exc))
    roots = {"files": merkle(files), "manifest": merkle([str(d) for d in clean]),
             "repaired": merkle([str(d) for d in repaired])}
    measured = {"shards": len(files), **{k: v[:16] for k, v in roots.items()}}
    if len(set(roots.values())) != 1:
        wrong = [k for k, (f, m) in enumerate(zip(files, clean, strict=False)) if f != m]
        return ctx.falsified(f"merkle roots differ {measured}; manifest sha256 wrong for shard(s) {wrong}",
                             counterexample={"shards": wrong}, measured=measured)
    tampered = copy_folder(out, ctx.workspace / "tampered")
    target = shard_paths(tampered)[-1]
    ids = ids_of(target)
    ids[0] ^= 1  # still a valid id, same size: only the digest can tell
    target.write_bytes(ids.astype("<u4").tobytes())
    code, said_ = _verify(ctx, tampered)
    if code != 1 or "sha256" not in said_:
        return ctx.falsified(f"one id changed in {target.name}: verify-shards exit {code}: {said_.strip()[-300:]}",
                             measured=measured)
    return ctx.held(f"merkle root over {len(files)} shards identical from files, manifest and repaired manifest; "
                    "a changed shard is reported", measured=measured)


CONTRACT = "C-PRETOK-BIN"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
