"""`proof_obligations` and `kani_harnesses`."""

from __future__ import annotations

from typing import Any

from apr_contracts.schema.common import Section, Text


class LeanProof(Section):
    theorem: Text | None = None
    module: Text | None = None
    status: Text | None = None  # proved | sorry | wip | not-applicable
    depends_on: list[Text] | None = None
    mathlib_imports: list[Text] | None = None
    notes: Text | None = None


class ProofObligation(Section):
    """A property to prove or test. ``type`` is free text: real contracts use invariant,
    bound, equivalence, termination, liveness, precondition, safety, roundtrip, ... and
    a closed enum would reject them."""

    id: Text | None = None
    type: Text | None = None
    property: Text | None = None
    formal: Text | None = None
    applies_to: Text | list[Text] | None = None
    tolerance: float | int | Text | None = None
    lean: LeanProof | None = None
    prose: Text | bool | None = None
    parent_contract: Text | None = None
    rationale: Text | None = None


class KaniHarness(Section):
    id: Text | None = None
    obligation: Text | None = None
    property: Text | None = None
    bound: int | Text | None = None
    strategy: Text | None = None
    solver: Text | None = None
    harness: Text | None = None
    unwind: int | None = None
    notes: Any = None
