"""Execute one falsifier implementation in the current process and judge live thresholds.

This is the innermost step of `pv run` (the runner wraps it in a subprocess for
isolation) and of the pytest helper ``run_falsifier``. Whatever the plugin does,
the outcome is one of HELD, FALSIFIED, ERROR or SKIPPED: an exception is ERROR
with its traceback, never HELD or FALSIFIED.
"""

from __future__ import annotations

import math
import operator
import random
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.api import FalsifierSpec, RunContext, Skip, Verdict
from apr_contracts.outcomes import Level, Outcome

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class Execution:
    outcome: Outcome
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    counterexample: Any = None
    traceback: str = ""


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: float, bound: Any) -> str:
    """``value`` in 6 significant digits, or exactly when that would read as the bound itself."""
    short = f"{value:.6g}"
    return repr(value) if short == f"{bound:.6g}" and value != bound else short


def judge_thresholds(
    measured: Mapping[str, Any], thresholds: Sequence[Mapping[str, Any]]
) -> tuple[Outcome, str]:
    """Compare measured values with the contract's thresholds (the runner decides live verdicts).

    A threshold whose metric was not measured, or whose measured value or bound is not a
    finite number (a YAML string, a bool, ``.inf``, ``.nan``), is an ERROR of the check, not a
    pass: ``<= .inf`` could never fail and ``== .nan`` never hold.
    """
    failures: list[str] = []
    for threshold in thresholds:
        metric, op, bound = str(threshold.get("metric")), threshold.get("op"), threshold.get("value")
        if metric not in measured:
            return Outcome.ERROR, f"the plugin did not measure {metric!r} required by the contract's thresholds"
        value = measured[metric]
        if not _finite_number(value):
            return Outcome.ERROR, f"measured {metric}={value!r} is not a finite number"
        if not _finite_number(bound):
            return Outcome.ERROR, (f"the threshold on {metric} has bound {bound!r}, which is not a finite number; "
                                   "write a plain number in the contract")
        compare = _OPS.get(str(op))
        if compare is None:
            return Outcome.ERROR, f"unknown threshold operator {op!r} for {metric}"
        if not compare(value, bound):
            failures.append(f"{metric}={_shown(value, bound)} violates {metric} {op} {bound}")
    if failures:
        return Outcome.FALSIFIED, "; ".join(failures)
    shown = ", ".join(f"{t['metric']}={_shown(measured[t['metric']], t['value'])} {t['op']} {t['value']}"
                      for t in thresholds)
    return Outcome.HELD, shown


def _missing_module(spec: FalsifierSpec, exc: ModuleNotFoundError) -> Execution:
    """A declared optional dependency that vanished is SKIPPED; an undeclared one is the plugin's bug."""
    top = (exc.name or "").split(".")[0]
    for requirement in spec.requires:
        if requirement.module == top:
            return Execution(Outcome.SKIPPED, requirement.skip_reason())
    return Execution(
        Outcome.ERROR,
        f"{spec.id}: {spec.qualname} imports {exc.name!r}, which is not installed and not declared: "
        f"install it (python -m pip install {top.replace('_', '-')}) or, if it is optional, declare it "
        f"with @falsifier(..., requires=[Requirement({top!r}, install=...)]) so a missing copy is SKIPPED",
        traceback=traceback.format_exc(),
    )


def execute(
    spec: FalsifierSpec,
    *,
    engines: Mapping[str, Callable[[], Any]],
    workspace: Path,
    seed: int = 0,
    level: Level | None = None,
    params: Mapping[str, Any] | None = None,
    thresholds: Sequence[Mapping[str, Any]] = (),
    contract_file: Path | None = None,
) -> Execution:
    """Run ``spec`` once. Live verdicts are decided here from ``thresholds``, not by the plugin."""
    missing = spec.missing()
    if missing:
        return Execution(Outcome.SKIPPED, "; ".join(r.skip_reason() for r in missing))
    random.seed(seed)
    ctx = RunContext(
        falsifier_id=spec.id,
        workspace=workspace,
        seed=seed,
        level=level or spec.level,
        params=dict(params or {}),
        thresholds=list(thresholds),
        contract_file=contract_file,
        _engines=dict(engines),
    )
    try:
        verdict = spec.fn(ctx)
    except Skip as skip:
        return Execution(Outcome.SKIPPED, str(skip))
    except ModuleNotFoundError as exc:
        return _missing_module(spec, exc)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Execution(
            Outcome.ERROR,
            f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    if not isinstance(verdict, Verdict) or verdict.outcome not in (Outcome.HELD, Outcome.FALSIFIED):
        return Execution(
            Outcome.ERROR,
            f"{spec.id}: the implementation {spec.qualname} returned {verdict!r}; "
            "return ctx.held(...) or ctx.falsified(...)",
        )
    measured = dict(verdict.measured)
    if verdict.outcome is Outcome.FALSIFIED or not thresholds:
        return Execution(verdict.outcome, verdict.message, measured, verdict.counterexample)
    outcome, message = judge_thresholds(measured, thresholds)
    if verdict.message and verdict.message != "measured":
        message = f"{message} ({verdict.message})"
    return Execution(outcome, message, measured, verdict.counterexample)
