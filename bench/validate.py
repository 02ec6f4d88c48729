"""Benchmark `pv validate` against a bare `yaml.load(CSafeLoader)` of the same files.

Builds a corpus of >= 1,000 contract files by replicating the reference contracts
(../shared/reference-contracts/aprender, or $PV_SHARED_DIR) under distinct file
names *and* distinct contract and falsifier ids, so the timing measures validation
rather than a flood of duplicate-id findings. Then, in the same run:

* baseline: read every file and ``yaml.load(text, Loader=CSafeLoader)``;
* pv (in process): ``validate_paths(corpus)`` with the built-in rules;
* pv (CLI): ``pv validate --format json corpus`` as a subprocess (adds interpreter
  start-up and plugin loading, a fixed cost).

Each timing is the best of ``--repeat`` runs. Goal: in-process ratio <= 1.5x.

    .venv/bin/python bench/validate.py [--copies 40] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def source_contracts() -> list[Path]:
    env = os.environ.get("PV_SHARED_DIR")
    shared = Path(env) if env else REPO / ".." / "shared"
    ref = shared / "reference-contracts" / "aprender"
    if not ref.is_dir():
        sys.exit(f"reference contracts not found at {ref} (set PV_SHARED_DIR)")
    # versions/ holds older copies of contracts that are already in the set (same ids)
    return sorted(p for p in ref.rglob("*.yaml") if "versions" not in p.parts)


def build_corpus(out: Path, copies: int) -> int:
    from apr_contracts.loader import load_contracts

    sources = source_contracts()
    loaded = {c.path: c for c in load_contracts(sources).contracts}
    n = 0
    for k in range(copies):
        folder = out / f"replica-{k:03d}"
        folder.mkdir(parents=True)
        for src in sources:
            text = src.read_text(encoding="utf-8")
            c = loaded.get(src)
            if c is not None:
                ids = {f.id for f in c.falsifiers}
                if c.id_source != "file name":
                    ids.add(c.id)
                for ident in sorted(ids, key=len, reverse=True):
                    new = ident.replace("FALSIFY-", f"FALSIFY-R{k}-", 1) if ident.startswith("FALSIFY-") else f"R{k}-{ident}"
                    text = re.sub(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", new, text)
            (folder / f"{src.stem}-r{k}.yaml").write_text(text, encoding="utf-8")
            n += 1
    return n


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result). CPU time is what the ratio uses:
    on a shared 2-core machine, wall time also counts the other processes' turns."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - w0, time.process_time() - c0, result


def baseline(files: list[Path]) -> None:
    for f in files:
        yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def pv_in_process(corpus: Path) -> dict[str, Any]:
    from apr_contracts.validate import validate_paths

    return validate_paths([corpus]).summary


def time_cli(corpus: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "apr_contracts.cli", "validate", "--no-strict", "--format", "json", str(corpus)],
                       capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    json.loads(r.stdout)  # the output is complete, parseable JSON
    return elapsed, r.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=40, help="replicas of the reference set (26 files each)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pv-bench-")) if args.keep is None else args.keep
    corpus = tmp / "corpus"
    try:
        if corpus.exists():
            shutil.rmtree(corpus)
        n = build_corpus(corpus, args.copies)
        files = sorted(corpus.rglob("*.yaml"))
        size = sum(f.stat().st_size for f in files)
        baseline(files)  # warm the page cache and imports for both sides
        pv_in_process(corpus)
        base_runs, pv_runs = [], []
        for _ in range(args.repeat):  # interleaved, so both sides see the same machine load
            base_runs.append(_timed(lambda: baseline(files)))
            pv_runs.append(_timed(lambda: pv_in_process(corpus)))
        base_w, base = min(r[0] for r in base_runs), min(r[1] for r in base_runs)
        pv_w, pv_t = min(r[0] for r in pv_runs), min(r[1] for r in pv_runs)
        summary = pv_runs[0][2]
        cli_t, cli_rc = min(time_cli(corpus) for _ in range(args.repeat))
        print(f"corpus: {n} files, {size / 1e6:.1f} MB, {summary['contracts']} contracts, "
              f"{summary['errors']} errors / {summary['warnings']} warnings found")
        dup = summary["by_code"].get("PV-ID-004", 0) + summary["by_code"].get("PV-ID-007", 0)
        print(f"duplicate-id findings (PV-ID-004/007): {dup}")
        print(f"best of {args.repeat}             CPU s    wall s")
        print(f"yaml.load(CSafeLoader) baseline : {base:7.3f}  {base_w:7.3f}  ({base / n * 1e3:.2f} ms/file CPU)")
        print(f"pv validate (in process)        : {pv_t:7.3f}  {pv_w:7.3f}  ({pv_t / n * 1e3:.2f} ms/file CPU)")
        print(f"ratio pv / baseline             : {pv_t / base:7.2f}x {pv_w / base_w:7.2f}x  (goal <= 1.5x)")
        print(f"pv validate CLI (subprocess)    :          {cli_t:7.3f}  exit {cli_rc}; ratio {cli_t / base_w:.2f}x "
              "incl. interpreter start-up and plugin loading")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
