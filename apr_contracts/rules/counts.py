"""PV-COUNT-*: hand-written counters that disagree with what the contract actually contains."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from apr_contracts.rules._util import section
from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract


def _count(c: LoadedContract, key: str, actual: int, what: str) -> Iterator[Finding]:
    declared = section(c, "verification_summary").get(key)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared != actual:
        yield Finding(("verification_summary", key), f"verification_summary.{key} is {declared} but the contract has {actual} {what}",
                      "counts are computed by pv (`pv scoreboard`); delete the hand-written one or fix it")


def total_obligations(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    obligations = c.raw.get("proof_obligations")
    yield from _count(c, "total_obligations", len(obligations) if isinstance(obligations, list) else 0, "proof obligations")


def tested(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    yield from _count(c, "tested", len(c.falsifiers), "falsifiers")


W = Severity.WARNING
RULES = (
    Rule("PV-COUNT-001", "total_obligations disagrees with proof_obligations", W,
         "`verification_summary.total_obligations` differs from the number of entries in `proof_obligations`.",
         check=total_obligations),
    Rule("PV-COUNT-002", "tested disagrees with the falsifiers", W,
         "`verification_summary.tested` differs from the number of falsifiers with an id.", check=tested),
)
