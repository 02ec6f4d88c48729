"""Pydantic v2 models of contract files, one module per section."""

from apr_contracts.schema.common import Section
from apr_contracts.schema.contract import Contract, contract_json_schema
from apr_contracts.schema.equations import Equation
from apr_contracts.schema.falsification import FalsificationTest, LegacyFalsification
from apr_contracts.schema.gates import Gate, Invariant, QaGate, Reference, VerificationSummary
from apr_contracts.schema.metadata import ChangelogEntry, Metadata
from apr_contracts.schema.obligations import KaniHarness, LeanProof, ProofObligation

__all__ = [
    "ChangelogEntry",
    "Contract",
    "Equation",
    "FalsificationTest",
    "Gate",
    "Invariant",
    "KaniHarness",
    "LeanProof",
    "LegacyFalsification",
    "Metadata",
    "ProofObligation",
    "QaGate",
    "Reference",
    "Section",
    "VerificationSummary",
    "contract_json_schema",
]
