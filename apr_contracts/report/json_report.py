"""`--format json`: DESIGN.md's versioned shape, strictly standard JSON (no NaN/Infinity).

Nothing is abbreviated here: messages, counterexamples and tracebacks go out whole, whatever
their length (the text reporters may shorten them for people; tools read this).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """Standard-JSON-safe copy: non-finite floats as strings, unknown objects as repr."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def dumps(data: Any) -> str:
    return json.dumps(jsonable(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def with_details(row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a contract's dict) plus what JSON readers need in full and the dict leaves out.

    The scoreboard's dict has no traceback: an ERROR's traceback is added to its falsifier
    (the text and HTML reports leave it out or show its last lines).
    """
    for f, entry in zip(row.falsifiers, data.get("falsifiers", []), strict=True):
        entry.setdefault("traceback", f.traceback)
    return data


def render(board: Any) -> str:
    data = board.to_dict()
    for row, entry in zip(board.contracts, data["contracts"], strict=True):
        with_details(row, entry)
    return dumps(data)
