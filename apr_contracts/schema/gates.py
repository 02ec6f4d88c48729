"""`qa_gate`, `verification_summary` and the governance blocks (`invariants`, `gates`, `references`)."""

from __future__ import annotations

from typing import Any

from apr_contracts.schema.common import Section, Text


class QaGate(Section):
    id: Text | None = None
    name: Text | None = None
    description: Text | None = None
    checks: list[Any] | None = None
    pass_criteria: Text | None = None
    falsification: Text | None = None
    min_coverage: float | int | None = None
    max_complexity: int | None = None
    required_tests: list[Any] | None = None


class VerificationSummary(Section):
    """Hand-written counters. `pv` never trusts them: PV-COUNT-* compares them with the
    computed counts, and the scoreboard derives status from evidence."""

    total_obligations: int | None = None
    proven: int | None = None
    tested: int | None = None
    status: Text | None = None
    notes: Text | None = None
    l2_property_tested: int | None = None
    l3_kani_proved: int | None = None
    l4_lean_proved: int | None = None
    l4_sorry_count: int | None = None
    l4_not_applicable: int | None = None
    lean_module: Text | None = None
    lean_files: list[Any] | None = None
    lean_proved_obligations: list[Any] | None = None
    mathlib_imports: bool | list[Any] | None = None
    obligation_classification: list[Any] | None = None


class Invariant(Section):
    id: Text | None = None
    description: Text | None = None
    falsifier: Text | None = None
    name: Text | None = None
    statement: Text | None = None
    formal: Text | None = None
    site: Text | list[Text] | None = None
    rationale: Text | None = None
    harness: Any = None


class Gate(Section):
    id: Text | None = None
    name: Text | None = None
    description: Text | None = None
    rule: Text | None = None
    check: Text | None = None
    evidence_required: Any = None
    evidence_discharged_by: list[Any] | Text | None = None
    verdict: Text | None = None
    binds_to: Any = None
    ship_blocking: bool | Text | None = None
    discharge_status: Text | None = None
    discharge_notes: Text | None = None
    severity: Text | None = None
    enforcement: Text | None = None
    invariant: Text | list[Text] | None = None
    falsification_id: Text | list[Text] | None = None
    consequence_if_violated: Text | None = None
    motivation: Text | None = None


class Reference(Section):
    id: Text | None = None
    citation: Text | None = None
    url: Text | None = None
    relevance: Text | None = None
