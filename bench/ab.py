"""A/B one command between a git revision of this repository and the working tree, interleaved.

The revision is checked out in a temporary `git worktree` and put first on PYTHONPATH
(the editable install's finder comes after it), so ``python -m engines.cli ...`` or
``python -m apr_contracts.cli ...`` runs that revision's code; child processes inherit it.
Rounds alternate before/now so that drift on the machine falls on both sides alike. Prints
best and median wall time, median CPU (user + system, children included) and peak RSS.

    python bench/ab.py --rev 389a5b1 --rounds 5 -- python -m engines.cli tokenize encode-corpus ...

Outputs the command writes are the caller's business: pass a fresh ``--output`` each time or
``--clean DIR`` (removed before every run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(cmd: list[str], pythonpath: str | None, clean: list[Path]) -> tuple[float, float, float]:
    for path in clean:
        shutil.rmtree(path, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... exited {proc.returncode} ({'before' if pythonpath else 'now'}):\n"
                         f"{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="the 'before' revision (any git rev)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clean", type=Path, action="append", default=[], help="remove before every run")
    parser.add_argument("--name", default="", help="label of the printed rows")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given (put it after --)")
    worktree = Path(tempfile.mkdtemp(prefix="apr-ab-")) / "before"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(worktree), args.rev], check=True)
    try:
        runs: dict[str, list[tuple[float, float, float]]] = {"before": [], "now": []}
        for _ in range(args.rounds):
            runs["before"].append(run_once(cmd, str(worktree), args.clean))
            runs["now"].append(run_once(cmd, None, args.clean))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(worktree.parent, ignore_errors=True)
    name = args.name or " ".join(cmd[:4])
    for label, rows in runs.items():
        walls = [w for w, _c, _m in rows]
        print(f"{name:<28} {label:<7} wall best {min(walls):6.2f} s  median {statistics.median(walls):6.2f} s  "
              f"CPU median {statistics.median(c for _w, c, _m in rows):6.2f} s  peak RSS {max(m for *_x, m in rows):5.0f} MB")
    before = statistics.median(w for w, *_ in runs["before"])
    now = statistics.median(w for w, *_ in runs["now"])
    print(f"{name:<28} median wall before/now = {before / now:.2f}x  ({args.rev} vs working tree, {args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
