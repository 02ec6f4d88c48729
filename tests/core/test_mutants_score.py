"""Mutation-score arithmetic: ERROR and SKIPPED never count as kills, and an ERROR never raises a score."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from apr_contracts.mutation.catalogue import MutantError, MutantRegistry, mutant, parse_pair
from apr_contracts.mutation.score import (
    MutantOutcome,
    PairOutcome,
    PairResult,
    mutant_outcome,
    scores,
)
from apr_contracts.outcomes import Outcome

MUTANTS = [("k", f"m{i}", False) for i in range(4)]
pair_st = st.builds(PairResult, contract_id=st.sampled_from(["c1", "c2"]), falsifier_id=st.sampled_from(["F1", "F2"]),
                    kind=st.just("k"), mutant=st.sampled_from([m[1] for m in MUTANTS]),
                    outcome=st.sampled_from(list(PairOutcome)))


def _value(score: dict[str, object]) -> float:
    value = score["score"]
    return -1.0 if value is None else float(value)  # type: ignore[arg-type]


@given(st.lists(pair_st, max_size=12), pair_st)
def test_adding_an_error_never_raises_any_score(pairs: list[PairResult], extra: PairResult) -> None:
    error = PairResult(extra.contract_id, extra.falsifier_id, extra.kind, extra.mutant, PairOutcome.ERROR)
    before, after = scores(pairs, MUTANTS), scores([*pairs, error], MUTANTS)
    assert _value(after["overall"]) <= _value(before["overall"])
    assert after["overall"]["score"] == before["overall"]["score"]  # an error moves no mutant in or out
    assert after["overall"]["incomplete"]
    for contract, score in after["per_contract"].items():
        if contract in before["per_contract"]:
            assert score["score"] == before["per_contract"][contract]["score"]


@given(st.lists(st.sampled_from([PairOutcome.ERROR, PairOutcome.SKIPPED]), max_size=6))
def test_errors_and_skips_alone_never_kill(outcomes: list[PairOutcome]) -> None:
    assert mutant_outcome(outcomes) is not MutantOutcome.KILLED
    assert scores([PairResult("c", "F", "k", "m0", o) for o in outcomes], MUTANTS)["overall"]["killed"] == 0


def test_a_kill_wins_and_a_survivor_stays_a_survivor_beside_an_error() -> None:
    assert mutant_outcome([PairOutcome.SURVIVED, PairOutcome.KILLED, PairOutcome.ERROR]) is MutantOutcome.KILLED
    assert mutant_outcome([PairOutcome.ERROR, PairOutcome.SURVIVED]) is MutantOutcome.SURVIVED
    assert mutant_outcome([]) is MutantOutcome.UNTESTED


def test_equivalent_mutants_are_out_of_the_score() -> None:
    got = scores([PairResult("c", "F", "k", "m0", PairOutcome.KILLED)], [("k", "m0", False), ("k", "m1", True)])
    assert (got["overall"]["score"], got["overall"]["equivalent"]) == (100.0, 1)


def test_pair_outcome_maps_every_runner_outcome() -> None:
    from apr_contracts.mutation.score import pair_outcome

    assert {o: pair_outcome(o) for o in Outcome} == {
        Outcome.FALSIFIED: PairOutcome.KILLED, Outcome.HELD: PairOutcome.SURVIVED, Outcome.SKIPPED: PairOutcome.SKIPPED,
        Outcome.ERROR: PairOutcome.ERROR, Outcome.NOT_BOUND: PairOutcome.ERROR, Outcome.OUT_OF_SCOPE: PairOutcome.ERROR}


def test_registry_refuses_what_cannot_be_meant() -> None:
    registry = MutantRegistry(current_plugin="p")
    registry.add_table("k", "pkg", {"m": mutant(".sub:Cls", "c::F")})
    spec = registry.get("k", "m")
    assert spec is not None and (spec.module, spec.attribute, spec.caught_by) == ("pkg.sub", "Cls", (("c", "F"),))
    for args, kwargs, says in [
        (("m", "k", ".sub:Cls"), {"package": "pkg"}, "registered by both"),
        (("n", "k", "no-colon"), {}, "is not 'module:Class'"),
        (("n", "k", "a:B"), {"caught_by": ["c::F"], "equivalent": "same"}, "keep one"),
        (("n", "k", "a:B"), {"equivalent": "  "}, "needs the reason"),
        (("n", "k", ".a:B"), {}, "needs the table's package"),
    ]:
        try:
            registry.add(*args, **kwargs)
        except MutantError as exc:
            assert says in str(exc), (args, str(exc))
        else:
            raise AssertionError(f"{args} {kwargs} was accepted")
    assert parse_pair(("c", "F"), "here") == ("c", "F")
    try:
        parse_pair("FALSIFY-ONLY", "here")
    except MutantError as exc:
        assert "CONTRACT::FALSIFIER" in str(exc)
    else:
        raise AssertionError("a bare falsifier id was accepted")
