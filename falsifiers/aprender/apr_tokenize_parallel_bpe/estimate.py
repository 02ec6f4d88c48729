"""FALSIFY-APR-TOK-PAR-011..014: `apr tokenize encode-corpus --estimate-only`.

Read as: the other project's ``extrapolate_estimate`` kernel is our engine's ``extrapolate(...)``
(:mod:`engines.tokenizer.estimate`; our encode-corpus feeds it bytes of JSONL or rows of Parquet as
the unit), and ``run_encode_corpus`` with an estimate config is the real command with
``--estimate-only``. Oracles: the contract's worked example, arithmetic done here, `tokenizers` ids.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from engines.tokenizer import fixtures as fx
from falsifiers._tokenizer_support import reference_ids, said, stdlib_docs
from falsifiers.aprender.apr_tokenize_parallel_bpe.workers import run_apr


@falsifier("FALSIFY-APR-TOK-PAR-011", level="algorithm", engines=["tokenizer"])
def extrapolation_formula(ctx: RunContext) -> Verdict:
    """The worked example (1000 docs, 50000 tokens, 1 s; 100000 docs; 1M-token shards; 4 workers) gives
    (5000000, 5, 25.0); sample 0 -> zeros; 0 workers counts as 1; shard_tokens 0 -> 0 shards; shards are
    a ceiling (tokens = k x shard, k x shard +- 1); the wall halves as the workers double."""
    kernel = ctx.engine("tokenizer").extrapolate

    def got(*args: Any) -> tuple[int, int, float]:
        e = kernel(*args)
        return (e.total_tokens, e.shards, round(e.wall_seconds, 9))

    cases: list[tuple[str, tuple[Any, ...], tuple[int, int, float]]] = [
        ("worked example", (1000, 50000, 1.0, 100000, 1_000_000, 4), (5_000_000, 5, 25.0)),
        ("sample_size 0", (0, 50000, 1.0, 100000, 1_000_000, 4), (0, 0, 0.0)),
        ("num_workers 0 clamps to 1", (1000, 50000, 1.0, 100000, 1_000_000, 0), (5_000_000, 5, 100.0)),
        ("shard_tokens 0", (1000, 50000, 1.0, 100000, 0, 4), (5_000_000, 0, 25.0)),
        ("tokens = shard_tokens exactly", (1000, 50000, 1.0, 100000, 5_000_000, 4), (5_000_000, 1, 25.0)),
        ("tokens = shard_tokens + 1", (1000, 50000, 1.0, 100000, 4_999_999, 4), (5_000_000, 2, 25.0)),
        ("tokens = shard_tokens - 1", (1000, 50000, 1.0, 100000, 5_000_001, 4), (5_000_000, 1, 25.0)),
        ("tokens = 2 x shard_tokens + 1", (1000, 50001, 1.0, 100000, 2_500_000, 1), (5_000_100, 3, 100.0)),
    ]
    cases += [(f"{w} workers", (1000, 50000, 1.0, 100000, 1_000_000, w), (5_000_000, 5, 100.0 / w))
              for w in (1, 2, 8)]
    for label, args, want in cases:
        have = got(*args)
        if have != want:
            return ctx.falsified(f"{label}: extrapolate{args} = {have}, expected {want}",
                                 counterexample={"args": args, "got": have, "expected": want})
    return ctx.held(f"{len(cases)} cases as the formula gives")


def _estimate(ctx: RunContext, docs: int, *extra: str) -> tuple[Any, Path, Path, list[str]]:
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(docs)
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", texts)
    out = ctx.workspace / "out"
    proc = run_apr(ctx, "encode-corpus", "--corpus", corpus, "--tokenizer", tok, "--output", out,
                   "--estimate-only", "--format", "json", "--no-progress", *extra)
    return proc, out, tok, texts


def _written(out: Path, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(pattern)) if out.exists() else []


@falsifier("FALSIFY-APR-TOK-PAR-012", level="integration", engines=["tokenizer"])
def estimate_writes_no_shards(ctx: RunContext) -> Verdict:
    """--estimate-only exits 0 with an estimate, and no .bin file exists under --output (which is not created)."""
    proc, out, _tok, _ = _estimate(ctx, 15, "--estimate-sample-docs", "5")
    if proc.returncode != 0:
        return ctx.falsified(f"--estimate-only failed: {said(proc)}")
    shards = _written(out, "*.bin")
    if shards:
        return ctx.falsified(f"--estimate-only wrote {shards} into {out}", counterexample=shards)
    return ctx.held(f"no shards; --output {'exists' if out.exists() else 'not created'}")


@falsifier("FALSIFY-APR-TOK-PAR-013", level="integration", engines=["tokenizer"])
def estimate_writes_no_manifest(ctx: RunContext) -> Verdict:
    """--estimate-only leaves no manifest.json (nor the resume state) under --output, which is not created."""
    proc, out, _tok, _ = _estimate(ctx, 15, "--estimate-sample-docs", "5")
    if proc.returncode != 0:
        return ctx.falsified(f"--estimate-only failed: {said(proc)}")
    found = _written(out, "manifest.json") + _written(out, ".encode-state.json")
    if found or out.exists():
        return ctx.falsified(f"--estimate-only left {found or 'an (empty) output folder'} in {out}",
                             counterexample=found)
    return ctx.held("no manifest, no output folder")


@falsifier("FALSIFY-APR-TOK-PAR-014", level="integration", engines=["tokenizer"])
def estimate_ok_on_valid_input(ctx: RunContext) -> Verdict:
    """On 15 documents with --estimate-sample-docs 5 (and 15, 16 at the corpus size; 0 is a usage error):
    exit 0; the sample is the first min(N, 15) documents and its token count is `tokenizers`' ids plus
    one EOS each; the estimate is the kernel applied to the reported sample (checked here)."""
    measured: dict[str, Any] = {}
    for n in (5, 15, 16):
        proc, _out, tok, texts = _estimate(ctx, 15, "--estimate-sample-docs", str(n), "--shard-tokens", "4000")
        if proc.returncode != 0:
            return ctx.falsified(f"--estimate-sample-docs {n}: {said(proc)}")
        e = json.loads(proc.stdout)["estimate"]
        k = min(n, len(texts))
        want_tokens = sum(len(ids) + 1 for ids in reference_ids(tok, texts[:k]))
        tokens = round(e["sample_tokens"] / e["sample_size"] * e["corpus_units"]) if e["sample_size"] else 0
        expect = (k, want_tokens, tokens, math.ceil(tokens / 4000))
        have = (e["sample_documents"], e["sample_tokens"], e["estimated_tokens"], e["estimated_shards"])
        measured[f"sample_{n}"] = have
        if have != expect:
            return ctx.falsified(f"--estimate-sample-docs {n}: (sample docs, sample tokens, tokens, shards) = {have}, "
                                 f"expected {expect}", counterexample=have, measured=measured)
    proc, *_ = _estimate(ctx, 15, "--estimate-sample-docs", "0")
    if proc.returncode != 2 or "--estimate-sample-docs" not in proc.stderr:
        return ctx.falsified(f"--estimate-sample-docs 0: expected exit 2 naming the flag; {said(proc)}",
                             measured=measured)
    return ctx.held(measured=measured)
