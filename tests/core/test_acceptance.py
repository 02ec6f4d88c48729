"""Criterion status and ship-%: the pure derivation, table-driven, plus its properties (no torch, no I/O)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apr_contracts.acceptance.derive import (
    Blocker,
    CriterionSpec,
    CriterionStatus,
    derive_criteria,
    derive_criterion,
    display_percent,
    ship_fraction,
    weight_of,
)
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.status import FalsifierEvidence, Observation, effective_observation

A, INT, L = Level.ALGORITHM, Level.INTEGRATION, Level.LIVE
H, F, E, NB, S = Outcome.HELD, Outcome.FALSIFIED, Outcome.ERROR, Outcome.NOT_BOUND, Outcome.SKIPPED
MET, UNMET, FALS = CriterionStatus.MET, CriterionStatus.UNMET, CriterionStatus.FALSIFIED


def row(fid: str, required: Level, outcome: Outcome | None = None, level: Level | None = None,
        *, stale: bool = False) -> FalsifierEvidence:
    obs = None if outcome is None else Observation(outcome, level or (None if outcome is NB else required))
    return FalsifierEvidence(fid, required, obs, stale)


def crit(*needs: str, live: bool = False, cid: str = "AC-1", weight: int = 1,
         blockers: tuple[Blocker, ...] = ()) -> CriterionSpec:
    return CriterionSpec(cid, "P", tuple(needs), Fraction(weight), live, blockers=blockers)


TABLE = [
    ("every need held", crit("a", "b"), [row("a", A, H), row("b", INT, H)], MET, []),
    ("one falsified sinks it", crit("a", "b"), [row("a", A, H), row("b", A, F)], FALS, ["falsified"]),
    ("an ERROR is never held", crit("a"), [row("a", A, E)], UNMET, ["error"]),
    ("skipped", crit("a"), [row("a", A, S)], UNMET, ["skipped"]),
    ("not bound", crit("a"), [row("a", A, NB)], UNMET, ["not_bound"]),
    ("no evidence yet", crit("a"), [row("a", A)], UNMET, ["no_evidence"]),
    ("stale evidence counts as none", crit("a"), [row("a", A, stale=True)], UNMET, ["stale"]),
    ("held below its required level", crit("a"), [row("a", INT, H, A)], UNMET, ["below_level"]),
    ("a falsifier no contract defines", crit("zz"), [], UNMET, ["unknown_falsifier"]),
    ("needs nothing: never met", crit(), [], UNMET, ["no_falsifiers"]),
    ("a static blocker", crit("a", blockers=(Blocker("gate_without_falsifier", "g"),)), [row("a", A, H)], UNMET,
     ["gate_without_falsifier"]),
    ("live required, only non-live falsifiers", crit("a", live=True), [row("a", INT, H)], UNMET, ["live_required"]),
    ("live required, live one pending", crit("a", "l", live=True), [row("a", A, H), row("l", L)], UNMET,
     ["no_evidence", "live_required"]),
    ("live required and live held", crit("a", "l", live=True), [row("a", A, H), row("l", L, H)], MET, []),
    ("live held but another need missing", crit("a", "l", live=True), [row("a", A, E), row("l", L, H)], UNMET,
     ["error"]),
]


@pytest.mark.parametrize(("name", "spec", "rows", "status", "reasons"), TABLE, ids=[t[0] for t in TABLE])
def test_criterion_table(name: str, spec: CriterionSpec, rows: list[FalsifierEvidence], status: CriterionStatus,
                         reasons: list[str]) -> None:
    result = derive_criterion(spec, {r.falsifier_id: r for r in rows})
    assert result.status is status
    assert [m.reason for m in result.missing] == reasons


def test_ship_percent_is_exact_weighted_share_and_displayed_half_up() -> None:
    rows = {"a": row("a", A, H), "b": row("b", A)}
    results = derive_criteria([crit("a", cid="1", weight=2), crit("b", cid="2"), crit("b", cid="3", weight=3)], rows)
    assert ship_fraction(results) == Fraction(100 * 2, 6)
    assert display_percent(ship_fraction(results)) == "33.3"
    assert display_percent(Fraction(25, 4)) == "6.3"  # 6.25 rounds half up, not to even
    assert display_percent(Fraction(200, 3)) == "66.7"
    assert ship_fraction([]) == 0
    assert weight_of(0.1) == Fraction(1, 10)


# ---- properties over random evidence histories -------------------------------------------------

IDS = [f"F{i}" for i in range(6)]
levels = st.sampled_from([A, INT, L])
outcomes = st.sampled_from([H, F, E, NB, S])
observation = st.builds(lambda o, lv: Observation(o, None if o is NB else lv), outcomes, levels)
histories = st.dictionaries(st.sampled_from(IDS), st.lists(observation, max_size=4))
required = st.fixed_dictionaries({fid: levels for fid in IDS})
criteria = st.lists(
    st.builds(lambda needs, live, w, i: CriterionSpec(f"AC-{i}", "P", tuple(dict.fromkeys(needs)), Fraction(w), live),
              st.lists(st.sampled_from(IDS), max_size=4), st.booleans(), st.integers(1, 5), st.integers(0, 10**6)),
    min_size=1, max_size=8,
)


def rows_from(hist: dict[str, list[Observation]], req: dict[str, Level]) -> dict[str, FalsifierEvidence]:
    return {fid: FalsifierEvidence(fid, req[fid], effective_observation(hist.get(fid, []))) for fid in IDS}


@settings(max_examples=300, deadline=None)
@given(criteria, histories, required, st.sampled_from(IDS), st.sampled_from([F, E]), levels)
def test_adding_falsified_or_error_never_raises_ship_percent(specs, hist, req, fid, bad, level) -> None:
    before = ship_fraction(derive_criteria(specs, rows_from(hist, req)))
    later = {**hist, fid: [*hist.get(fid, []), Observation(bad, level)]}
    after = ship_fraction(derive_criteria(specs, rows_from(later, req)))
    assert after <= before


@settings(max_examples=200, deadline=None)
@given(criteria, histories, required, st.randoms(use_true_random=False))
def test_ship_percent_is_invariant_to_criterion_order(specs, hist, req, rnd: random.Random) -> None:
    rows = rows_from(hist, req)
    shuffled = list(specs)
    rnd.shuffle(shuffled)
    assert ship_fraction(derive_criteria(shuffled, rows)) == ship_fraction(derive_criteria(specs, rows))


@settings(max_examples=300, deadline=None)
@given(criteria, histories, required)
def test_live_criterion_is_never_met_by_non_live_evidence(specs, hist, req) -> None:
    # Whatever landed, with every live-level observation removed no live criterion is met.
    non_live = {fid: [o for o in obs if o.level is not L] for fid, obs in hist.items()}
    rows = rows_from(non_live, req)
    for result in derive_criteria([CriterionSpec(s.id, s.product, s.needs, s.weight, True) for s in specs], rows):
        assert result.status is not MET
        assert result.missing
