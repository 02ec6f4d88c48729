"""Acceptance files: products, their acceptance criteria, and what evidence each criterion needs.

An acceptance file is recognized by its top-level ``acceptance:`` header (and is not a
contract: a file with contract sections stays a contract). Release readiness is decided
here, one level above contracts: a criterion is met only by executed evidence for the
falsifiers it needs (``pv ship``), never by a hand-typed status. The optional ``status:``
block of a product is the reference team's hand-typed ``{count, of, ids}`` claim; pv
checks it (PV-ACCEPT-*) and reports where it drifts from the evidence.

Like contract sections, these models keep unknown keys (``extra="allow"``): an unknown
key is a PV-SCHEMA-003 finding with a suggestion, not a refused file.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apr_contracts.schema.common import Section, Text, Version


class AcceptanceHeader(Section):
    """``acceptance:``: which document this is."""

    id: Text = Field(min_length=1, description="stable id of the acceptance document")
    version: Version | None = None
    title: Text | None = None
    description: Text | None = None
    owner: Text | None = None


class StatusClaim(Section):
    """A hand-typed ``{count, of, ids}``: how many criteria of the product someone says are met."""

    count: int = Field(ge=0, description="criteria claimed met")
    of: int = Field(ge=0, description="criteria of the product")
    ids: list[Text] = Field(default_factory=list, description="the criteria claimed met")
    as_of: Text | None = None
    notes: Text | None = None


class Criterion(Section):
    """One acceptance criterion: met when every falsifier it needs is HELD at its required level."""

    id: Text = Field(min_length=1, description="criterion id; contracts point at it with `binds_to:`")
    title: Text | None = None
    description: Text | None = None
    weight: float = Field(default=1, gt=0, description="share of the product's ship-% (default 1)")
    falsifiers: list[Text] = Field(default_factory=list, description="falsifier ids this criterion needs")
    contracts: list[Text] = Field(default_factory=list,
                                  description="contract ids whose every falsifier this criterion needs")
    live: bool = Field(default=False, description="met only with live-level evidence (a live falsifier HELD)")
    notes: Text | None = None


class Product(Section):
    """A product or model that ships when its criteria are met."""

    id: Text = Field(min_length=1)
    title: Text | None = None
    description: Text | None = None
    criteria: list[Criterion] = Field(min_length=1)
    status: StatusClaim | None = Field(default=None, description="hand-typed claim, checked against the evidence")


class AcceptanceFile(Section):
    """The root of an acceptance file, the model `pv schema --kind acceptance` prints."""

    acceptance: AcceptanceHeader
    products: list[Product] = Field(min_length=1)




def acceptance_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of :class:`AcceptanceFile`."""
    schema = AcceptanceFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "apr-contracts acceptance file"
    schema["description"] = (
        "Products with acceptance criteria; each criterion names the falsifiers (or whole contracts) "
        "whose executed evidence meets it. `pv ship` derives criterion status and ship-% from the evidence."
    )
    return schema


__all__ = ["AcceptanceFile", "AcceptanceHeader", "Criterion", "Product", "StatusClaim",
           "acceptance_json_schema"]
