"""Which keys the contract models declare, to report the others (PV-SCHEMA-003).

The walk runs over the raw data against the models' declared keys (derived once from
the pydantic fields), not over the validated model: the same answer at a fraction of
the cost, and it also works when the model could not be built (wrong types elsewhere).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apr_contracts.schema.common import Section
from apr_contracts.schema.contract import Contract

PathKey = tuple[str | int, ...]
# difflib ratio above which an unknown key is taken for a typo of a declared one: one or two
# letters off in a word of 6+ letters pass, unrelated custom keys (x-owner, team) do not.
SUGGEST_CUTOFF = 0.8


@dataclass(frozen=True)
class _Shape:
    """Which keys a section model declares, and the models of its nested sections."""

    keys: frozenset[str]
    direct: dict[str, type[Section]]  # key -> model when the value is a mapping
    items: dict[str, type[Section]]  # key -> model of mapping items when the value is a list
    values: dict[str, type[Section]]  # key -> model of the values when the value is a mapping of sections


_SHAPES: dict[type[Section], _Shape] = {}


def _section_types(annotation: Any) -> tuple[set[type[Section]], set[type[Section]], set[type[Section]]]:
    direct: set[type[Section]] = set()
    items: set[type[Section]] = set()
    values: set[type[Section]] = set()
    # A union's members one by one; anything else (a bare `list[Product]`) as the one member.
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    for arg in typing.get_args(annotation) if union else (annotation,):
        origin = typing.get_origin(arg)
        inner = [a for a in typing.get_args(arg) if isinstance(a, type) and issubclass(a, Section)]
        inner += [b for a in typing.get_args(arg) for b in typing.get_args(a) if isinstance(b, type) and issubclass(b, Section)]
        if isinstance(arg, type) and issubclass(arg, Section):
            direct.add(arg)
        elif origin is list:
            items.update(inner)
        elif origin is dict:
            values.update(inner)
    return direct, items, values


def _shape(model: type[Section]) -> _Shape:
    shape = _SHAPES.get(model)
    if shape is None:
        direct, items, values = {}, {}, {}
        for name, info in model.model_fields.items():
            key = info.alias or name
            d, i, v = _section_types(info.annotation)
            if d:
                direct[key] = next(iter(d))
            if i:
                items[key] = next(iter(i))
            if v:
                values[key] = next(iter(v))
        shape = _SHAPES[model] = _Shape(frozenset(info.alias or n for n, info in model.model_fields.items()),
                                        direct, items, values)
    return shape


def unknown_keys(raw: dict[str, Any], model: type[Section] = Contract, where: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """(path of the section, key) for every key its section model does not declare."""
    for path, key, _suggestion in unknown_keys_with_suggestions(raw, model, where):
        yield path, key


def unknown_keys_with_suggestions(
    raw: dict[str, Any], model: type[Section] = Contract, where: PathKey = (),
) -> Iterator[tuple[PathKey, str, str | None]]:
    """Like :func:`unknown_keys`, plus the declared key of that same section it most resembles.

    ``metdata`` -> ``metadata``, ``falsification_test`` -> ``falsification_tests``; a key that
    resembles none (a team's own ``x-owner``) gets None: custom keys are allowed, only typos hinted.
    """
    shape = _shape(model)
    for key, value in raw.items():
        if key not in shape.keys:
            close = difflib.get_close_matches(str(key), sorted(shape.keys), n=1, cutoff=SUGGEST_CUTOFF)
            yield where, key, close[0] if close else None
            continue
        if isinstance(value, dict):
            if key in shape.direct:
                yield from unknown_keys_with_suggestions(value, shape.direct[key], (*where, key))
            elif key in shape.values:
                sub = shape.values[key]
                for name, item in value.items():
                    if isinstance(item, dict):
                        yield from unknown_keys_with_suggestions(item, sub, (*where, key, name))
        elif isinstance(value, list) and key in shape.items:
            sub = shape.items[key]
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from unknown_keys_with_suggestions(item, sub, (*where, key, i))
