"""Criterion status and ship-%, derived from evidence by one pure function (like ``status.py``).

A criterion needs a set of falsifiers (listed, whole contracts, or bound from the contract
side with ``binds_to:``). Its status, from each needed falsifier's *current* evidence row
(the effective outcome for the claim hash as it is now, see ``status.effective_observation``):

* FALSIFIED — some needed falsifier's effective outcome is FALSIFIED;
* MET — every needed falsifier HELD at its required level, nothing blocks it statically
  (an unknown contract, a gate that names no falsifier), and, when the criterion requires
  live evidence, at least one needed falsifier is live-level and HELD (the runner judged its
  thresholds, so HELD means they were met);
* UNMET — otherwise, with ``missing`` saying, per falsifier, why it does not count yet.

ERROR, SKIPPED, NOT_BOUND, stale evidence and evidence below the required level never count
as held. A criterion that needs nothing is never met (vacuous truth ships nothing).

ship-% of a product = 100 x sum(weight of MET criteria) / sum(weight of all criteria), computed
exactly as a :class:`~fractions.Fraction`; only displays round it (one decimal, half up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from fractions import Fraction
from typing import Protocol

from apr_contracts.outcomes import Level, Outcome


class CriterionStatus(Enum):
    FALSIFIED = "FALSIFIED"
    UNMET = "UNMET"
    MET = "MET"


class EvidenceRow(Protocol):
    """One falsifier's current evidence (``status.FalsifierEvidence`` and ``scoreboard.FalsifierRow`` fit)."""

    @property
    def required_level(self) -> Level: ...
    @property
    def outcome(self) -> Outcome | None: ...
    @property
    def held_at_level(self) -> bool: ...
    @property
    def stale(self) -> bool: ...


@dataclass(frozen=True)
class Blocker:
    """A static reason a criterion cannot be met, found when binding it to contracts."""

    reason: str  # unknown_contract, gate_without_falsifier, ambiguous_falsifier
    detail: str


@dataclass(frozen=True)
class CriterionSpec:
    id: str
    product: str
    needs: tuple[str, ...]  # CONTRACT::FALSIFIER keys (bare when unknown), in order of first mention, once each
    weight: Fraction = Fraction(1)
    live: bool = False
    title: str | None = None
    blockers: tuple[Blocker, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Missing:
    """Why one needed falsifier (or the criterion as a whole, ``falsifier`` None) does not count yet."""

    falsifier: str | None
    reason: str  # falsified, no_evidence, unknown_falsifier, error, skipped, not_bound, stale, below_level, live_required, ...
    detail: str

    def to_dict(self) -> dict[str, str | None]:
        return {"falsifier": self.falsifier, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class NeedState:
    """A needed falsifier as the criterion saw it."""

    id: str
    label: str  # HELD, FALSIFIED, ERROR, SKIPPED, NOT_BOUND, STALE, PENDING, UNKNOWN
    required_level: Level | None
    held_at_level: bool


@dataclass(frozen=True)
class CriterionResult:
    spec: CriterionSpec
    status: CriterionStatus
    needs: tuple[NeedState, ...]
    missing: tuple[Missing, ...]

    @property
    def met(self) -> bool:
        return self.status is CriterionStatus.MET


def _label(row: EvidenceRow | None) -> str:
    if row is None:
        return "UNKNOWN"
    if row.outcome is not None:
        return row.outcome.value
    return "STALE" if row.stale else "PENDING"


_REASONS = {
    Outcome.ERROR: ("error", "ERROR: the check itself broke; an error never counts as held"),
    Outcome.SKIPPED: ("skipped", "SKIPPED: it could not run here (a missing optional dependency)"),
    Outcome.NOT_BOUND: ("not_bound", "NOT_BOUND: no plugin implements it"),
    Outcome.OUT_OF_SCOPE: ("out_of_scope", "OUT_OF_SCOPE: a plugin declared it does not apply to these engines"),
    Outcome.FALSIFIED: ("falsified", "FALSIFIED: a counterexample is recorded"),
}


def _why_not(fid: str, row: EvidenceRow | None) -> Missing | None:
    """Why ``fid`` is not HELD at its required level, or None when it is."""
    if row is None:
        return Missing(fid, "unknown_falsifier", "no loaded contract defines this falsifier id")
    if row.held_at_level:
        return None
    if row.outcome is None:
        if row.stale:
            tree_changed = getattr(row, "stale_why", "")  # test evidence from another project tree
            return Missing(fid, "stale", f"{tree_changed}" if tree_changed else
                           "evidence exists only for an older text of its claim; run `pv run` again")
        run = "`pv run --level live`" if row.required_level is Level.LIVE else "`pv run`"
        return Missing(fid, "no_evidence", f"no evidence for its current claim; run {run}")
    if row.outcome is Outcome.HELD:
        return Missing(fid, "below_level", f"HELD only below its required level {row.required_level.value}")
    reason, detail = _REASONS[row.outcome]
    return Missing(fid, reason, detail)


def derive_criterion(spec: CriterionSpec, rows: Mapping[str, EvidenceRow]) -> CriterionResult:
    """The status of one criterion from the current evidence ``rows`` (falsifier id -> row)."""
    needs = tuple(NeedState(fid, _label(rows.get(fid)), rows[fid].required_level if fid in rows else None,
                            bool(rows[fid].held_at_level) if fid in rows else False) for fid in spec.needs)
    missing = [m for fid in spec.needs if (m := _why_not(fid, rows.get(fid))) is not None]
    missing += [Missing(None, b.reason, b.detail) for b in spec.blockers]
    if not spec.needs and not spec.blockers:
        missing.append(Missing(None, "no_falsifiers", "it needs no falsifier: name falsifiers or contracts, "
                                                      "or bind falsifiers to it with `binds_to:`"))
    if spec.live and not any(n.required_level is Level.LIVE and n.held_at_level for n in needs):
        live = [n.id for n in needs if n.required_level is Level.LIVE]
        detail = (f"needs live evidence: none of its {len(live)} live falsifier(s) HELD yet" if live else
                  "needs live evidence, but none of its falsifiers is live-level: non-live evidence cannot meet it")
        missing.append(Missing(None, "live_required", detail))
    if any(n.label == Outcome.FALSIFIED.value for n in needs):
        status = CriterionStatus.FALSIFIED
    elif missing:
        status = CriterionStatus.UNMET
    else:
        status = CriterionStatus.MET
    return CriterionResult(spec, status, needs, tuple(missing))


def derive_criteria(specs: Iterable[CriterionSpec], rows: Mapping[str, EvidenceRow]) -> list[CriterionResult]:
    return [derive_criterion(s, rows) for s in specs]


def ship_fraction(results: Sequence[CriterionResult]) -> Fraction:
    """100 x the weighted share of met criteria, exactly (0 for a product without criteria)."""
    total = sum((r.spec.weight for r in results), Fraction(0))
    if total == 0:
        return Fraction(0)
    met = sum((r.spec.weight for r in results if r.met), Fraction(0))
    return 100 * met / total


def display_percent(value: Fraction) -> str:
    """One decimal, rounded half up from the exact value (66.66… -> 66.7, 6.25 -> 6.3)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def weight_of(value: float | int) -> Fraction:
    """A YAML weight as an exact fraction of its written decimal (0.1 is 1/10, not the binary float)."""
    return Fraction(str(value))
