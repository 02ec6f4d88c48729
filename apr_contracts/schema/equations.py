"""`equations`: the claims in mathematical form, by name (or a list keyed by id/name)."""

from __future__ import annotations

from typing import Any

from apr_contracts.schema.common import Section, Text


class Equation(Section):
    """An equation. Governance contracts key equations ``EQ-...`` with ``name``/``latex``
    and no ``formula``, so no field is required."""

    formula: Text | None = None
    domain: Text | None = None
    codomain: Text | None = None
    invariants: list[Any] | dict[str, Any] | Text | None = None
    preconditions: list[Any] | Text | None = None
    postconditions: list[Any] | Text | None = None
    guarantees: Any = None
    lean_theorem: Text | None = None
    description: Text | None = None
    id: Text | None = None
    name: Text | None = None
    latex: Text | None = None
    runtime_check: Text | None = None
    notes: Text | None = None
