"""Integration falsifiers of apr-cli-tokenize-encode-corpus-v1 (FALSIFY-TOK-ENCODE-CORPUS-001..010).

The oracle is `tokenizers` itself, numpy and hashlib, never the engine's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from apr_contracts.hashing import sha256_file
from engines.tokenizer import fixtures as fx
from falsifiers._tokenizer_support import (
    apr,
    encode_corpus,
    eos_id,
    expected_units,
    first_bad_unit,
    joined_ids,
    read_manifest,
    read_shards,
    reference_ids,
    said,
    stdlib_docs,
)


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-001", level="integration", engines=["tokenizer"])
def eos_counts(ctx: RunContext) -> Verdict:
    """EOS count N-1 (between), N (after), 0 (none)."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = [*stdlib_docs(3), "", *stdlib_docs(3, skip=3)]
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", texts)
    eos, n = eos_id(tok), len(texts)
    natural = sum(ids.count(eos) for ids in reference_ids(tok, texts))
    measured: dict[str, Any] = {"documents": n}
    for policy, expected in (("between", n - 1), ("after", n), ("none", 0)):
        out = ctx.workspace / f"out-{policy}"
        proc = encode_corpus(ctx, tok, corpus, out, "--eos-policy", policy)
        if proc.returncode != 0:
            return ctx.falsified(f"{policy}: command failed: {said(proc)}")
        count = int((joined_ids(out) == eos).sum()) - natural
        measured[policy] = count
        if count != expected or read_manifest(out).get("eos_count") != expected:
            return ctx.falsified(f"--eos-policy {policy}: {count} EOS in the shards (manifest says "
                                 f"{read_manifest(out).get('eos_count')}), expected {expected} for {n} documents",
                                 measured=measured)
    return ctx.held(measured=measured)


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-002", level="integration", engines=["tokenizer"])
def rotation_at_boundaries(ctx: RunContext) -> Verdict:
    """Every shard is whole document units; rotation at the first boundary at or after N ids (N itself included)."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(60)
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", texts)
    units = expected_units(reference_ids(tok, texts), eos_id(tok), "after")
    starts, pos = {0}, 0
    for unit in units:
        pos += len(unit)
        starts.add(pos)
    # N is a document boundary by construction (the first one at or after 500 ids), so the first
    # shard must rotate exactly on it: a writer that rotates only past N (`>` for `>=`) is caught.
    n_tokens = min(b for b in starts if b >= 500)
    out = ctx.workspace / "out"
    proc = encode_corpus(ctx, tok, corpus, out, "--shard-tokens", str(n_tokens), "--eos-policy", "after")
    if proc.returncode != 0:
        return ctx.falsified(f"command failed: {said(proc)}")
    shards = read_shards(out)
    if len(shards) < 2 or len(shards[0]) != n_tokens:
        return ctx.falsified(f"--shard-tokens {n_tokens} (a document boundary): the first shard holds "
                             f"{len(shards[0]) if shards else 0} ids, expected exactly {n_tokens}",
                             measured={"shards": len(shards)})
    offset = 0
    for index, shard in enumerate(shards):
        if offset not in starts:
            return ctx.falsified(f"shard {index} starts at id {offset}, inside a document", measured={"shards": len(shards)})
        offset += len(shard)
    if offset != pos:
        return ctx.falsified(f"the shards hold {offset} ids, the documents {pos}")
    offset = 0
    for index, shard in enumerate(shards[:-1]):
        inside = [len(u) for u in units]
        # the last unit of this shard: the unit ending exactly at offset + len(shard)
        end, acc, last = offset + len(shard), 0, 0
        for length in inside:
            acc += length
            if acc == end:
                last = length
                break
        if len(shard) < n_tokens or len(shard) - last >= n_tokens:
            return ctx.falsified(f"shard {index} holds {len(shard)} ids (last unit {last}): rotation is not at the "
                                 f"first boundary at or after {n_tokens}")
        offset = end
    return ctx.held(measured={"shards": len(shards), "documents": len(texts)})


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-003", level="integration", engines=["tokenizer"])
def ids_below_vocab(ctx: RunContext) -> Verdict:
    """Every id < V (1 + max id over model.vocab and added tokens) and manifest.vocab_size = V."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok", eos_in_vocab=False)
    raw = json.loads(tok.read_text(encoding="utf-8"))
    v = 1 + max([*raw["model"]["vocab"].values(), *(t["id"] for t in raw["added_tokens"])])
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(20))
    out = ctx.workspace / "out"
    proc = encode_corpus(ctx, tok, corpus, out, "--eos-policy", "after")
    if proc.returncode != 0:
        return ctx.falsified(f"refused a valid tokenizer whose EOS is an added token at {v - 2}: {said(proc)}")
    top = int(joined_ids(out).max())
    recorded = read_manifest(out).get("vocab_size")
    if top >= v or recorded != v:
        return ctx.falsified(f"max id {top}, manifest vocab_size {recorded}, expected ids < {v} = vocab_size",
                             measured={"max_id": top, "vocab_size": recorded, "expected": v})
    return ctx.held(measured={"max_id": top, "vocab_size": v})


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-004", level="integration", engines=["tokenizer"])
def manifest_matches_bytes(ctx: RunContext) -> Verdict:
    """Each shard's sha256 and count in the manifest match its bytes; counts sum to the total."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(30))
    out = ctx.workspace / "out"
    proc = encode_corpus(ctx, tok, corpus, out, "--shard-tokens", "2000")
    if proc.returncode != 0:
        return ctx.falsified(f"command failed: {said(proc)}")
    manifest = read_manifest(out)
    for record in manifest["shards"]:
        path = out / record["file"]
        if sha256_file(path) != record["sha256"] or path.stat().st_size != 4 * record["tokens"]:
            return ctx.falsified(f"{record['file']}: manifest sha256/tokens do not match the file",
                                 counterexample={"manifest": record, "sha256": sha256_file(path),
                                                 "bytes": path.stat().st_size})
    if sum(r["tokens"] for r in manifest["shards"]) != manifest["tokens"]:
        return ctx.falsified("shard counts do not sum to manifest.tokens")
    return ctx.held(measured={"shards": len(manifest["shards"]), "tokens": manifest["tokens"]})


def _tricky_docs() -> list[str]:
    return [*stdlib_docs(30), unicodedata.normalize("NFD", "Crème brûlée, naïve café, Ångström"),
            "before <|endoftext|> after <|pad|>", "Mixed CASE Text With Numbers 12345", *stdlib_docs(10, skip=30)]


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-005", level="integration", engines=["tokenizer"])
def ids_match_tokenizer(ctx: RunContext) -> Verdict:
    """Shard ids = the tokenizer's own encoding, document by document (NFD text, added-token text, BOS template)."""
    plain = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "plain")
    data = json.loads(plain.read_text(encoding="utf-8"))
    data["post_processor"] = {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [eos_id(plain)],
                                                                   "tokens": ["<|endoftext|>"]}}}
    bos = ctx.workspace / "bos.json"
    bos.write_text(json.dumps(data), encoding="utf-8")
    texts = _tricky_docs()
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", texts)
    measured: dict[str, Any] = {}
    for name, tok in (("plain", plain), ("bos-template", bos)):
        out = ctx.workspace / f"out-{name}"
        proc = encode_corpus(ctx, tok, corpus, out, "--eos-policy", "after")
        if proc.returncode != 0:
            return ctx.falsified(f"{name}: command failed: {said(proc)}")
        units = expected_units(reference_ids(tok, texts), eos_id(tok), "after")
        got = joined_ids(out).tolist()
        if got != [i for u in units for i in u]:
            bad = first_bad_unit(got, units)
            return ctx.falsified(f"{name}: ids differ from tokenizers' own encoding at document {bad}",
                                 counterexample={"document": texts[bad][:80] if 0 <= bad < len(texts) else None,
                                                 "backend": read_manifest(out).get("run", {}).get("backend")})
        measured[f"{name}_backend"] = read_manifest(out).get("run", {}).get("backend")
    return ctx.held(measured={**measured, "documents": len(texts)})


def _shards_done(state: Path) -> int:
    try:
        return len(json.loads(state.read_text(encoding="utf-8"))["shards"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _run_until_killed(ctx: RunContext, cmd_args: list[str | Path], out: Path, after_shards: int, delay: float) -> int:
    engine = ctx.engine("tokenizer")
    cmd = [sys.executable, "-m", "engines.cli", "--engine-impl", f"tokenizer={engine.name}", "tokenize",
           *map(str, cmd_args)]
    proc = subprocess.Popen(cmd, cwd=ctx.workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    state = out / ".encode-state.json"
    while proc.poll() is None and time.monotonic() < deadline:
        if _shards_done(state) >= after_shards:
            time.sleep(delay)
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-006", level="integration", engines=["tokenizer"])
def resume_after_kill(ctx: RunContext) -> Verdict:
    """SIGKILL mid-run 3 times at random shards, re-run each time: shards byte-identical to an uninterrupted run.

    A kill only counts when it landed: the process died of SIGKILL with some but not all shards recorded. A
    run that finishes before its kill tests no resume, so rounds are retried (up to 8), and a check that
    lands no kill at all is an ERROR, never HELD.
    """
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(240))
    options = ["--shard-tokens", "40000", "--backend", "hf", "--workers", "1", "--no-progress"]
    clean = ctx.workspace / "clean"
    proc = encode_corpus(ctx, tok, corpus, clean, *options)
    if proc.returncode != 0:
        return ctx.falsified(f"uninterrupted run failed: {said(proc)}")
    total = len(read_manifest(clean)["shards"])
    if total < 4:
        raise RuntimeError(f"the fixture corpus gave {total} shards; at least 4 are needed to kill mid-run")
    rng = ctx.rng()
    out = ctx.workspace / "killed"
    state = out / ".encode-state.json"
    args: list[str | Path] = ["encode-corpus", "--corpus", corpus, "--tokenizer", tok, "--output", out, *options]
    kills: list[tuple[int, int]] = []  # (shards recorded when killed, shards recorded at the kill's target)
    for _attempt in range(8):
        if len(kills) == 3:
            break
        before = _shards_done(state)
        if before >= total - 1:
            break
        span = max(1, (total - 2 - before) // (3 - len(kills)))  # leave room for the kills still to come
        target = before + rng.randint(1, span)
        code = _run_until_killed(ctx, args, out, target, rng.uniform(0.0, 0.02))
        after = _shards_done(state)
        if code == -signal.SIGKILL and 0 < after < total:
            kills.append((after, target))
    if not kills:
        raise RuntimeError(f"no kill landed mid-run in 8 attempts ({total} shards): the run always finished "
                           "first, so no resume was tested")
    final = apr(ctx, *args)
    if final.returncode != 0:
        return ctx.falsified(f"the run after {len(kills)} kills failed: {said(final)}", measured={"kills": len(kills)})
    a, b = read_manifest(clean), read_manifest(out)
    a.pop("run"), b.pop("run")
    a.pop("corpus"), b.pop("corpus")
    a.get("tokenizer", {}).pop("path", None), b.get("tokenizer", {}).pop("path", None)
    differ = [s["file"] for s in read_manifest(clean)["shards"]
              if not (out / s["file"]).is_file() or sha256_file(out / s["file"]) != sha256_file(clean / s["file"])]
    killed_at = [done for done, _ in kills]
    if differ or a != b:
        return ctx.falsified(f"after kills with {killed_at} shard(s) recorded, {len(differ)} shard(s) differ",
                             counterexample={"shards": differ[:5], "manifest_equal": a == b,
                                             "tokens": [a.get("tokens"), b.get("tokens")]})
    return ctx.held(measured={"shards": total, "kills": len(kills), "killed_at_shards": killed_at})


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-007", level="integration", engines=["tokenizer"])
def refuse_other_run(ctx: RunContext) -> Verdict:
    """An output holding a run with another tokenizer or corpus is refused unless --force."""
    tok1 = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok1")
    tok2 = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok2", eos_in_vocab=False)
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(20))
    other = fx.write_jsonl(ctx.workspace / "other.jsonl", stdlib_docs(20, skip=20))
    out = ctx.workspace / "out"
    if (proc := encode_corpus(ctx, tok1, corpus, out, "--shard-tokens", "3000")).returncode != 0:
        return ctx.falsified(f"first run failed: {said(proc)}")
    before = {p.name: sha256_file(p) for p in out.glob("shard-*.bin")}
    for what, (tok, data) in {"tokenizer": (tok2, corpus), "corpus": (tok1, other)}.items():
        proc = encode_corpus(ctx, tok, data, out, "--shard-tokens", "3000")
        after = {p.name: sha256_file(p) for p in out.glob("shard-*.bin")}
        if proc.returncode != 1 or "FALSIFY-TOK-ENCODE-CORPUS-007" not in proc.stderr or after != before:
            return ctx.falsified(f"another {what} was not refused: {said(proc)}; shards unchanged: {after == before}")
    if (proc := encode_corpus(ctx, tok2, corpus, out, "--shard-tokens", "3000", "--force")).returncode != 0:
        return ctx.falsified(f"--force did not start over: {said(proc)}")
    fresh = ctx.workspace / "fresh"
    encode_corpus(ctx, tok2, corpus, fresh, "--shard-tokens", "3000")
    if joined_ids(out).tolist() != joined_ids(fresh).tolist():
        return ctx.falsified("--force produced different shards from a fresh run")
    return ctx.held(measured={"refused": 2})


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-008", level="integration", engines=["tokenizer"])
def fast_path_only_when_equivalent(ctx: RunContext) -> Verdict:
    """Lowercase normalizer -> backend hf; NFC byte-level BPE -> a fast backend; ids equal tokenizers' in both."""
    nfc = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "nfc")
    data = json.loads(nfc.read_text(encoding="utf-8"))
    data["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}
    lower = ctx.workspace / "lower.json"
    lower.write_text(json.dumps(data), encoding="utf-8")
    texts = [*stdlib_docs(20), "Upper Case Words AND MORE UPPER CASE", *stdlib_docs(5, skip=20)]
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", texts)
    measured: dict[str, Any] = {}
    fast = ("gigatoken", "tiktoken")
    for name, tok, expected in (("lowercase", lower, ("hf",)), ("nfc", nfc, fast)):
        out = ctx.workspace / f"out-{name}"
        proc = encode_corpus(ctx, tok, corpus, out, "--eos-policy", "none", "--backend", "auto")
        if proc.returncode != 0:
            return ctx.falsified(f"{name}: command failed: {said(proc)}")
        backend = read_manifest(out).get("run", {}).get("backend")
        measured[f"{name}_backend"] = backend
        reference = reference_ids(tok, texts)
        if joined_ids(out).tolist() != [i for ids in reference for i in ids]:
            return ctx.falsified(f"{name}: ids differ from tokenizers' (backend {backend})", measured=measured)
        if backend not in expected:
            return ctx.falsified(f"{name}: backend {backend}, expected {' or '.join(expected)} (fast path only and always "
                                 "where it is equivalent)", measured=measured)
    return ctx.held(measured=measured)


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-009", level="integration", engines=["tokenizer"])
def bad_lines_not_lost(ctx: RunContext) -> Verdict:
    """Malformed lines stop the run with file:line (default) or are skipped and counted."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    good = [json.dumps({"text": t}) for t in stdlib_docs(10)]
    lines = [*good[:4], '{"text": "unterminated', *good[4:7], '{"body": "no text field"}', *good[7:]]
    corpus = ctx.workspace / "c.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = ctx.workspace / "stop"
    proc = encode_corpus(ctx, tok, corpus, out)
    if proc.returncode != 1 or f"{corpus.name}:5" not in proc.stderr or (out / "manifest.json").exists():
        return ctx.falsified(f"--on-bad-line stop: expected exit 1 naming {corpus.name}:5 and no manifest; "
                             f"got {said(proc)}")
    out = ctx.workspace / "skip"
    proc = encode_corpus(ctx, tok, corpus, out, "--on-bad-line", "skip")
    if proc.returncode != 0:
        return ctx.falsified(f"--on-bad-line skip failed: {said(proc)}")
    m = read_manifest(out)
    if m.get("skipped_lines") != 2 or m.get("documents") != len(good):
        return ctx.falsified(f"skip: skipped_lines={m.get('skipped_lines')}, documents={m.get('documents')}; "
                             f"expected 2 and {len(good)}")
    return ctx.held(measured={"skipped_lines": 2, "documents": len(good)})


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-010", level="integration", engines=["tokenizer"])
def verify_detects_corruption(ctx: RunContext) -> Verdict:
    """verify-shards: 0 on clean shards; 1 naming the shard after truncation, a flipped byte, a deletion."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(30))
    clean = ctx.workspace / "clean"
    if (proc := encode_corpus(ctx, tok, corpus, clean, "--shard-tokens", "3000")).returncode != 0:
        return ctx.falsified(f"encode failed: {said(proc)}")
    if (proc := apr(ctx, "verify-shards", clean)).returncode != 0:
        return ctx.falsified(f"clean shards reported as corrupt: {said(proc)} {proc.stdout[-300:]}")

    def truncate(p: Path) -> None:
        p.write_bytes(p.read_bytes()[:-2])

    def flip(p: Path) -> None:
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0x01
        p.write_bytes(bytes(data))

    for name, damage, shard in (("truncated", truncate, "shard-00000.bin"), ("flipped", flip, "shard-00001.bin"),
                                ("deleted", Path.unlink, "shard-00002.bin")):
        copy = ctx.workspace / name
        shutil.copytree(clean, copy)
        damage(copy / shard)
        proc = apr(ctx, "verify-shards", copy)
        if proc.returncode != 1 or shard not in proc.stdout + proc.stderr:
            return ctx.falsified(f"{name} {shard}: verify-shards {said(proc)}; stdout: {proc.stdout.strip()[-300:]}")
    return ctx.held(measured={"damages_detected": 3})
