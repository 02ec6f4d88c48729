"""Status derivation: the DESIGN.md ladder, table-driven, plus the monotonicity property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apr_contracts.outcomes import Level, Outcome
from apr_contracts.status import (
    FalsifierEvidence,
    Observation,
    Status,
    derive_status,
    effective_observation,
    why,
)

A, INT, L = Level.ALGORITHM, Level.INTEGRATION, Level.LIVE
H, F, E, NB, S = Outcome.HELD, Outcome.FALSIFIED, Outcome.ERROR, Outcome.NOT_BOUND, Outcome.SKIPPED
LIVE_T = ({"metric": "loss", "op": "<=", "value": 4.0},)


def ev(required: Level, outcome: Outcome | None = None, level: Level | None = None, *, stale: bool = False,
       measured: dict[str, float] | None = None, thresholds: tuple = ()) -> FalsifierEvidence:
    obs = None if outcome is None else Observation(outcome, level or (None if outcome is NB else required),
                                                    measured or {})
    if required is L and not thresholds:
        thresholds = LIVE_T
    return FalsifierEvidence("FALSIFY-X", required, obs, stale, thresholds)


TABLE = [
    ("no falsifiers at all", [], Status.PROPOSED),
    ("nothing run yet", [ev(A), ev(INT)], Status.PROPOSED),
    ("only unbound and skipped", [ev(A, NB), ev(INT, S)], Status.PROPOSED),
    ("an ERROR is not a HELD", [ev(A, E)], Status.PROPOSED),
    ("stale evidence counts as none", [ev(A, stale=True)], Status.PROPOSED),
    ("one FALSIFIED sinks the contract", [ev(A, H), ev(INT, H), ev(A, F)], Status.FALSIFIED),
    ("a FALSIFIED live falsifier too", [ev(A, H), ev(L, F, measured={"loss": 9.0})], Status.FALSIFIED),
    ("one held, one unbound", [ev(A, H), ev(A, NB)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("one held, one skipped", [ev(A, H), ev(INT, S)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("one held, one error", [ev(A, H), ev(INT, E)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("one held, one stale", [ev(A, H), ev(INT, stale=True)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("held below its required level", [ev(A, H), ev(INT, H, level=A)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("only held below level", [ev(INT, H, level=A)], Status.PARTIAL_ALGORITHM_LEVEL),
    ("every non-live held, no live: never DISCHARGED", [ev(A, H), ev(INT, H)], Status.FUNCTIONAL),
    ("held above the required level counts", [ev(A, H, level=INT)], Status.FUNCTIONAL),
    ("live pending", [ev(A, H), ev(L)], Status.FUNCTIONAL),
    ("live skipped", [ev(A, H), ev(L, S)], Status.FUNCTIONAL),
    ("live errored", [ev(A, H), ev(L, E)], Status.FUNCTIONAL),
    ("live held at integration level only", [ev(A, H), ev(L, H, level=INT, measured={"loss": 1.0})], Status.FUNCTIONAL),
    ("live held without the threshold metric", [ev(A, H), ev(L, H, measured={"other": 1.0})], Status.FUNCTIONAL),
    ("live held but no thresholds declared",
     [ev(A, H), FalsifierEvidence("FALSIFY-L", L, Observation(H, L, {"loss": 1.0}), False, ())], Status.FUNCTIONAL),
    ("all held, live against thresholds", [ev(A, H), ev(INT, H), ev(L, H, measured={"loss": 1.0})], Status.DISCHARGED),
    ("one of two live pending", [ev(A, H), ev(L, H, measured={"loss": 1.0}), ev(L)], Status.FUNCTIONAL),
    ("live-only contract, discharged", [ev(L, H, measured={"loss": 1.0})], Status.DISCHARGED),
    ("live-only contract held below level", [ev(L, H, level=INT, measured={"loss": 1.0})],
     Status.PARTIAL_ALGORITHM_LEVEL),
    ("live held but a non-live is missing", [ev(A, NB), ev(L, H, measured={"loss": 1.0})],
     Status.PARTIAL_ALGORITHM_LEVEL),
]


@pytest.mark.parametrize(("case", "evidence", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_status_table(case: str, evidence: list[FalsifierEvidence], expected: Status) -> None:
    assert derive_status(evidence) is expected, case
    assert why(evidence).startswith(expected.value)


def test_total_order() -> None:
    ladder = [Status.FALSIFIED, Status.PROPOSED, Status.PARTIAL_ALGORITHM_LEVEL, Status.FUNCTIONAL, Status.DISCHARGED]
    assert sorted(reversed(ladder)) == ladder
    assert Status.FALSIFIED < Status.PROPOSED <= Status.PROPOSED < Status.DISCHARGED
    assert Status.DISCHARGED > Status.FUNCTIONAL >= Status.FUNCTIONAL
    assert max(ladder) is Status.DISCHARGED and min(ladder) is Status.FALSIFIED
    assert Status.parse("partial_algorithm_level") is Status.PARTIAL_ALGORITHM_LEVEL
    assert Status.parse("ACTIVE") is None and Status.parse(None) is None


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], None),
        ([H], H),
        ([F, H], H),  # a HELD refutes an earlier counterexample
        ([H, F], F),
        ([F, E], F),  # an ERROR cannot clear a counterexample
        ([F, S], F),
        ([F, NB], F),
        ([H, E], E),  # but it does take away a HELD
        ([F, H, E], E),
        ([E, S], S),
    ],
)
def test_effective_observation(history: list[Outcome], expected: Outcome | None) -> None:
    got = effective_observation([Observation(o, A) for o in history])
    assert (got.outcome if got else None) is expected


# -- property: appending a FALSIFIED or ERROR result to any falsifier's history never raises the status --
outcomes = st.sampled_from(list(Outcome))
levels = st.sampled_from(list(Level))
observations = st.builds(
    Observation, outcomes, st.one_of(st.none(), levels),
    st.dictionaries(st.sampled_from(["loss", "other"]), st.floats(0, 10), max_size=2),
)
falsifier_state = st.tuples(
    levels,  # required level
    st.lists(observations, max_size=4),  # history for the current claim hash, oldest first
    st.booleans(),  # evidence exists under an older claim hash
    st.sampled_from([(), LIVE_T]),
)


def _derive(states: list[tuple]) -> Status:
    return derive_status([
        FalsifierEvidence(f"F{i}", req, effective_observation(hist), stale and not hist, thr)
        for i, (req, hist, stale, thr) in enumerate(states)
    ])


@settings(max_examples=400, deadline=None)
@given(st.lists(falsifier_state, max_size=5), st.data())
def test_adding_falsified_or_error_never_raises_status(states: list[tuple], data: st.DataObject) -> None:
    before = _derive(states)
    if not states:
        return
    index = data.draw(st.integers(0, len(states) - 1))
    added = Observation(data.draw(st.sampled_from([F, E])), data.draw(st.one_of(st.none(), levels)),
                        data.draw(st.dictionaries(st.just("loss"), st.floats(0, 10), max_size=1)))
    req, hist, stale, thr = states[index]
    after_states = [*states[:index], (req, [*hist, added], stale, thr), *states[index + 1:]]
    after = _derive(after_states)
    assert after <= before, (before, after)
    if added.outcome is F:
        assert after is Status.FALSIFIED


@settings(max_examples=200, deadline=None)
@given(st.lists(falsifier_state, min_size=1, max_size=5))
def test_discharged_needs_a_live_falsifier(states: list[tuple]) -> None:
    status = _derive(states)
    if status is Status.DISCHARGED:
        assert any(req is L for req, _, _, _ in states)
    if all(not hist for _, hist, _, _ in states):
        assert status is Status.PROPOSED
