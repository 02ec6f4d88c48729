"""`metadata`: identity, version, authorship and history of a contract."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apr_contracts.schema.common import DateLike, Section, Text, Version


class ChangelogEntry(Section):
    """One changelog entry written as a mapping (``{version, date, change}``).

    Contracts also write entries as single strings ``"1.2.0 (2026-05-05): ..."``;
    those stay strings in :attr:`Metadata.changelog`.
    """

    version: Version | None = None
    date: DateLike | None = None
    change: Text | None = None
    changes: Text | list[Any] | None = None
    summary: Text | None = None
    author: Text | None = None


class Metadata(Section):
    id: Text | None = None
    kind: Text | None = None
    version: Version | None = None
    status: Text | None = None
    created: DateLike | None = None
    updated: DateLike | None = None
    author: Text | list[Text] | None = None
    description: Text | None = None
    registry: bool | Text | None = None
    references: list[Any] | None = None
    changelog: list[ChangelogEntry | Text] | None = None
    depends_on: list[Text] | Text | None = None
    peer_contracts: list[Text] | None = None
    parent_contracts: list[Text] | None = None
    scope: Text | None = None
    tags: list[Any] | None = None
    promoted_from: Text | None = None
    # book / corpus contracts (their metadata describes a chapter or a data set)
    title: Text | None = None
    part: Text | int | None = None
    example: Text | None = None
    arxiv_citations: list[Any] | None = None
    repo: Text | None = None
    purpose: Text | None = None
    language: Text | None = None
    domain: Text | None = None
    category: Text | None = None
    topic: Text | None = None
    name: Text | None = Field(default=None, description="human-readable name")
