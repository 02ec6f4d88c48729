"""`falsification_tests` (and the older `falsification` lists): how each claim could fail."""

from __future__ import annotations

from typing import Any

from apr_contracts.schema.common import Section, Text


class FalsificationTest(Section):
    """A falsifier entry. ``id``/``rule``/``prediction``/``if_fails`` are required by the
    rules (PV-TEST-001) rather than here, so that one incomplete entry produces a
    precise finding instead of failing the whole contract's model."""

    id: Text | None = None
    rule: Text | None = None
    prediction: Text | None = None
    test: Text | None = None
    if_fails: Text | None = None
    level: Text | None = None
    test_kind: Text | None = None
    thresholds: list[Any] | None = None
    params: dict[str, Any] | None = None
    status: Text | None = None
    invariant: Text | list[Text] | None = None
    site: Text | list[Text] | None = None
    binds_to: Any = None
    algorithm_evidence: list[Any] | Text | None = None
    ship_blocking: bool | Text | None = None
    counter_example_classes: list[Any] | None = None
    mutation: Text | None = None
    red_state: Text | None = None
    green_state: Text | None = None
    expected_exit_code: int | list[int] | Text | None = None
    expected_stderr_pattern: Text | None = None
    expected_stderr_not_pattern: Text | None = None
    dimensions: Any = None
    notes: Text | None = None


class LegacyFalsification(Section):
    """An entry of a `falsification:` list (governance and book contracts): a condition
    with a severity and an action, or a named procedure; usually without an id."""

    id: Text | None = None
    name: Text | None = None
    condition: Text | None = None
    severity: Text | None = None
    action: Text | None = None
    input: Text | None = None
    procedure: Text | None = None
    falsifier: Text | None = None
