"""How the runner keeps one falsifier from harming the others: worker processes.

Two modes, both ending every failure (crash, ``os._exit``, hang past the timeout) as an
ERROR result for that falsifier only:

* ``process`` — a fresh ``python -m apr_contracts.worker JOB`` per falsifier: the strongest
  isolation, paying interpreter start-up, plugin loading and heavy imports (torch) every time;
* ``pool`` (default) — ``--jobs`` long-lived workers (``python -m apr_contracts.worker --serve``)
  that run falsifiers one after another. A worker that crashes or hangs is killed and
  replaced, so the next falsifier starts in a fresh process; between falsifiers a worker
  restores its working directory and environment variables.

The child side is ``apr_contracts.worker``; results travel through a JSON file per job,
never through stdout (which belongs to the falsifier and goes to a log).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

POLL_S = 0.01
JOB_MARKER = "=== pv job "


def _spawn(args: list[str], log: IO[bytes], stdin: int | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "apr_contracts.worker", *args],
        stdin=stdin,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a timeout kills its children too
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tail(path: Path, lines: int = 8, after: str | None = None) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    if after and after in text:
        text = text.rsplit(after, 1)[1]
    return " | ".join(text.strip().splitlines()[-lines:]) or "(empty)"


def _timeout_error(timeout: float, log_tail: str) -> dict[str, Any]:
    return {
        "outcome": "ERROR",
        "message": f"timed out after {timeout:g} s (raise it with --timeout/--live-timeout); log tail: {log_tail}",
    }


def _died_error(code: int, log_tail: str) -> dict[str, Any]:
    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return {
        "outcome": "ERROR",
        "message": f"the falsifier's worker {how} before reporting a result; log tail: {log_tail}",
    }


def _read_result(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def run_in_fresh_process(job_file: Path, result_file: Path, log_path: Path, timeout: float) -> dict[str, Any]:
    """``process`` mode: one interpreter for this falsifier alone."""
    with open(log_path, "wb") as log:
        proc = _spawn([str(job_file)], log, subprocess.DEVNULL)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            return _timeout_error(timeout, tail(log_path))
    if result_file.exists():
        return _read_result(result_file)
    return _died_error(code, tail(log_path))


class PooledWorker:
    """One long-lived worker process; replaced transparently after a crash or a timeout."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - kept open for the worker's lifetime
        self.proc: subprocess.Popen[bytes] | None = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = _spawn(["--serve"], self.log, subprocess.PIPE)
        return self.proc

    def run(self, job_id: str, job_file: Path, result_file: Path, timeout: float) -> dict[str, Any]:
        proc = self._ensure()
        marker = f"{JOB_MARKER}{job_id} ==="
        self.log.write(f"\n{marker}\n".encode())
        self.log.flush()
        assert proc.stdin is not None
        try:
            proc.stdin.write(f"{job_file}\n".encode())
            proc.stdin.flush()
        except BrokenPipeError:
            self.proc = None
            proc = self._ensure()
            assert proc.stdin is not None
            proc.stdin.write(f"{job_file}\n".encode())
            proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            if result_file.exists():
                return _read_result(result_file)
            code = proc.poll()
            if code is not None:
                if result_file.exists():  # finished writing just before exiting
                    return _read_result(result_file)
                self.proc = None
                return _died_error(code, tail(self.log_path, after=marker))
            if time.monotonic() > deadline:
                kill_group(proc)
                self.proc = None
                return _timeout_error(timeout, tail(self.log_path, after=marker))
            time.sleep(POLL_S)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        self.log.close()


class WorkerPool:
    """``size`` pooled workers handed out one at a time to the runner's threads."""

    def __init__(self, size: int, log_dir: Path) -> None:
        self.workers = [PooledWorker(log_dir / f"worker-{i}.log") for i in range(max(1, size))]
        self.free: queue.Queue[PooledWorker] = queue.Queue()
        for worker in self.workers:
            self.free.put(worker)

    def run(self, job_id: str, job_file: Path, result_file: Path, timeout: float) -> dict[str, Any]:
        worker = self.free.get()
        try:
            return worker.run(job_id, job_file, result_file, timeout)
        finally:
            self.free.put(worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
