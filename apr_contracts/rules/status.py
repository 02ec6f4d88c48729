"""PV-STATUS-*, PV-DRIFT-002: declared status words, and declarations that contradict each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apr_contracts.rules._util import entries, section
from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

# The known words (case-insensitive) with their rung on the status ladder, used to tell
# whether two declarations in one file agree. Words on the same rung agree.
STATUS_RANK: dict[str, int] = {
    "FALSIFIED": 0,
    "PROPOSED": 1, "DRAFT": 1, "PENDING": 1,
    "PARTIAL": 2, "PARTIAL_ALGORITHM_LEVEL": 2, "PARTIAL_OPERATIONAL_PENDING": 2,
    "FUNCTIONAL": 3, "ACTIVE": 3, "ENFORCED": 3, "TESTED": 3,
    "DISCHARGED": 4, "DISCHARGED_UNIT": 4, "DISCHARGED_BY_CONSTRUCTION": 4,
}


def _word(value: Any) -> str | None:
    return value.strip().upper().replace("-", "_").replace(" ", "_") if isinstance(value, str) else None


def _declarations(c: LoadedContract) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if "status" in c.metadata:
        yield ("metadata", "status"), c.metadata["status"]
    if "status" in c.raw:
        yield ("status",), c.raw["status"]
    vs = section(c, "verification_summary")
    if "status" in vs:
        yield ("verification_summary", "status"), vs["status"]


def unknown_word(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    places = list(_declarations(c))
    places += [(("falsification_tests", i, "status"), e["status"]) for i, e in entries(c, "falsification_tests") if "status" in e]
    places += [(("gates", i, "discharge_status"), e["discharge_status"]) for i, e in entries(c, "gates") if "discharge_status" in e]
    for path, value in places:
        word = _word(value)
        if word not in STATUS_RANK:
            yield Finding(path, f"status {value!r} is not a known status word",
                          "use one of: " + ", ".join(sorted(STATUS_RANK)))


def disagree(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    known = [(p, v) for p, v in _declarations(c) if _word(v) in STATUS_RANK]
    ranks = {STATUS_RANK[_word(v) or ""] for _, v in known}
    if len(ranks) > 1:
        shown = "; ".join(f"{'.'.join(map(str, p))}: {v}" for p, v in known)
        yield Finding(known[-1][0], f"declared statuses disagree: {shown}",
                      "a contract's status is derived from evidence (`pv status`); keep at most one declaration, and true")


def hand_written(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for path, value in _declarations(c):
        yield Finding(path, f"status {value!r} is written by hand", "remove it: pv derives status from evidence")
    if "verification_summary" in c.raw:
        yield Finding(("verification_summary",), "verification_summary holds hand-written counts",
                      "remove it: `pv scoreboard` computes these from evidence", key=True)


def gate_pass_pending(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, gate in entries(c, "gates"):
        verdict, discharge = _word(gate.get("verdict")), _word(gate.get("discharge_status"))
        if verdict in ("PASS", "PASSED") and discharge in STATUS_RANK and STATUS_RANK[discharge] < 3:
            yield Finding(("gates", i, "verdict"), f"gate {gate.get('id', i)} says verdict: pass while discharge_status is {gate['discharge_status']}",
                          "a gate whose evidence has not landed cannot have passed")


W = Severity.WARNING
RULES = (
    Rule("PV-STATUS-001", "unknown status word", W,
         "A status outside the known vocabulary (case-insensitive): " + ", ".join(sorted(STATUS_RANK)) + ". "
         "Checked in metadata.status, the top-level status, verification_summary.status, falsifier status and "
         "gate discharge_status.", check=unknown_word),
    Rule("PV-STATUS-002", "declared statuses disagree", W,
         "metadata.status, the top-level status and verification_summary.status name different rungs of the "
         "ladder (FALSIFIED < PROPOSED/DRAFT/PENDING < PARTIAL* < FUNCTIONAL/ACTIVE/ENFORCED/TESTED < DISCHARGED*).",
         check=disagree),
    Rule("PV-STATUS-003", "status or counts written by hand", W,
         "Under --strict (this project's own contracts): no `status` and no `verification_summary`. "
         "Status is derived from evidence, never declared.", check=hand_written, strict_only=True),
    Rule("PV-DRIFT-002", "gate passed with its evidence pending", W,
         "A gate with `verdict: pass` whose `discharge_status` is below FUNCTIONAL (PENDING, PROPOSED, PARTIAL...).",
         check=gate_pass_pending),
)
