"""Benchmark `pv run` over the bundled contracts in its three isolation modes.

Runs, one after the other, each on a fresh evidence database in a temporary folder:

* ``pv run CONTRACTS --jobs 2 --level integration`` (the default: pooled worker processes);
* the same with ``--isolation process`` (a fresh worker process per falsifier);
* the same with ``--in-process`` (the baseline: no workers, no isolation cost).

and prints the wall time of each, their ratio to the in-process baseline, the CPU time the children used (the machine may be
shared: the load average at start is printed too), the outcome counts, the ten slowest falsifiers
of each mode, and whether the default (pool) run meets the goal of issue 3: every algorithm- and
integration-level falsifier of `contracts/` in <= 60 s on the 2-core machine.

    .venv/bin/python bench/run.py [--contracts contracts] [--jobs 2] [--level integration]
                                  [--only pool|process|in-process] [--keep DIR] [--format text|json]

Exit 0 when both runs completed (whatever their findings: exit 1 of `pv run` only means some
falsifier was FALSIFIED or ERROR, which is reported), 1 when `pv run` itself failed (exit 2/3 or
unparseable output).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 60.0
MODES = {"pool": [], "process": ["--isolation", "process"], "in-process": ["--in-process"]}


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mode(mode: str, contracts: Path, work: Path, jobs: int, level: str) -> dict[str, Any]:
    """One `pv run` on a fresh evidence DB; wall and CPU time, exit code, parsed JSON results."""
    db = work / f"evidence-{mode}.sqlite"
    db.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "apr_contracts.cli", "run", str(contracts), "--jobs", str(jobs), "--level", level,
           "--evidence", str(db), "--format", "json", "--no-progress", *MODES[mode]]
    env = {**os.environ, "NO_COLOR": "1"}
    cpu0, t0 = children_cpu_s(), time.perf_counter()
    # cwd = the repository, as in CI (`pv run contracts/`); the evidence DB is the fresh one above.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    wall, cpu = time.perf_counter() - t0, children_cpu_s() - cpu0
    out: dict[str, Any] = {"mode": mode, "command": " ".join(cmd[2:]), "exit_code": proc.returncode,
                           "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
    try:
        payload = json.loads(proc.stdout)
    except json.JSONDecodeError:
        out["error"] = f"pv run printed no JSON (exit {proc.returncode}): {proc.stderr.strip()[-800:]}"
        return out
    out["counts"] = {k: v for k, v in payload.get("counts", {}).items() if v}
    out["results"] = [{"falsifier": r["falsifier_id"], "outcome": r["outcome"], "duration_s": r["duration_s"],
                       "message": (r.get("message") or "")[:160]} for r in payload.get("results", [])]
    return out


def slowest(run: dict[str, Any], n: int = 10) -> list[dict[str, Any]]:
    return sorted(run.get("results", []), key=lambda r: -float(r["duration_s"]))[:n]


def render(runs: list[dict[str, Any]], load: tuple[float, float, float], jobs: int) -> str:
    lines = [f"pv run benchmark: --jobs {jobs}, {os.cpu_count()} CPUs, load average at start "
             f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"]
    for run in runs:
        lines.append(f"\n[{run['mode']}] pv {run['command']}")
        if "error" in run:
            lines.append(f"  FAILED: {run['error']}")
            continue
        total = sum(run["counts"].values())
        summed = sum(float(r["duration_s"]) for r in run["results"])
        lines.append(f"  wall {run['wall_s']:.2f} s, children CPU {run['cpu_s']:.2f} s, exit {run['exit_code']}; "
                     f"{total} falsifiers: " + ", ".join(f"{v} {k}" for k, v in sorted(run["counts"].items())))
        lines.append(f"  sum of per-falsifier durations {summed:.1f} s; slowest 10:")
        for r in slowest(run):
            lines.append(f"    {r['duration_s']:7.2f} s  {r['outcome']:<9} {r['falsifier']}")
    done = {r["mode"]: r for r in runs if "error" not in r}
    if "in-process" in done:
        base = done["in-process"]["wall_s"]
        for mode in ("pool", "process"):
            if mode in done:
                wall = done[mode]["wall_s"]
                lines.append(f"\nratio {mode} / in-process wall time: {wall / max(base, 1e-9):.2f}x "
                             f"({wall:.2f} s vs {base:.2f} s)")
    if "pool" in done:
        wall = done["pool"]["wall_s"]
        verdict = "MEETS" if wall <= GOAL_S else "MISSES"
        lines.append(f"goal (issue 3): default `pv run` of algorithm+integration falsifiers <= {GOAL_S:.0f} s: "
                     f"{verdict} ({wall:.2f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=Path, default=REPO / "contracts")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--level", default="integration", choices=["algorithm", "integration", "live", "all"])
    parser.add_argument("--only", choices=list(MODES), help="run one mode only")
    parser.add_argument("--keep", type=Path, help="keep the evidence databases in this folder")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    if not args.contracts.is_dir():
        parser.error(f"{args.contracts}: no such folder")
    work = args.keep or Path(tempfile.mkdtemp(prefix="pv-bench-run-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    try:
        runs = [run_mode(mode, args.contracts.resolve(), work, args.jobs, args.level)
                for mode in MODES if args.only in (None, mode)]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.format == "json":
        print(json.dumps({"version": 1, "jobs": args.jobs, "level": args.level, "goal_s": GOAL_S,
                          "load_average": load, "runs": runs}, indent=2))
    else:
        print(render(runs, load, args.jobs))
    return 1 if any("error" in r or r["exit_code"] not in (0, 1) for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
