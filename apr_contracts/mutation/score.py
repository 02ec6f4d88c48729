"""Kill-matrix arithmetic: the outcome of each mutant and the mutation score.

A mutant is *killed* when some falsifier FALSIFIED against it, *survived* when at least one ran to
HELD and none killed it. ERROR and SKIPPED never count as kills; they also never remove a
survivor from the score (a mutant that survived one falsifier and broke another still
survived), so an ERROR can never raise a score. A run with any ERROR says its score is incomplete.

    score = killed / (killed + survived)       (None when nothing was killed or survived)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apr_contracts.outcomes import Outcome


class PairOutcome(StrEnum):
    KILLED = "killed"
    SURVIVED = "survived"
    ERROR = "error"
    SKIPPED = "skipped"


class MutantOutcome(StrEnum):
    KILLED = "killed"
    SURVIVED = "survived"
    ERROR = "error"  # only errors (and skips): not measured
    SKIPPED = "skipped"  # every falsifier skipped (a missing GPU or tool): not measured
    UNTESTED = "untested"  # no falsifier ran against it (targeted mode: none declared)
    EQUIVALENT = "equivalent"  # declared equivalent by its plugin, with the reason


_FROM_OUTCOME = {Outcome.FALSIFIED: PairOutcome.KILLED, Outcome.HELD: PairOutcome.SURVIVED,
                 Outcome.SKIPPED: PairOutcome.SKIPPED}


def pair_outcome(outcome: Outcome) -> PairOutcome:
    """What one falsifier's outcome against a mutant means; anything but FALSIFIED/HELD/SKIPPED is an ERROR."""
    return _FROM_OUTCOME.get(outcome, PairOutcome.ERROR)


@dataclass(frozen=True)
class PairResult:
    contract_id: str
    falsifier_id: str
    kind: str
    mutant: str
    outcome: PairOutcome
    message: str = ""
    declared: bool = False  # the mutant's caught_by names this falsifier
    reused: bool = False


def mutant_outcome(outcomes: Iterable[PairOutcome]) -> MutantOutcome:
    seen = set(outcomes)
    for pair, mutant in ((PairOutcome.KILLED, MutantOutcome.KILLED), (PairOutcome.SURVIVED, MutantOutcome.SURVIVED),
                         (PairOutcome.ERROR, MutantOutcome.ERROR), (PairOutcome.SKIPPED, MutantOutcome.SKIPPED)):
        if pair in seen:
            return mutant
    return MutantOutcome.UNTESTED


@dataclass(frozen=True)
class Score:
    killed: int = 0
    survived: int = 0
    errors: int = 0  # mutants whose only measurements were errors
    pair_errors: int = 0  # falsifier runs that ended in ERROR, anywhere: the score is incomplete
    skipped: int = 0
    untested: int = 0
    equivalent: int = 0

    @property
    def value(self) -> float | None:
        measured = self.killed + self.survived
        return self.killed / measured if measured else None

    @property
    def incomplete(self) -> bool:
        return self.pair_errors > 0

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        return {"score": round(value * 100, 2) if value is not None else None, "killed": self.killed,
                "survived": self.survived, "errors": self.errors, "pair_errors": self.pair_errors,
                "skipped": self.skipped, "untested": self.untested, "equivalent": self.equivalent,
                "incomplete": self.incomplete}


def score_of(outcomes: Sequence[MutantOutcome], pair_errors: int = 0) -> Score:
    def count(which: MutantOutcome) -> int:
        return sum(1 for o in outcomes if o is which)

    return Score(count(MutantOutcome.KILLED), count(MutantOutcome.SURVIVED), count(MutantOutcome.ERROR), pair_errors,
                 count(MutantOutcome.SKIPPED), count(MutantOutcome.UNTESTED), count(MutantOutcome.EQUIVALENT))


def scores(pairs: Sequence[PairResult], mutants: Sequence[tuple[str, str, bool]]) -> dict[str, Any]:
    """Scores overall, per engine kind and per contract. ``mutants``: (kind, name, equivalent) of
    every selected mutant; per contract only the mutants one of its falsifiers ran against count."""
    by_mutant: dict[tuple[str, str], list[PairResult]] = {}
    for pair in pairs:
        by_mutant.setdefault((pair.kind, pair.mutant), []).append(pair)

    def outcome(kind: str, name: str, equivalent: bool, only: Iterable[PairResult] | None = None) -> MutantOutcome:
        if equivalent:
            return MutantOutcome.EQUIVALENT
        return mutant_outcome(p.outcome for p in (by_mutant.get((kind, name), []) if only is None else only))

    def errors(subset: Iterable[PairResult]) -> int:
        return sum(1 for p in subset if p.outcome is PairOutcome.ERROR)

    overall = score_of([outcome(*m) for m in mutants], errors(pairs))
    per_kind = {kind: score_of([outcome(*m) for m in mutants if m[0] == kind],
                               errors(p for p in pairs if p.kind == kind)).to_dict()
                for kind in sorted({m[0] for m in mutants})}
    per_contract = {}
    for contract in sorted({p.contract_id for p in pairs}):
        mine = [p for p in pairs if p.contract_id == contract]
        names = sorted({(p.kind, p.mutant) for p in mine})
        per_contract[contract] = score_of(
            [outcome(k, n, False, [p for p in mine if (p.kind, p.mutant) == (k, n)]) for k, n in names],
            errors(mine)).to_dict()
    return {"overall": overall.to_dict(), "per_kind": per_kind, "per_contract": per_contract}
