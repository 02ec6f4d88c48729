"""Plan and run the kill matrix: selected falsifiers x the mutants of the engine kinds they use.

Each (falsifier, mutant) pair is a `pv run` job with one engine swapped, as ``--engine KIND=NAME``
swaps it, executed by the runner's own isolation (worker pool, timeouts, crash -> ERROR). A
mutant's pairs run one after another, its declared catchers first, so full mode can stop a
mutant at its first kill; mutants run ``--jobs`` at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

from apr_contracts.fingerprint import still_current
from apr_contracts.isolation import WorkerPool
from apr_contracts.mutation.catalogue import MutantSpec
from apr_contracts.mutation.score import PairOutcome, PairResult, pair_outcome
from apr_contracts.mutation.store import MutantStore
from apr_contracts.outcomes import Outcome
from apr_contracts.plugins import Plugins
from apr_contracts.runner import Job, RunOptions, fingerprint_of, matches, run_one, run_workspace

MODES = ("targeted", "full")
REUSABLE = frozenset({PairOutcome.KILLED, PairOutcome.SURVIVED, PairOutcome.SKIPPED})  # never ERROR
MutantKey = tuple[str, str]  # (kind, name)


@dataclass(frozen=True)
class Pair:
    job: Job  # the falsifier's job, fingerprinted and given a workspace for this mutant
    mutant: MutantSpec
    declared: bool
    options: RunOptions  # the run's options with the mutant as its kind's engine


def select_mutants(plugins: Plugins, kinds: Sequence[str]) -> list[MutantSpec]:
    """The registered mutants of ``kinds`` (all kinds when empty), by kind then name."""
    return [m for m in plugins.mutants.specs() if not kinds or m.kind in kinds]


def plan(jobs: Sequence[Job], mutants: Sequence[MutantSpec], plugins: Plugins, options: RunOptions,
         mode: str, pattern: str | None) -> dict[MutantKey, list[Pair]]:
    """The pairs to run, grouped by mutant. ``targeted``: only pairs a mutant's ``caught_by``
    declares; ``full``: every bound falsifier using the mutant's kind. Equivalent mutants get
    none. ``pattern`` (``-k``) matches the falsifier id, the contract id or the mutant name."""
    groups: dict[MutantKey, list[Pair]] = {}
    for mutant in mutants:
        if mutant.equivalent:
            groups[(mutant.kind, mutant.name)] = []  # reported with its reason, never run
            continue
        declared = set(mutant.caught_by)
        pairs = []
        for job in jobs:
            if job.spec is None or mutant.kind not in job.spec.engines:
                continue
            key = (str(job.contract.id), job.falsifier_id)
            if mode == "targeted" and key not in declared:
                continue
            if not matches(pattern, job.falsifier_id, key[0], mutant.name):
                continue
            mutant_options = replace(options, engines={**options.engines, mutant.kind: mutant.name})
            pair_job = replace(job, fingerprint=fingerprint_of(job.spec, job.entry, job.seed, plugins, mutant_options),
                               workspace_name=f"{job.falsifier_id}--{mutant.kind}-{mutant.name}")
            pairs.append(Pair(pair_job, mutant, key in declared, mutant_options))
        pairs.sort(key=lambda p: (not p.declared, p.job.falsifier_id, str(p.job.contract.id)))
        groups[(mutant.kind, mutant.name)] = pairs
    return groups


def shard(groups: dict[MutantKey, list[Pair]], index: int, total: int) -> dict[MutantKey, list[Pair]]:
    """Part ``index`` (1-based) of ``total``: whole mutants (a mutant's first kill stops it, so its
    pairs stay together), most pairs first onto the least-loaded shard. Depends only on the plan,
    so every process of a CI matrix computes the same partition."""
    loads = [0] * total
    owner: dict[MutantKey, int] = {}
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        target = min(range(total), key=lambda i: (loads[i], i))
        owner[key] = target
        loads[target] += len(groups[key])
    return {key: pairs for key, pairs in groups.items() if owner[key] == index - 1}


def execute(groups: dict[MutantKey, list[Pair]], plugins: Plugins, options: RunOptions, mode: str,
            store: MutantStore, on_pair: Callable[[PairResult], None] = lambda pair: None) -> list[PairResult]:
    """Run every group; reuse stored results whose claim and code are unchanged (unless
    ``options.rerun``). Falsifiers marked exclusive (timings) run last, one at a time."""
    results: list[PairResult] = []
    lock = threading.Lock()
    killed: set[MutantKey] = set()

    def done(pair: Pair, result: PairResult) -> None:
        with lock:
            results.append(result)
            if result.outcome is PairOutcome.KILLED:
                killed.add((pair.mutant.kind, pair.mutant.name))
        on_pair(result)

    def run_group(pairs: Sequence[Pair], root: Any, workers: WorkerPool | None) -> None:
        for pair in pairs:
            if mode == "full" and (pair.mutant.kind, pair.mutant.name) in killed:
                return  # full mode: a mutant is done at its first kill
            done(pair, _run_pair(pair, plugins, store, root, workers))

    if not any(groups.values()):
        return results
    with run_workspace(options) as root:
        workers = WorkerPool(options.jobs, root) if options.isolation == "pool" else None
        try:
            parallel = 1 if options.isolation == "none" else max(1, options.jobs)
            with ThreadPoolExecutor(max_workers=parallel) as threads:
                futures = [threads.submit(run_group, [p for p in pairs if not _exclusive(p)], root, workers)
                           for pairs in groups.values()]
                for future in as_completed(futures):
                    future.result()
            for pairs in groups.values():
                run_group([p for p in pairs if _exclusive(p)], root, workers)
        finally:
            if workers is not None:
                workers.close()
    return results


def _exclusive(pair: Pair) -> bool:
    return bool(pair.job.spec and pair.job.spec.exclusive)


def _run_pair(pair: Pair, plugins: Plugins, store: MutantStore, root: Any, workers: WorkerPool | None) -> PairResult:
    job, mutant = pair.job, pair.mutant
    contract_id = str(job.contract.id)
    base = PairResult(contract_id, job.falsifier_id, mutant.kind, mutant.name, PairOutcome.ERROR, "", pair.declared)
    if not pair.options.rerun and job.fingerprint:
        stored = store.newest(contract_id, job.falsifier_id, job.claim_hash, job.fingerprint)
        if stored is not None and PairOutcome(stored.outcome) in REUSABLE and still_current(stored.inputs):
            return replace(base, outcome=PairOutcome(stored.outcome), message=stored.message, reused=True)
    result = run_one(job, plugins, pair.options, root, workers)
    outcome = pair_outcome(result.outcome)
    message = result.message if result.outcome is not Outcome.ERROR or result.message else "worker error"
    store.record(contract_id, job.falsifier_id, job.claim_hash, mutant.kind, mutant.name, job.fingerprint,
                 outcome.value, message, result.duration_s, result.inputs)
    return replace(base, outcome=outcome, message=message)
