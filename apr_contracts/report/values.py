"""How measured values and counterexamples read in the md and html scoreboards.

A person reads these cells: ``26900.53019192282`` is noise there, so floats are rounded (the rule
is :func:`number`); the html page keeps the full value in a hover title, and ``--format json``
always keeps it. Counterexamples are compact JSON, cut to a length that fits beside a message.
"""

from __future__ import annotations

import json
import math
from typing import Any

from apr_contracts.report.json_report import jsonable

COUNTEREXAMPLE_CHARS = 80  # beside a message in a table cell; the html title holds the rest
ELLIPSIS = "\u2026"
DASH = "\u2014"


def number(value: Any) -> str:
    """A number as a reader wants it: integers intact, floats to 4 significant digits.

    ``2.0`` -> ``2``; ``0.123456`` -> ``0.1235``; ``1.5e-07`` -> ``1.5e-07``; from 1000 up, where
    4 significant digits would switch to exponents (``2.69e+04``), one decimal instead:
    ``26900.53019192282`` -> ``26900.5``. Non-finite floats read ``inf``, ``-inf``, ``nan``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if 1000 <= abs(value) < 1e15:
        return f"{value:.1f}"
    return f"{value:.4g}"


def compact_json(value: Any, *, rounded: bool = False) -> str:
    """One-line standard JSON of ``value`` (non-finite floats as strings); floats by :func:`number` if ``rounded``."""
    data = jsonable(value)
    if not rounded:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _rounded_json(data)


def _rounded_json(data: Any) -> str:
    if isinstance(data, float):
        return number(data)  # jsonable() turned non-finite floats into strings already
    if isinstance(data, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_rounded_json(v)}" for k, v in data.items()) + "}"
    if isinstance(data, list):
        return "[" + ",".join(_rounded_json(v) for v in data) + "]"
    return json.dumps(data, ensure_ascii=False)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def counterexample(f: Any, limit: int = COUNTEREXAMPLE_CHARS) -> tuple[str, str] | None:
    """(shown, full) compact JSON of the falsifier's counterexample, or None when it has none."""
    if f.counterexample is None:
        return None
    full = compact_json(f.counterexample)
    return truncate(full, limit), full


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def measured_vs_thresholds(f: Any, *, full: bool = False) -> str:
    """``metric=value (need OP X)`` per threshold, then the other measured values; rounded unless ``full``."""

    def show(value: Any) -> str:
        if full:
            return repr(value) if isinstance(value, float) else compact_json(value)
        return number(value) if _is_number(value) else compact_json(value, rounded=True)

    metrics = {t.get("metric") for t in f.thresholds}
    parts = []
    for t in f.thresholds:
        got = f.measured.get(t.get("metric"))
        parts.append(f"{t.get('metric')}={DASH if got is None else show(got)} (need {t.get('op')} {number(t.get('value'))})")
    parts.extend(f"{k}={show(v)}" for k, v in f.measured.items() if k not in metrics)
    return "; ".join(parts)
