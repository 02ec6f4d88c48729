"""Benchmark `pv validate` on files with many findings: is it linear in the number of issues?

Writes two contract files on the fly, one with N and one with 4·N unknown top-level keys (each a
PV-SCHEMA-003 finding), and times in the same run, best of ``--repeat``:

* baseline: ``yaml.load(CSafeLoader)`` of each file;
* pv: ``validate_paths`` plus the text report written to a buffer (not a terminal: plain lines).

Linear work gives a 4·N/N ratio near 4; the per-issue key scan this replaced gave ~16.

    .venv/bin/python bench/validate_issues.py [--issues 2750] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from apr_contracts.report.validate_output import render_text
from apr_contracts.validate import validate_paths


def _file(folder: Path, issues: int) -> Path:
    path = folder / f"keys-{issues}.yaml"
    head = "metadata:\n  id: keys-v1\n  version: 1.0.0\n  description: d\n"
    path.write_text(head + "".join(f"unknown_key_{i}: 1\n" for i in range(issues)), encoding="utf-8")
    return path


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2750)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in (args.issues, 4 * args.issues):
            path = _file(Path(tmp), n)
            base = _best(lambda p=path: yaml.load(p.read_text(), Loader=yaml.CSafeLoader), args.repeat)

            def pv(p: Path = path, n: int = n) -> None:
                report = validate_paths([p])
                render_text(report, io.StringIO())
                assert report.summary["warnings"] >= n

            rows.append((n, base, _best(pv, args.repeat)))
    for n, base, ours in rows:
        print(f"{n:>6} issues: yaml.load {base:.3f} s, pv validate {ours:.3f} s ({ours / base:.1f}x yaml.load)")
    (n1, _, t1), (n2, _, t2) = rows
    print(f"scaling {n1} -> {n2} issues: {t2 / t1:.1f}x time for {n2 / n1:.0f}x issues (linear = 4)")


if __name__ == "__main__":
    main()
