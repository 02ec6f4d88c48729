"""`--format json`: DESIGN.md's versioned shape, strictly standard JSON (no NaN/Infinity)."""

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


def render(board: Any) -> str:
    return dumps(board.to_dict())
