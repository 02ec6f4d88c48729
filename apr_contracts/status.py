"""Contract status, derived from evidence by one pure function (DESIGN.md, "Outcomes and status").

Total order: FALSIFIED < PROPOSED < PARTIAL_ALGORITHM_LEVEL < FUNCTIONAL < DISCHARGED.

* FALSIFIED — some falsifier's effective outcome is FALSIFIED;
* PROPOSED — no falsifier HELD (also: a contract with no falsifiers);
* PARTIAL_ALGORITHM_LEVEL — at least one HELD, but some non-live falsifier is
  NOT_BOUND, SKIPPED, ERROR, without evidence, stale, or held below its required level;
* FUNCTIONAL — every non-live falsifier HELD at its required level (and at
  least one falsifier HELD at its level); live ones may be pending;
* DISCHARGED — FUNCTIONAL, at least one live falsifier, and every live one HELD
  at live level against declared thresholds whose metrics were all measured.

Only evidence for a falsifier's *current* claim hash counts; evidence under an
older hash makes the falsifier "stale" and counts as no evidence.

The effective outcome of a falsifier is its latest result, except that a
non-decisive result (ERROR, SKIPPED, NOT_BOUND) does not erase an earlier
FALSIFIED: only a HELD refutes a recorded counterexample. This is what keeps
"adding a FALSIFIED or ERROR result never raises a status" true over histories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from apr_contracts.outcomes import Level, Outcome


class Status(Enum):
    FALSIFIED = "FALSIFIED"
    PROPOSED = "PROPOSED"
    PARTIAL_ALGORITHM_LEVEL = "PARTIAL_ALGORITHM_LEVEL"
    FUNCTIONAL = "FUNCTIONAL"
    DISCHARGED = "DISCHARGED"

    @property
    def rank(self) -> int:
        return _STATUS_ORDER.index(self)

    # Ordered by the ladder, not alphabetically.
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, Status) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, Status) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, Status) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, Status) else NotImplemented

    @classmethod
    def parse(cls, declared: str | None) -> Status | None:
        """A declared status word as a Status, or None when it is not one pv derives (ACTIVE, DRAFT...)."""
        if declared is None:
            return None
        word = str(declared).strip().upper()
        return cls.__members__.get(word)


_STATUS_ORDER = [Status.FALSIFIED, Status.PROPOSED, Status.PARTIAL_ALGORITHM_LEVEL, Status.FUNCTIONAL, Status.DISCHARGED]

DECISIVE = frozenset({Outcome.HELD, Outcome.FALSIFIED})


@dataclass(frozen=True)
class Observation:
    """One stored result, reduced to what status derivation needs."""

    outcome: Outcome
    level: Level | None = None  # the level the implementation exercised
    measured: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FalsifierEvidence:
    """One falsifier of a contract and its evidence for the current claim hash."""

    falsifier_id: str
    required_level: Level
    effective: Observation | None = None  # None: no evidence for the current claim hash
    stale: bool = False  # evidence exists, but only under an older claim hash
    thresholds: Sequence[Mapping[str, Any]] = ()  # the contract's declared thresholds
    # Why it is stale when the claim is unchanged: test evidence produced on another project tree.
    stale_why: str = ""

    @property
    def outcome(self) -> Outcome | None:
        return self.effective.outcome if self.effective else None

    @property
    def held_at_level(self) -> bool:
        """HELD by an implementation exercising at least the required level."""
        obs = self.effective
        return (
            obs is not None
            and obs.outcome is Outcome.HELD
            and obs.level is not None
            and obs.level.rank >= self.required_level.rank
        )

    @property
    def live_discharged(self) -> bool:
        """A live falsifier HELD at live level against declared thresholds, every metric measured."""
        if not self.held_at_level or not self.thresholds or self.effective is None:
            return False
        return all(t.get("metric") in self.effective.measured for t in self.thresholds)


def discharge_blocker(f: FalsifierEvidence) -> str | None:
    """Why live evidence for ``f`` cannot discharge its contract, or None when nothing blocks it.

    The case this names is evidence measured at live level that the contract cannot use: the
    falsifier is declared below live (many hand-written contracts state a live bound only in
    prose, e.g. "loss <= 6.0"), or it is declared live with no machine-readable thresholds. The
    runner's rule never reads prose, so the fix is in the contract: `level: live` plus
    `thresholds: [{metric, op, value}]` naming the metrics the falsifier measures.
    """
    obs = f.effective
    if obs is None or obs.outcome is not Outcome.HELD or obs.level is not Level.LIVE:
        return None
    metrics = ", ".join(sorted(obs.measured)) or "its metrics"
    if f.required_level is not Level.LIVE:
        return (f"measured at live level ({metrics}), but the contract declares it at "
                f"{f.required_level.value} level with no machine-readable thresholds, so it cannot "
                "discharge the contract; add `level: live` and `thresholds:` on "
                f"{'those metrics' if obs.measured else 'the metrics it measures'}")
    if not f.thresholds:
        return (f"measured at live level ({metrics}), but the contract declares no `thresholds:` for it, "
                "so it cannot discharge the contract; add `thresholds:` on those metrics")
    missing = sorted({str(t.get("metric")) for t in f.thresholds} - set(obs.measured))
    if missing:
        return f"the contract's thresholds name {', '.join(missing)}, which the falsifier did not measure"
    return None


def effective_observation(history: Sequence[Observation]) -> Observation | None:
    """The observation that decides a falsifier's standing, from its history (oldest first).

    The latest one, unless it is non-decisive and the latest decisive one is
    FALSIFIED: an ERROR/SKIPPED/NOT_BOUND run cannot clear a counterexample.
    """
    if not history:
        return None
    latest = history[-1]
    if latest.outcome in DECISIVE:
        return latest
    for earlier in reversed(history[:-1]):
        if earlier.outcome in DECISIVE:
            return earlier if earlier.outcome is Outcome.FALSIFIED else latest
    return latest


def derive_status(falsifiers: Sequence[FalsifierEvidence]) -> Status:
    """The derived status of a contract whose falsifier entries carry ``falsifiers``' evidence."""
    if any(f.outcome is Outcome.FALSIFIED for f in falsifiers):
        return Status.FALSIFIED
    if not any(f.outcome is Outcome.HELD for f in falsifiers):
        return Status.PROPOSED
    non_live = [f for f in falsifiers if f.required_level is not Level.LIVE]
    live = [f for f in falsifiers if f.required_level is Level.LIVE]
    # A vacuous "every non-live falsifier held" (a live-only contract) is not enough for
    # FUNCTIONAL: something must have held at the level its contract asks for.
    if not all(f.held_at_level for f in non_live) or not any(f.held_at_level for f in falsifiers):
        return Status.PARTIAL_ALGORITHM_LEVEL
    if live and all(f.live_discharged for f in live):
        return Status.DISCHARGED
    return Status.FUNCTIONAL


def why(falsifiers: Sequence[FalsifierEvidence]) -> str:
    """One sentence explaining :func:`derive_status` for people (`pv status`)."""
    status = derive_status(falsifiers)
    if not falsifiers:
        return "PROPOSED: the contract has no falsifiers"
    if status is Status.FALSIFIED:
        ids = [f.falsifier_id for f in falsifiers if f.outcome is Outcome.FALSIFIED]
        return f"FALSIFIED: {', '.join(ids)} found a counterexample"
    if status is Status.PROPOSED:
        return "PROPOSED: no falsifier has HELD for the current text of its claim"
    if status is Status.PARTIAL_ALGORITHM_LEVEL:
        missing = [f"{f.falsifier_id} ({_standing(f)})" for f in falsifiers
                   if f.required_level is not Level.LIVE and not f.held_at_level]
        return "PARTIAL_ALGORITHM_LEVEL: not yet held at required level: " + ", ".join(missing or ["(live only)"])
    if status is Status.FUNCTIONAL:
        live = [f for f in falsifiers if f.required_level is Level.LIVE]
        if not live:
            prose = [f.falsifier_id for f in falsifiers if discharge_blocker(f)]
            if prose:
                return ("FUNCTIONAL: every falsifier HELD; " + ", ".join(prose) + " measured at live level, but the "
                        "contract declares no live falsifier with machine-readable thresholds, so it cannot be "
                        "DISCHARGED (add `level: live` and `thresholds:` to those entries)")
            return "FUNCTIONAL: every falsifier HELD; no live falsifier, so it cannot be DISCHARGED"
        pending = [f"{f.falsifier_id} ({_standing(f)})" for f in live if not f.live_discharged]
        return "FUNCTIONAL: live falsifiers pending: " + ", ".join(pending)
    return "DISCHARGED: every falsifier HELD, live ones against their declared thresholds"


def _standing(f: FalsifierEvidence) -> str:
    if f.effective is None:
        return (f"stale: {f.stale_why}" if f.stale_why else "stale") if f.stale else "no evidence"
    obs = f.effective
    if obs.outcome is Outcome.HELD and not f.held_at_level:
        got = obs.level.value if obs.level else "unknown level"
        return f"held at {got} < required {f.required_level.value}"
    if obs.outcome is Outcome.HELD and f.required_level is Level.LIVE and not f.thresholds:
        return "held but the contract declares no thresholds"
    if obs.outcome is Outcome.HELD and f.required_level is Level.LIVE:
        return "held without every threshold metric measured"
    return obs.outcome.value
