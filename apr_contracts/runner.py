"""Collect the falsifiers of selected contracts and run each one in its own worker process.

A job per falsifier entry: unbound ids become NOT_BOUND without starting anything;
bound ones run in ``python -m apr_contracts.worker`` with a timeout. The runner,
not the plugin, owns the verdict on live thresholds (see ``execute``), and every
failure mode of the worker (crash, exit, hang) ends as an ERROR result.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from apr_contracts.api import FalsifierSpec
from apr_contracts.fingerprint import static_fingerprint, still_current
from apr_contracts.hashing import sha256_file
from apr_contracts.isolation import WorkerPool, run_in_fresh_process
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.plugins import Plugins
from apr_contracts.registry import OutOfScope
from apr_contracts.results import Result
from apr_contracts.scheduling import expected_duration

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_LIVE_TIMEOUT_S = 900.0
TEMP_PREFIX = "pv-run-"  # temporary workspace folders, removed at the end of their run
RUN_CACHE_DIR = ".run-cache"  # fixtures the falsifiers of one run share (worker.RUN_CACHE_ENV names it)
OWNER_FILE = ".pv-run-owner"  # the pid of the `pv run` that owns a temporary workspace folder


@dataclass
class Job:
    contract: Any  # apr_contracts.loader.LoadedContract
    entry: Any  # apr_contracts.loader.FalsifierEntry
    claim_hash: str
    spec: FalsifierSpec | None
    seed: int
    fingerprint: str = ""  # of what will execute it (apr_contracts.fingerprint); "" when unbound
    # When ``spec`` is None: a plugin's out-of-scope declaration, or why nothing binds the entry.
    out_of_scope: OutOfScope | None = None
    unbound_reason: str = ""
    # `pv run --allow-test-commands`: the entry's own `test:` command runs instead (no plugin binds it)
    test_command: str | None = None
    # The folder under the run's root this job works in (default: its falsifier id); `pv mutants`
    # runs one falsifier against several mutants at once, each in its own folder.
    workspace_name: str = ""

    @property
    def falsifier_id(self) -> str:
        return str(self.entry.id)

    @property
    def required_level(self) -> Level:
        return Level(self.entry.level)


@dataclass
class RunOptions:
    level: Level = Level.INTEGRATION  # run entries whose required level is at most this
    pattern: str | None = None
    engines: Mapping[str, str] = field(default_factory=dict)
    jobs: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S
    live_timeout_s: float = DEFAULT_LIVE_TIMEOUT_S
    seed: int = 0
    isolation: str = "pool"  # "pool" | "process" | "none" (in-process: debugging; a crash ends pv)
    # Falsifier workspaces go under this folder, which is kept; None: a temporary folder that
    # is removed when the run ends (a full run writes gigabytes of checkpoints and GGUF files).
    workspace_root: Path | None = None
    rerun: bool = False  # execute everything, even results whose claim and fingerprint are unchanged
    # Recorded seconds per falsifier id: the longest start first, so no long one starts last and
    # holds up the end of a --jobs N run (longest-processing-time-first scheduling).
    durations: Mapping[str, float] = field(default_factory=dict)
    # Run the `test:` command of entries no plugin binds, for contracts inside project_root only
    # (apr_contracts.testevidence.commands says why); never by default.
    allow_test_commands: bool = False
    project_root: Path | None = None


# Outcomes a later run may reuse while nothing changed. ERROR never: the check broke, maybe by chance.
REUSABLE = frozenset({Outcome.HELD, Outcome.FALSIFIED, Outcome.SKIPPED})


def derive_seed(base: int, falsifier_id: str) -> int:
    """A fixed, recorded seed per falsifier: independent of run order and of --jobs."""
    digest = hashlib.sha256(f"{base}:{falsifier_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def matches(pattern: str | None, *names: str) -> bool:
    """``-k``: case-insensitive substring, or a glob when it has wildcards; ``a or b`` / ``not a`` allowed."""
    if not pattern:
        return True
    pattern = pattern.strip()
    if " or " in pattern:
        return any(matches(part, *names) for part in pattern.split(" or "))
    if pattern.startswith("not "):
        return not matches(pattern[4:], *names)
    lowered = [n.lower() for n in names]
    needle = pattern.lower()
    if any(ch in needle for ch in "*?["):
        return any(fnmatch.fnmatchcase(n, needle) for n in lowered)
    return any(needle in n for n in lowered)


def collect(
    contracts: Iterable[Any],
    plugins: Plugins,
    options: RunOptions,
    claim_hash: Callable[[Any, Any], str],
) -> list[Job]:
    """One job per falsifier entry selected by level and ``-k``."""
    jobs: list[Job] = []
    for contract in contracts:
        for entry in contract.falsifiers:
            if Level(entry.level).rank > options.level.rank:
                continue
            if not matches(options.pattern, str(entry.id), str(contract.id)):
                continue
            binding = plugins.falsifiers.lookup(str(contract.id), str(entry.id))
            spec, reason = binding.spec, binding.reason
            hashed = claim_hash(contract, entry)
            if spec is not None and spec.pin and not hashed.startswith(spec.pin):
                reason = pin_changed_reason(spec, str(contract.id), hashed)
                spec = None
            seed = derive_seed(options.seed, str(entry.id))
            command, reason = _test_command(contract, entry, spec, binding.out_of_scope, reason, options)
            jobs.append(
                Job(
                    contract=contract,
                    entry=entry,
                    claim_hash=hashed,
                    spec=spec,
                    seed=seed,
                    fingerprint=fingerprint_of(spec, entry, seed, plugins, options) if spec else "",
                    out_of_scope=binding.out_of_scope,
                    unbound_reason=reason,
                    test_command=command,
                )
            )
    return jobs


def _test_command(contract: Any, entry: Any, spec: FalsifierSpec | None, out_of_scope: OutOfScope | None,
                  reason: str, options: RunOptions) -> tuple[str | None, str]:
    """The `test:` command to run for an unbound entry, and the NOT_BOUND reason otherwise."""
    if spec is not None or out_of_scope is not None or not options.allow_test_commands:
        return None, reason
    from apr_contracts.testevidence.commands import inside, is_command

    test = getattr(entry, "test", None)
    if not is_command(test):
        return None, reason
    if options.project_root is None or not inside(Path(contract.path), options.project_root):
        return None, (f"{reason}; its test: command is not run: {contract.path} is outside the project root "
                      f"{options.project_root} (only your own contracts' commands run)")
    return str(test).strip(), reason


PIN_CHANGED = "claim changed since the implementation was written"


def pin_changed_reason(spec: FalsifierSpec, contract_id: str, claim_hash: str) -> str:
    """The NOT_BOUND message for an implementation whose pinned claim is no longer the contract's."""
    return (f"{PIN_CHANGED} — review it: {spec.qualname} pins claim {spec.pin}, "
            f"{contract_id} now hashes {spec.id} to {claim_hash[:16]}; after reviewing the code against "
            f"the new claim, run `pv pin --update {contract_id}::{spec.id}` (it sets pin={claim_hash[:16]!r} "
            f"in its @falsifier(...))")


def fingerprint_of(spec: FalsifierSpec, entry: Any, seed: int, plugins: Plugins, options: RunOptions) -> str:
    """The static fingerprint of what will execute ``spec`` in this run ("" if an engine is missing:
    such a job ends in ERROR, which is never reused)."""
    engines: dict[str, tuple[str, str]] = {}
    for kind in spec.engines:
        try:
            chosen = plugins.engines.choose(kind, options.engines.get(kind))
        except LookupError:
            return ""
        engines[kind] = (chosen.name, chosen.factory.__module__)
    digest, _ = static_fingerprint(
        falsifier_module=spec.fn.__module__,
        engines=engines,
        requirements=[r.module for r in spec.requires],
        params=dict(getattr(entry, "raw", {}).get("params") or {}),
        seed=seed,
    )
    return digest


def reusable(job: Job, candidates: Sequence[tuple[int, Result]]) -> tuple[int, Result] | None:
    """The stored ``(run id, result)`` that may stand for executing ``job``, if any.

    Candidates come newest first. The newest one executed on exactly this code — the same
    fingerprint, every file and distribution its subprocesses loaded unchanged — decides: it is
    reused when HELD, FALSIFIED or SKIPPED; when it is an ERROR the job runs again (an older
    success on the same code must not hide a newer failure).
    """
    if not job.fingerprint:
        return None
    for run_id, old in candidates:
        if old.fingerprint == job.fingerprint and still_current(old.inputs):
            return (run_id, old) if old.outcome in REUSABLE else None
    return None


def run_jobs(
    jobs: Sequence[Job],
    plugins: Plugins,
    options: RunOptions,
    on_result: Callable[[Result], None] = lambda result: None,
    previous: Callable[[Job], Sequence[tuple[int, Result]]] = lambda job: (),
) -> list[Result]:
    """Run every job (``options.jobs`` at a time) and call ``on_result`` as each finishes.

    ``previous(job)`` gives stored ``(run id, result)`` candidates for the job's claim hash and
    fingerprint, newest first; the first :func:`reusable` one (unless ``options.rerun``) is
    recorded again as reused instead of executing the job.
    """
    results: list[Result] = []
    to_run: list[Job] = []
    for job in jobs:
        candidates = () if options.rerun or job.spec is None or not job.fingerprint else previous(job)
        found = reusable(job, candidates)
        if found is not None:
            run_id, old = found
            result = replace(old, reused_from=old.reused_from or run_id, contract_file=str(job.contract.path))
            results.append(result)
            on_result(result)
        else:
            to_run.append(job)
    if not to_run:
        return results  # nothing executes: no workspace, no worker processes
    with run_workspace(options) as root:
        return results + _run_all(to_run, plugins, options, on_result, root)


@contextmanager
def run_workspace(options: RunOptions) -> Iterator[Path]:
    """The root folder a run's falsifiers work under: ``options.workspace_root`` (kept), else a
    temporary folder removed when the run ends (a full run writes gigabytes of checkpoints)."""
    if options.workspace_root is None:
        remove_abandoned_workspaces(Path(tempfile.gettempdir()))
        root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        (root / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
    else:
        root = options.workspace_root
        root.mkdir(parents=True, exist_ok=True)
    # Fixtures built from the same inputs (a tokenizer trained on the standard library, the Qwen2
    # vocabulary rebuilt from its ranks: ~1-3.5 s each) are built once per run, not once per
    # worker process; restarted empty every run, so no fixture outlives the code that built it.
    cache = root / RUN_CACHE_DIR
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    try:
        yield root
    finally:
        if options.workspace_root is None:
            shutil.rmtree(root, ignore_errors=True)


# What the runner itself writes into a falsifier's workspace; only these are cleared on a rerun.
WORKSPACE_ENTRIES = ("job.json", "result.json", "module-trace", "work")


def workspace_for(root: Path, contract_id: str, falsifier_id: str) -> Path:
    """``root/<contract id>/<falsifier id>``: ids are scoped per contract, so two contracts' entries of one
    id never share a folder. Ids come from contract files: each becomes one safe path component (no
    separators, never ``.`` or ``..``), so no id can point a workspace, or its clearing, outside ``root``."""
    return root / _component(contract_id) / _component(falsifier_id)


def _component(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "_"
    return "_" + safe if set(safe) == {"."} else safe


def clear_workspace(workspace: Path) -> None:
    """Empty what an earlier run of this falsifier left (`pv run --workspace`), and only that: a file the
    user put beside it is theirs, and stays."""
    for name in WORKSPACE_ENTRIES:
        entry = workspace / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()
    workspace.mkdir(parents=True, exist_ok=True)


def remove_abandoned_workspaces(temp_dir: Path) -> list[Path]:
    """Remove the temporary workspaces of `pv run`s that were killed (their owner process is gone).

    A run removes its own folder when it ends, but SIGKILL or a power cut leaves it behind, and a
    full run's folder holds gigabytes. A folder whose owner is alive, or whose owner file cannot be
    read, is left alone.
    """
    removed = []
    for folder in temp_dir.glob(f"{TEMP_PREFIX}*"):
        try:
            owner = int((folder / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _run_all(
    jobs: Sequence[Job],
    plugins: Plugins,
    options: RunOptions,
    on_result: Callable[[Result], None],
    root: Path,
) -> list[Result]:
    results: list[Result] = []
    pending = sorted((job for job in jobs if job.spec is not None),
                     key=lambda job: -expected_duration(job, options.durations))
    for job in jobs:
        if job.spec is None and job.test_command is not None:
            result = _run_test_command(job, options)
            results.append(result)
            on_result(result)
        elif job.spec is None:
            declared = job.out_of_scope
            if declared is not None:
                result = _result(job, Outcome.OUT_OF_SCOPE, f"out of scope: {declared.reason}", level=None)
                result.plugin = declared.plugin
            else:
                result = _result(job, Outcome.NOT_BOUND, job.unbound_reason, level=None)
            results.append(result)
            on_result(result)
    workers = WorkerPool(options.jobs, root) if options.isolation == "pool" and pending else None
    try:
        # In-process falsifiers share one process: fds, cwd, environment. Libraries that swap
        # fd 1/2 around a call (llama.cpp's quiet mode) race across threads and can leave stdout
        # pointing at /dev/null, so without worker isolation falsifiers run one at a time.
        parallel = 1 if options.isolation == "none" else max(1, options.jobs)
        with ThreadPoolExecutor(max_workers=parallel) as threads:
            futures = [threads.submit(run_one, job, plugins, options, root, workers)
                       for job in pending if not job.spec or not job.spec.exclusive]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                on_result(result)
        # Measurements that need the machine to themselves (speedups, throughput) run last, one
        # at a time: beside another falsifier they would measure the contention, not the claim.
        for job in (job for job in pending if job.spec and job.spec.exclusive):
            result = run_one(job, plugins, options, root, workers)
            results.append(result)
            on_result(result)
    finally:
        if workers is not None:
            workers.close()
    return results


def run_one(job: Job, plugins: Plugins, options: RunOptions, root: Path, workers: WorkerPool | None) -> Result:
    """Execute one bound job under ``root`` (in ``workers``, a fresh process or in-process, as
    ``options.isolation`` says) and turn whatever happens into a Result."""
    assert job.spec is not None
    if job.required_level is Level.LIVE and not job.entry.thresholds:
        # A live verdict is the runner's comparison of measurements with declared thresholds;
        # without thresholds there is nothing to compare, and the plugin alone may not decide.
        return _result(
            job,
            Outcome.ERROR,
            "a live falsifier must declare `thresholds: [{metric, op, value}]` in its contract; "
            "the runner judges live verdicts, never the plugin alone",
            level=job.spec.level,
        )
    # `pv mutants` names its own folder per (falsifier, mutant); scoped ids: per contract, made safe
    workspace = workspace_for(root, str(job.contract.id), job.workspace_name or job.falsifier_id)
    clear_workspace(workspace)
    payload = {
        "falsifier_id": job.falsifier_id,
        "contract_id": str(job.contract.id),
        "engines": {kind: options.engines.get(kind) for kind in job.spec.engines},
        "workspace": str(workspace / "work"),
        "seed": job.seed,
        "level": job.spec.level.value,
        "thresholds": list(job.entry.thresholds or []),
        "params": dict(getattr(job.entry, "raw", {}).get("params") or {}),
        "plugin_settings": plugins.settings.to_dict(),
        "contract_file": str(Path(job.contract.path).resolve()),
        "result_file": str(workspace / "result.json"),
        "trace_dir": str(workspace / "module-trace"),
        "run_cache": str(root / RUN_CACHE_DIR),
    }
    timeout = options.live_timeout_s if job.required_level is Level.LIVE else options.timeout_s
    started = time.monotonic()
    job_file, result_file = workspace / "job.json", workspace / "result.json"
    job_file.write_text(json.dumps(payload), encoding="utf-8")
    if workers is not None:
        outcome_data = workers.run(job.falsifier_id, job_file, result_file, timeout)
    elif options.isolation == "process":
        outcome_data = run_in_fresh_process(job_file, result_file, workspace / "worker.log", timeout)
    else:
        from apr_contracts.worker import run_job

        outcome_data = run_job(payload)
    duration = time.monotonic() - started
    return _result(
        job,
        Outcome(outcome_data["outcome"]),
        outcome_data.get("message", ""),
        level=job.spec.level,
        measured=outcome_data.get("measured") or {},
        counterexample=outcome_data.get("counterexample"),
        traceback=outcome_data.get("traceback", ""),
        duration=duration,
        engines=outcome_data.get("engines") or {},
        fingerprint=job.fingerprint,
        inputs=outcome_data.get("inputs") or {},
    )


def _run_test_command(job: Job, options: RunOptions) -> Result:
    """Run the entry's own `test:` command in the project root; the result is tree-bound, never reused."""
    from apr_contracts.testevidence import tree
    from apr_contracts.testevidence.commands import run_test_command
    from apr_contracts.testevidence.importer import test_level

    assert job.test_command is not None and options.project_root is not None
    root = options.project_root
    state = tree.state(root)  # the tree the tests run on, taken before they run
    timeout = options.live_timeout_s if job.required_level is Level.LIVE else options.timeout_s
    done = run_test_command(job.test_command, getattr(job.entry, "raw", {}), root, timeout)
    result = _result(job, done.outcome, done.message, level=test_level(job.entry),
                     counterexample=done.counterexample, duration=done.duration_s)
    result.plugin = "pv-test-command"
    result.source = "command"
    result.provenance = {"command": job.test_command, "tests_ran": done.tests_ran, "cwd": str(root)}
    result.tree_state, result.tree_root = state, str(root)
    return result


def _result(
    job: Job,
    outcome: Outcome,
    message: str,
    *,
    level: Level | None,
    measured: dict[str, Any] | None = None,
    counterexample: Any = None,
    traceback: str = "",
    duration: float = 0.0,
    engines: dict[str, str] | None = None,
    fingerprint: str = "",
    inputs: dict[str, Any] | None = None,
) -> Result:
    return Result(
        contract_id=str(job.contract.id),
        contract_file=str(job.contract.path),
        contract_version=job.contract.version,
        falsifier_id=job.falsifier_id,
        claim_hash=job.claim_hash,
        required_level=job.required_level,
        level=level,
        outcome=outcome,
        message=message,
        measured=dict(measured or {}),
        thresholds=[dict(t) for t in (job.entry.thresholds or [])],
        counterexample=counterexample,
        traceback=traceback,
        duration_s=round(duration, 4),
        seed=job.seed,
        engines=dict(engines or {}),
        plugin=job.spec.plugin if job.spec else "",
        contract_sha256=_file_sha256(job.contract.path),
        fingerprint=fingerprint,
        inputs=dict(inputs or {}),
    )


def _file_sha256(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""
