"""The whole contract: the root model `pv schema` prints.

Four families share this model (see docs/rules.md): feature contracts
(`metadata` + `equations` + `falsification_tests` + `proof_obligations` + ...),
governance contracts (`contract_id`, `invariants`, `gates`), kernel contracts
(lean/kani ladders, `kernel_structure`, `simd_dispatch`, `enforcement`) and
book/corpus contracts (`contract`, `falsification` conditions).
"""

from __future__ import annotations

from typing import Any

from apr_contracts.schema.common import DateLike, Section, Text, Version
from apr_contracts.schema.equations import Equation
from apr_contracts.schema.falsification import FalsificationTest, LegacyFalsification
from apr_contracts.schema.gates import Gate, Invariant, QaGate, Reference, VerificationSummary
from apr_contracts.schema.metadata import Metadata
from apr_contracts.schema.obligations import KaniHarness, ProofObligation


class ContractHeader(Section):
    """``contract:`` written as a mapping (``{name: foo, version: 1.0.0, module: x, description: ...}``).

    Some teams keep their identity block there instead of under ``metadata``; the loader takes
    the contract id from ``name`` and the version from ``version`` when metadata has none.
    """

    name: Text | None = None
    version: Version | None = None
    module: Text | None = None
    description: Text | None = None
    status: Text | None = None


class Contract(Section):
    metadata: Metadata | None = None
    # identity outside metadata (governance and book families)
    contract_id: Text | None = None
    contract: Text | ContractHeader | None = None
    version: Version | None = None
    status: Text | None = None
    date: DateLike | None = None
    kind: Text | None = None
    name: Text | None = None
    scope: Text | None = None
    description: Text | None = None
    summary: Text | None = None
    motivation: Text | None = None
    # claims and their falsifiers
    equations: dict[str, Equation | None] | list[Equation] | None = None
    equations_extra: dict[str, Any] | None = None
    falsification_tests: list[FalsificationTest] | None = None
    falsification: list[LegacyFalsification] | None = None
    proof_obligations: list[ProofObligation] | None = None
    kani_harnesses: list[KaniHarness] | None = None
    qa_gate: QaGate | None = None
    verification_summary: VerificationSummary | None = None
    # governance blocks
    invariants: list[Invariant] | dict[str, Any] | None = None
    gates: list[Gate] | None = None
    references: list[Reference | Text] | None = None
    failure_modes: list[Any] | dict[str, Any] | None = None
    required_fields: list[Any] | None = None
    evidence_required: list[Any] | Text | None = None
    preconditions: list[Any] | None = None
    postconditions: list[Any] | None = None
    # kernel blocks
    kernel_structure: dict[str, Any] | None = None
    simd_dispatch: dict[str, Any] | None = None
    enforcement: dict[str, Any] | None = None
    entity: dict[str, Any] | None = None
    oracle_integration: dict[str, Any] | None = None


def contract_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of :class:`Contract`, for editors' YAML language servers."""
    schema = Contract.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "apr-contracts contract"
    schema.setdefault(
        "description",
        "A YAML contract: claims (equations), falsifiers that could refute them, proof obligations.",
    )
    return schema


__all__ = ["Contract", "ContractHeader", "contract_json_schema"]
