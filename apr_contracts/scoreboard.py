"""The scoreboard: contracts x evidence -> derived status, drift, per-falsifier detail.

Building it never runs anything: it reads the evidence store, recomputes each
falsifier's claim hash from the contract text as it is *now*, and keeps only
evidence for that hash (older evidence is "stale"). Reporters in
:mod:`apr_contracts.report` render the resulting :class:`Scoreboard`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from apr_contracts.claims import claim_hash
from apr_contracts.evidence import EvidenceStore, RunRecord, StoredResult
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.status import (
    FalsifierEvidence,
    Observation,
    Status,
    derive_status,
    discharge_blocker,
    effective_observation,
    why,
)
from apr_contracts.testevidence import tree

Key = tuple[str, str]  # (contract id, falsifier id): how a falsifier is identified

SCOREBOARD_JSON_VERSION = 1
HISTORY_RUNS = 50  # status history over at most this many recent runs
FAIL_ON_CHOICES = ("falsified", "drift", "error", "stale")

# Free-form `verification_summary.status` words seen in real contracts, mapped onto the ladder.
_SUMMARY_STATUS = {
    "proposed": Status.PROPOSED, "pending": Status.PROPOSED, "partial": Status.PARTIAL_ALGORITHM_LEVEL,
    "functional": Status.FUNCTIONAL, "discharged": Status.DISCHARGED, "falsified": Status.FALSIFIED,
}


class ContractLike(Protocol):
    """What the scoreboard needs from apr_contracts.loader.LoadedContract."""

    # Read-only properties, so a dataclass with narrower attribute types still conforms.
    @property
    def path(self) -> Any: ...
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def declared_status(self) -> str | None: ...
    @property
    def falsifiers(self) -> Sequence[Any]: ...
    @property
    def equations(self) -> Mapping[str, Any]: ...
    @property
    def raw(self) -> Mapping[str, Any]: ...


@dataclass
class HistoryPoint:
    run_id: int
    recorded_at: str
    outcome: Outcome
    current: bool  # recorded for the current claim hash (False: stale evidence)
    engines: dict[str, str] = field(default_factory=dict)  # kind -> engine name used in that run


@dataclass
class FalsifierRow:
    id: str
    required_level: Level
    claim_hash: str
    bound: bool | None  # an implementation is registered (None: registry unknown)
    outcome: Outcome | None  # effective outcome for the current claim hash; None = no evidence
    latest_outcome: Outcome | None
    level: Level | None  # level the implementation exercised in the effective result
    held_at_level: bool
    stale: bool
    flaky: bool
    thresholds: list[dict[str, Any]]
    measured: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    counterexample: Any = None
    traceback: str = ""
    duration_s: float = 0.0
    run_id: int | None = None
    recorded_at: str | None = None
    engines: dict[str, str] = field(default_factory=dict)
    test: str | None = None
    line: int = 0  # where the entry is in the contract file (for annotations)
    history: list[HistoryPoint] = field(default_factory=list)
    reused_from: int | None = None  # the result was not executed in run_id but reused from this run
    discharge: str | None = None  # why this live evidence cannot discharge the contract (status.discharge_blocker)

    @property
    def evidence(self) -> str:
        """Where the shown result comes from: "fresh" (executed in its run) or "reused #N"."""
        if self.run_id is None:
            return "—"
        return f"reused #{self.reused_from}" if self.reused_from is not None else "fresh"

    @property
    def label(self) -> str:
        """Outcome shown to people: the outcome, or PENDING/STALE when there is no current evidence."""
        if self.outcome is not None:
            return self.outcome.value
        if self.stale:
            return "STALE"
        return "NOT_BOUND" if self.bound is False else "PENDING"


@dataclass
class ContractRow:
    id: str
    file: str
    version: str | None
    declared_status: str | None
    derived_status: Status
    reason: str
    falsifiers: list[FalsifierRow]
    drift: list[str]
    last_run: int | None = None
    last_run_at: str | None = None
    status_history: list[tuple[int, Status]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        labels = [f.label for f in self.falsifiers]
        return {
            "held": labels.count("HELD"), "falsified": labels.count("FALSIFIED"), "error": labels.count("ERROR"),
            "unbound": labels.count("NOT_BOUND"), "skipped": labels.count("SKIPPED"),
            "out_of_scope": labels.count("OUT_OF_SCOPE"),
            "pending": labels.count("PENDING"), "stale": labels.count("STALE"),
        }

    @property
    def levels_reached(self) -> list[str]:
        held = {f.required_level for f in self.falsifiers if f.held_at_level}
        return [level.value for level in Level if level in held]

    @property
    def drifted(self) -> bool:
        return bool(self.drift)


@dataclass
class Scoreboard:
    contracts: list[ContractRow]
    runs: list[RunRecord] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # implementations whose id is in no contract
    evidence_path: str | None = None
    notes: list[str] = field(default_factory=list)  # loader issues, plugin failures: shown, never fatal
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    ship: Any = None  # acceptance.board.ShipBoard when acceptance files are among the paths

    def to_dict(self) -> dict[str, Any]:
        """DESIGN.md's versioned JSON shape (extra keys allowed)."""
        return {
            **({"ship": self.ship.to_dict()} if self.ship is not None else {}),
            "version": SCOREBOARD_JSON_VERSION,
            "generated_at": self.generated_at,
            "evidence": self.evidence_path,
            "contracts": [contract_dict(c) for c in self.contracts],
            "orphan_implementations": list(self.orphans),
            "runs": [_run_dict(r) for r in self.runs],
            "notes": list(self.notes),
        }

    def fail_reasons(self, conditions: Iterable[str]) -> list[str]:
        """Why ``--fail-on`` conditions hold (empty: exit 0)."""
        reasons: list[str] = []
        wanted = set(conditions)
        for c in self.contracts:
            for f in c.falsifiers:
                if "falsified" in wanted and f.outcome is Outcome.FALSIFIED:
                    reasons.append(f"{c.id}: {f.id} is FALSIFIED")
                if "error" in wanted and f.outcome is Outcome.ERROR:
                    reasons.append(f"{c.id}: {f.id} is ERROR")
                if "stale" in wanted and f.stale:
                    since = f.message.removeprefix("stale: ") if f.message.startswith("stale: ") \
                        else "its claim changed since"
                    reasons.append(f"{c.id}: {f.id} has only stale evidence ({since})")
            if "drift" in wanted:
                reasons.extend(f"{c.id}: {d}" for d in c.drift)
        if "drift" in wanted:
            reasons.extend(f"implementation {orphan} binds no loaded contract entry" for orphan in self.orphans)
        return reasons


def contract_dict(c: ContractRow) -> dict[str, Any]:
    return {
        "id": c.id, "file": c.file, "version": c.version, "declared_status": c.declared_status,
        "derived_status": c.derived_status.value, "reason": c.reason, "counts": c.counts,
        "levels_reached": c.levels_reached, "last_run": c.last_run, "last_run_at": c.last_run_at,
        "drift": list(c.drift),
        "status_history": [{"run": run, "status": status.value} for run, status in c.status_history],
        "falsifiers": [_falsifier_dict(f) for f in c.falsifiers],
    }


def _falsifier_dict(f: FalsifierRow) -> dict[str, Any]:
    return {
        "id": f.id, "level": f.required_level.value, "outcome": f.outcome.value if f.outcome else None,
        "measured": f.measured, "thresholds": f.thresholds, "stale": f.stale, "flaky": f.flaky,
        "label": f.label, "latest_outcome": f.latest_outcome.value if f.latest_outcome else None,
        "implementation_level": f.level.value if f.level else None, "held_at_level": f.held_at_level,
        "bound": f.bound, "claim_hash": f.claim_hash, "message": f.message,
        "counterexample": f.counterexample, "duration_s": f.duration_s, "run": f.run_id,
        "recorded_at": f.recorded_at, "engines": f.engines, "test": f.test,
        "evidence": "reused" if f.reused_from is not None else ("fresh" if f.run_id is not None else None),
        "reused_from": f.reused_from, "cannot_discharge": f.discharge,
        "history": [{"run": h.run_id, "at": h.recorded_at, "outcome": h.outcome.value, "current": h.current,
                     "engines": h.engines} for h in f.history],
    }


def _run_dict(r: RunRecord) -> dict[str, Any]:
    return {"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at, "command": r.command,
            "git_sha": r.git_sha, "counts": r.counts, "exit_code": r.exit_code}


def display_path(path: Any) -> str:
    """Relative to the working directory when below it (stable across CI checkouts), else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _observation(stored: StoredResult) -> Observation:
    return Observation(stored.result.outcome, stored.result.level, dict(stored.result.measured))


def _is_flaky(current: Sequence[StoredResult]) -> bool:
    """HELD and FALSIFIED both seen at one code version with the same engines (a mutant run is not a flake).

    Only runs from a known, clean commit pin the code: without a git sha, or on a
    dirty tree ("<sha>-dirty"), the code may have changed between runs, so a
    changed outcome there says nothing about flakiness.
    """
    seen: dict[tuple[str, str], set[Outcome]] = defaultdict(set)
    for s in current:
        sha = s.code_version.split("|", 1)[0]
        if not sha or sha.endswith("-dirty"):
            continue
        if s.outcome in (Outcome.HELD, Outcome.FALSIFIED):
            key = (s.code_version, json.dumps(s.result.engines, sort_keys=True))
            seen[key].add(s.outcome)
    return any(len(outcomes) == 2 for outcomes in seen.values())


def evidence_for(
    entry: Any, current_hash: str, results: Sequence[StoredResult], up_to_run: int | None = None
) -> tuple[FalsifierEvidence, list[StoredResult]]:
    """Reduce one falsifier's stored results (all claim hashes) to status input; also return current ones."""
    if up_to_run is not None:
        results = [s for s in results if s.run_id <= up_to_run]
    # Test evidence (imported reports, `test:` commands) also goes stale when the project's tree
    # changed since the tests ran: pv cannot know which files they read (testevidence.tree).
    current = [s for s in results if s.result.claim_hash == current_hash
               and tree.is_current(s.result.tree_state, s.result.tree_root)]
    stale = not current and bool(results)
    same_claim = [s for s in results if s.result.claim_hash == current_hash]
    stale_why = tree.why_stale(same_claim[-1].result.tree_state) if stale and same_claim else ""
    level = entry.level if isinstance(entry.level, Level) else Level.parse(entry.level)
    observed = effective_observation([_observation(s) for s in current])
    return (
        FalsifierEvidence(entry.id, level, observed, stale, tuple(entry.thresholds or ()), stale_why),
        current,
    )


def contract_row(
    contract: ContractLike,
    results: Sequence[StoredResult],
    registered: Mapping[Key, Any] | None,
    run_ids: Sequence[int] = (),
    test_files: dict[str, object] | None = None,
) -> ContractRow:
    """One contract's row from its stored results (any claim hash, oldest first)."""
    by_falsifier: dict[str, list[StoredResult]] = defaultdict(list)
    for s in results:
        by_falsifier[s.result.falsifier_id].append(s)
    rows: list[FalsifierRow] = []
    inputs: list[FalsifierEvidence] = []
    hashes = {entry.id: claim_hash(contract, entry) for entry in contract.falsifiers}
    for entry in contract.falsifiers:
        own = by_falsifier.get(entry.id, [])
        evidence, current = evidence_for(entry, hashes[entry.id], own)
        inputs.append(evidence)
        rows.append(_falsifier_row(contract.id, entry, hashes[entry.id], evidence, current, own, registered))
    derived = derive_status(inputs)
    history = []
    for run_id in run_ids:
        at_run = [evidence_for(e, hashes[e.id], by_falsifier.get(e.id, []), run_id)[0] for e in contract.falsifiers]
        history.append((run_id, derive_status(at_run)))
    latest = results[-1] if results else None  # oldest first: the last one is the newest, any claim hash
    return ContractRow(
        id=contract.id, file=display_path(contract.path), version=None if contract.version is None else str(contract.version),
        declared_status=contract.declared_status, derived_status=derived, reason=why(inputs), falsifiers=rows,
        drift=drift_of(contract, derived, rows, registered, test_files), last_run=latest.run_id if latest else None,
        last_run_at=latest.recorded_at if latest else None, status_history=history,
    )


def _falsifier_row(
    contract_id: str, entry: Any, current_hash: str, evidence: FalsifierEvidence, current: Sequence[StoredResult],
    everything: Sequence[StoredResult], registered: Mapping[Key, Any] | None,
) -> FalsifierRow:
    latest = current[-1] if current else None
    # The stored result behind the effective observation (it may be an earlier FALSIFIED).
    chosen = latest
    if latest is not None and evidence.outcome is not None and evidence.outcome is not latest.outcome:
        chosen = next(s for s in reversed(current) if s.outcome is evidence.outcome)
    result = chosen.result if chosen else None
    message = result.message if result else (f"stale: {evidence.stale_why}" if evidence.stale_why else "")
    if chosen is not None and latest is not None and chosen is not latest:
        message = f"{message} [latest run {latest.run_id}: {latest.outcome.value}: {latest.result.message}]"
    return FalsifierRow(
        id=entry.id, required_level=evidence.required_level, claim_hash=current_hash,
        bound=None if registered is None else (contract_id, entry.id) in registered, outcome=evidence.outcome,
        latest_outcome=latest.outcome if latest else None, level=result.level if result else None,
        held_at_level=evidence.held_at_level, stale=evidence.stale, flaky=_is_flaky(current),
        thresholds=[dict(t) for t in entry.thresholds or []], measured=dict(result.measured) if result else {},
        message=message, counterexample=result.counterexample if result else None,
        traceback=result.traceback if result else "", duration_s=result.duration_s if result else 0.0,
        run_id=chosen.run_id if chosen else None, recorded_at=chosen.recorded_at if chosen else None,
        engines=dict(result.engines) if result else {}, test=getattr(entry, "test", None),
        line=int(getattr(entry, "line", 0) or 0), reused_from=result.reused_from if result else None,
        discharge=discharge_blocker(evidence),
        history=[HistoryPoint(s.run_id, s.recorded_at, s.outcome, s.result.claim_hash == current_hash,
                              dict(s.result.engines)) for s in everything],
    )


def drift_of(
    contract: ContractLike, derived: Status, rows: Sequence[FalsifierRow], registered: Mapping[Key, Any] | None,
    test_files: dict[str, object] | None = None,
) -> list[str]:
    """What the contract text claims about itself that the evidence does not support."""
    drift: list[str] = []
    declared = contract.declared_status
    if declared is not None and Status.parse(declared) is not derived:
        known = "" if Status.parse(declared) else f" ({declared!r} is not a status pv derives)"
        drift.append(f"declares status {declared}, evidence says {derived.value}{known}")
    summary = contract.raw.get("verification_summary") if isinstance(contract.raw, Mapping) else None
    if isinstance(summary, Mapping):
        held = sum(1 for f in rows if f.outcome is Outcome.HELD)
        tested = summary.get("tested")
        if isinstance(tested, int) and not isinstance(tested, bool) and tested != held:
            drift.append(f"verification_summary.tested is {tested}, but {held} falsifier(s) HELD in the evidence")
        word = str(summary.get("status", "")).strip().lower()
        mapped = next((s for key, s in _SUMMARY_STATUS.items() if word.startswith(key)), None)
        if mapped is not None and mapped is not derived:
            drift.append(f"verification_summary.status is {word!r}, evidence says {derived.value}")
    if registered is not None:
        # An id a plugin declared out of scope has an owner and a reason: not drift.
        unbound = [f.id for f in rows if (contract.id, f.id) not in registered and f.label != "OUT_OF_SCOPE"]
        if unbound:
            drift.append(f"no implementation registered for {', '.join(unbound)}")
    drift.extend(missing_test_nodes(contract, test_files if test_files is not None else {}))
    return drift


def missing_test_nodes(contract: ContractLike, cache: dict[str, object]) -> list[str]:
    """`test:` fields naming a pytest node that does not exist (contracts inside a project, as `pv validate`).

    Parsed with ast by the validate rules' helper: pytest is not imported, nothing is collected by running code.
    """
    from apr_contracts.config import project_root
    from apr_contracts.rules.testfield import classify, node_problem

    root = project_root(Path(contract.path))
    if root is None:
        return []
    problems = []
    for entry in contract.falsifiers:
        field_ = classify(getattr(entry, "test", None))
        if field_.pytest_file is None:
            continue
        problem = node_problem(Path(root), field_.pytest_file, field_.pytest_names, cache)
        if problem:
            problems.append(f"{entry.id}: its test: node does not exist: {problem}")
    return problems


def orphan_implementations(contracts: Sequence[ContractLike], registered: Mapping[Key, Any],
                           builtin_plugins: frozenset[str]) -> list[str]:
    """Implementations no loaded contract entry uses: an id its contract does not declare, or (for
    the project's own plugins) a contract that is not among the loaded ones."""
    declared: dict[str, set[str]] = defaultdict(set)
    for c in contracts:
        declared[c.id].update(f.id for f in c.falsifiers)
    orphans = []
    for (contract_id, falsifier_id), spec in registered.items():
        if contract_id in declared:
            if falsifier_id not in declared[contract_id]:
                orphans.append(f"{falsifier_id} (for {contract_id}, which declares no such falsifier)")
        elif getattr(spec, "plugin", "") not in builtin_plugins:
            orphans.append(f"{falsifier_id} (for {contract_id}, which is not among the loaded contracts)")
    return sorted(orphans)


def build_scoreboard(
    contracts: Sequence[ContractLike],
    store: EvidenceStore | None,
    registered: Mapping[Key, Any] | None = None,
    *,
    history_runs: int = HISTORY_RUNS,
    notes: Sequence[str] = (),
    builtin_plugins: Iterable[str] = (),
) -> Scoreboard:
    """Rows for ``contracts`` from ``store`` (None: no evidence yet).

    ``registered``: (contract id, falsifier id) -> the spec bound (or out-of-scope declaration).
    Implementations of ``builtin_plugins`` for contracts that are not loaded are not reported as
    bound to no contract: a project that does not use our reference families never sees them.
    """
    results: list[StoredResult] = []
    runs: list[RunRecord] = []
    tree.reset_cache()  # tree states are computed once per scoreboard, after any edit before it
    if store is not None:
        results = store.results_for(contract_ids=sorted({c.id for c in contracts}))
        runs = store.runs(limit=history_runs)
    by_contract: dict[str, list[StoredResult]] = defaultdict(list)
    for s in results:
        by_contract[s.result.contract_id].append(s)
    run_ids = [r.id for r in runs]
    test_files: dict[str, object] = {}  # parsed test modules, shared by every contract's node check
    rows = [contract_row(c, by_contract.get(c.id, []), registered, run_ids, test_files) for c in contracts]
    rows.sort(key=lambda r: (r.id, r.file))
    orphans: list[str] = []
    if registered is not None:
        orphans = orphan_implementations(contracts, registered, frozenset(builtin_plugins))
    return Scoreboard(
        contracts=rows, runs=runs, orphans=orphans,
        evidence_path=str(store.path) if store is not None else None, notes=list(notes),
    )
