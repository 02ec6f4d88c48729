"""Benchmark `pv run` over the bundled contracts: cold and incremental, one worker and two.

Runs, one after the other (the machine may be shared: the load average at start is printed):

* ``cold-jobs1``: ``pv run CONTRACTS --jobs 1`` on a fresh evidence database (the baseline);
* ``cold-jobs2``: the same with ``--jobs 2`` (the default of scripts/main.sh), fresh database;
* ``warm-jobs2``: ``--jobs 2`` again on cold-jobs2's database with nothing changed: every result
  whose claim and fingerprint are unchanged is reused (ERROR results are executed again);
* with ``--isolation-modes``, also ``--isolation process`` and ``--in-process`` cold runs.

It prints each run's wall time, its ratio to the baseline, the CPU time of the children, outcome
counts, how many results were reused, the ten slowest falsifiers, and the goals of issue 13:
the default-level cold run with --jobs 2 <= 60 s, the incremental rerun <= 5 s.

    .venv/bin/python bench/run.py [--contracts contracts] [--level integration] [--isolation-modes]
                                  [--keep DIR] [--format text|json]

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
WARM_GOAL_S = 5.0
# name -> (database it runs on, extra pv arguments); a run named in FRESH starts on a new database.
RUNS = {
    "cold-jobs1": ("jobs1", ["--jobs", "1"]),
    "cold-jobs2": ("jobs2", ["--jobs", "2"]),
    "warm-jobs2": ("jobs2", ["--jobs", "2"]),
}
ISOLATION_RUNS = {
    "cold-process": ("process", ["--jobs", "2", "--isolation", "process"]),
    "cold-in-process": ("in-process", ["--in-process"]),
}


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mode(mode: str, contracts: Path, work: Path, level: str, database: str, extra: list[str]) -> dict[str, Any]:
    """One `pv run`; wall and CPU time, exit code, parsed JSON results. Cold runs get a fresh DB."""
    db = work / f"evidence-{database}.sqlite"
    if mode.startswith("cold"):
        db.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "apr_contracts.cli", "run", str(contracts), "--level", level,
           "--evidence", str(db), "--format", "json", "--no-progress", *extra]
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
    out["reused"] = payload.get("reused", 0)
    out["results"] = [{"falsifier": r["falsifier_id"], "outcome": r["outcome"], "duration_s": r["duration_s"],
                       "reused": r.get("reused_from") is not None, "message": (r.get("message") or "")[:160]}
                      for r in payload.get("results", [])]
    return out


def slowest(run: dict[str, Any], n: int = 10) -> list[dict[str, Any]]:
    """The slowest falsifiers this run executed (a reused result's duration is its original run's)."""
    executed = [r for r in run.get("results", []) if not r.get("reused")]
    return sorted(executed, key=lambda r: -float(r["duration_s"]))[:n]


def render(runs: list[dict[str, Any]], load: tuple[float, float, float]) -> str:
    lines = [f"pv run benchmark: {os.cpu_count()} CPUs, load average at start "
             f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"]
    for run in runs:
        lines.append(f"\n[{run['mode']}] pv {run['command']}")
        if "error" in run:
            lines.append(f"  FAILED: {run['error']}")
            continue
        total = sum(run["counts"].values())
        summed = sum(float(r["duration_s"]) for r in run["results"] if not r.get("reused"))
        lines.append(f"  wall {run['wall_s']:.2f} s, children CPU {run['cpu_s']:.2f} s, exit {run['exit_code']}; "
                     f"{total} falsifiers: " + ", ".join(f"{v} {k}" for k, v in sorted(run["counts"].items()))
                     + f"; {run['reused']} reused")
        lines.append(f"  sum of executed falsifiers' durations {summed:.1f} s; slowest 10:")
        for r in slowest(run):
            lines.append(f"    {r['duration_s']:7.2f} s  {r['outcome']:<9} {r['falsifier']}")
    done = {r["mode"]: r for r in runs if "error" not in r}
    lines.append("")
    if "cold-jobs1" in done:
        base = done["cold-jobs1"]["wall_s"]
        for mode, run in done.items():
            lines.append(f"{mode:<16} wall {run['wall_s']:7.2f} s   baseline/this = {base / max(run['wall_s'], 1e-9):6.2f}x"
                         f"   ({run['reused']} reused)")
    for mode, goal, what in (("cold-jobs2", GOAL_S, "cold default-level run, --jobs 2"),
                             ("warm-jobs2", WARM_GOAL_S, "rerun with nothing changed")):
        if mode in done:
            wall = done[mode]["wall_s"]
            lines.append(f"goal (issue 13): {what} <= {goal:.0f} s: {'MEETS' if wall <= goal else 'MISSES'} "
                         f"({wall:.2f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=Path, default=REPO / "contracts")
    parser.add_argument("--level", default="integration", choices=["algorithm", "integration", "live", "all"])
    parser.add_argument("--isolation-modes", action="store_true",
                        help="also time --isolation process and --in-process (cold, on fresh databases)")
    parser.add_argument("--keep", type=Path, help="keep the evidence databases in this folder")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    if not args.contracts.is_dir():
        parser.error(f"{args.contracts}: no such folder")
    work = args.keep or Path(tempfile.mkdtemp(prefix="pv-bench-run-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    try:
        plan = {**RUNS, **(ISOLATION_RUNS if args.isolation_modes else {})}
        runs = [run_mode(mode, args.contracts.resolve(), work, args.level, database, extra)
                for mode, (database, extra) in plan.items()]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.format == "json":
        print(json.dumps({"version": 1, "level": args.level, "goal_s": GOAL_S, "warm_goal_s": WARM_GOAL_S,
                          "load_average": load, "runs": runs}, indent=2))
    else:
        print(render(runs, load))
    return 1 if any("error" in r or r["exit_code"] not in (0, 1) for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
