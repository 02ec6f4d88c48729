"""The runner's judgement of live thresholds, tested at the boundary of every operator.

Each operator is checked with the measured value exactly on the bound, one step below and one
step above: the next integer for ints, the neighbouring double (``math.nextafter``) for floats.
The expected verdicts are written out in a table, never recomputed with ``operator``, so a
mis-mapped operator (``<=`` judged as ``<``) cannot agree with its own test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.api import FalsifierSpec, RunContext, Verdict
from apr_contracts.execute import execute, judge_thresholds
from apr_contracts.outcomes import Level, Outcome

H, F = Outcome.HELD, Outcome.FALSIFIED
# op -> verdict for (measured below the bound, on it, above it)
EXPECTED: dict[str, tuple[Outcome, Outcome, Outcome]] = {
    "<=": (H, H, F),
    "<": (H, F, F),
    ">=": (F, H, H),
    ">": (F, F, H),
    "==": (F, H, F),
    "!=": (H, F, H),
}


def _float_case(bound: float) -> tuple[float, float, float, float]:
    return bound, math.nextafter(bound, -math.inf), bound, math.nextafter(bound, math.inf)


# (bound, below, on, above): the measured values land on the bound by construction.
CASES: dict[str, tuple[Any, Any, Any, Any]] = {
    "int": (10, 9, 10, 11),
    "int-zero": (0, -1, 0, 1),
    "float-7/10": _float_case(7 / 10),  # 7/10 rounds to the same double as the literal 0.7
    "float-0.02": _float_case(0.02),
    "float-zero": (0.0, -5e-324, 0.0, 5e-324),  # the smallest subnormals around 0
    "float-huge": _float_case(1e300),
    # ints against a float bound of the same value, and beyond 2**53 where a float cannot hold
    # the int: Python compares int and float exactly, so 2**53 + 1 is above 2.0**53.
    "int-vs-float": (10.0, 9, 10, 11),
    "float-vs-int": (10, math.nextafter(10.0, 0), 10.0, math.nextafter(10.0, 20)),
    "int-beyond-2**53": (2.0**53, 2**53 - 1, 2**53, 2**53 + 1),
}


def _judge(value: Any, op: str, bound: Any) -> tuple[Outcome, str]:
    return judge_thresholds({"m": value}, [{"metric": "m", "op": op, "value": bound}])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("op", EXPECTED)
def test_every_operator_at_below_and_above_its_bound(op: str, case: str) -> None:
    bound, below, on, above = CASES[case]
    assert below < on < above and on == bound  # the fixture itself lands where it claims
    got = tuple(_judge(value, op, bound)[0] for value in (below, on, above))
    assert got == EXPECTED[op], f"{case}: m {op} {bound!r} judged {got} for (below, on, above)"


def test_the_literal_0_7_measured_against_7_over_10_is_on_the_bound() -> None:
    measured = 0.7
    assert _judge(measured, "<=", 7 / 10)[0] is H
    assert _judge(measured, ">=", 7 / 10)[0] is H
    assert _judge(measured, "==", 7 / 10)[0] is H
    assert _judge(measured, "<", 7 / 10)[0] is F
    # A value that only prints as 0.7 is not on the bound: 0.1 * 7 is one ulp above it.
    one_ulp_above = 0.1 * 7
    assert one_ulp_above == math.nextafter(0.7, 1.0)
    assert _judge(one_ulp_above, "<=", 0.7)[0] is F


def test_all_thresholds_must_hold_and_every_violation_is_reported() -> None:
    thresholds = [{"metric": "a", "op": "<=", "value": 1}, {"metric": "b", "op": ">=", "value": 2},
                  {"metric": "c", "op": "==", "value": 0}]
    assert judge_thresholds({"a": 1, "b": 2, "c": 0}, thresholds)[0] is H
    outcome, message = judge_thresholds({"a": 2, "b": 1, "c": 0}, thresholds)
    assert outcome is F and "a=2" in message and "b=1" in message and "c=" not in message


@pytest.mark.parametrize("value", [True, False, math.nan, math.inf, -math.inf, "0.7", None, [1]])
def test_a_measured_value_that_is_not_a_finite_number_is_an_error(value: Any) -> None:
    # bool is an int subclass: True must not pass as 1 against "== 1".
    assert _judge(value, "==", 1)[0] is Outcome.ERROR
    assert _judge(value, "!=", 1)[0] is Outcome.ERROR


def test_a_metric_not_measured_and_an_unknown_operator_are_errors() -> None:
    assert judge_thresholds({}, [{"metric": "m", "op": "<=", "value": 1}])[0] is Outcome.ERROR
    assert _judge(1, "=<", 1)[0] is Outcome.ERROR
    assert _judge(1, "=", 1)[0] is Outcome.ERROR


def _live_spec(value: Any) -> FalsifierSpec:
    def fn(ctx: RunContext) -> Verdict:
        return ctx.measured(m=value)

    return FalsifierSpec("FALSIFY-JUDGING-LIVE", fn, Level.LIVE, ())


@pytest.mark.parametrize("op", EXPECTED)
def test_execute_judges_a_live_measurement_exactly_on_the_bound(op: str, tmp_path: Path) -> None:
    """The runner's path (plugin -> ctx.measured -> execute) gives the same verdict as the table."""
    bound = 7 / 10
    for value, want in zip((math.nextafter(bound, 0), 0.7, math.nextafter(bound, 1)), EXPECTED[op], strict=True):
        result = execute(_live_spec(value), engines={}, workspace=tmp_path,
                         thresholds=[{"metric": "m", "op": op, "value": bound}])
        assert result.outcome is want, (op, value, result.message)
        assert result.measured == {"m": value}


# --- bound values the contract loader would refuse, given to the runner directly ------------------
# `run_falsifier(thresholds=...)` and any caller of `judge_thresholds` pass thresholds without the
# loader's PV-LEVEL-003 check: the runner validates the bound as it validates the measured value.


@pytest.mark.parametrize("op", EXPECTED)
def test_a_bound_given_as_a_string_is_an_error(op: str) -> None:
    assert _judge(0.7, op, "0.7")[0] is Outcome.ERROR


@pytest.mark.parametrize("op", ["==", "!=", "<=", ">="])
def test_a_bound_given_as_a_bool_is_an_error(op: str) -> None:
    assert _judge(1, op, True)[0] is Outcome.ERROR


@pytest.mark.parametrize(("op", "bound"), [("<=", math.inf), (">=", -math.inf), ("!=", math.nan), ("==", math.nan),
                                           ("<", math.nan)])
def test_a_bound_that_is_not_finite_is_an_error(op: str, bound: float) -> None:
    assert _judge(0.5, op, bound)[0] is Outcome.ERROR


def test_a_violation_message_shows_a_value_distinct_from_its_bound() -> None:
    above = math.nextafter(0.7, 1.0)
    outcome, message = _judge(above, "<=", 0.7)
    assert outcome is F
    assert repr(above) in message, message


@pytest.mark.parametrize("bound", [math.inf, -math.inf, math.nan, "0.7", True])
def test_the_loader_refuses_a_bound_that_is_not_a_finite_number(bound: object) -> None:
    from apr_contracts.loader import threshold_problem

    problem = threshold_problem({"metric": "m", "op": "<=", "value": bound})
    assert problem is not None and "expected a" in problem
    assert threshold_problem({"metric": "m", "op": "<=", "value": 0.7}) is None
