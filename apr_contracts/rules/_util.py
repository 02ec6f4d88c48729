"""Small helpers shared by the rule modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

_WS = re.compile(r"\s+")


def entries(c: LoadedContract, section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, entry) of the mapping entries of a list section; other shapes yield nothing."""
    value = c.raw.get(section)
    if isinstance(value, list):
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                yield i, entry


def section(c: LoadedContract, name: str) -> dict[str, Any]:
    value = c.raw.get(name)
    return value if isinstance(value, dict) else {}


def norm(text: Any) -> str:
    return _WS.sub(" ", str(text)).strip().lower()


def text_id(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
