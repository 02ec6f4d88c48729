"""Linked test cases → evidence results (`pv evidence import`, `pytest --pv-evidence`).

Outcome of a falsifier linked to several cases: FALSIFIED if any failed (the first failure's
message is the counterexample), else ERROR if any errored (a JUnit ``<error>``: the test could not
run), else SKIPPED if any was skipped, else HELD. A test reports at the level its contract entry
declares for it (``test_kind: integration`` → integration, anything else → algorithm) and never
at live level unless measured values were judged against the contract's thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from apr_contracts.claims import claim_hash
from apr_contracts.execute import judge_thresholds
from apr_contracts.hashing import sha256_file
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.results import Result
from apr_contracts.testevidence.cases import CaseOutcome, TestCase
from apr_contracts.testevidence.link import Link

MAX_COUNTEREXAMPLE = 4000  # characters of failure text kept per result


def test_level(entry: Any) -> Level:
    """The level a test's evidence counts at: never live (that needs judged thresholds)."""
    return Level.INTEGRATION if Level(entry.level) is not Level.ALGORITHM else Level.ALGORITHM


def verdict(cases: Sequence[TestCase]) -> tuple[Outcome, str, Any]:
    """(outcome, message, counterexample) of a falsifier linked to ``cases``."""
    failed = [c for c in cases if c.outcome is CaseOutcome.FAILED]
    errors = [c for c in cases if c.outcome is CaseOutcome.ERROR]
    skipped = [c for c in cases if c.outcome is CaseOutcome.SKIPPED]
    if failed:
        first = failed[0]
        last = first.details.strip().splitlines()[-1] if first.details.strip() else ""
        text = first.message or last or "failed"
        counter = {"test": first.label, "message": first.message, "output": first.details[:MAX_COUNTEREXAMPLE]}
        return Outcome.FALSIFIED, f"{len(failed)} of {len(cases)} test case(s) failed: {first.label}: {text}", counter
    if errors:
        return Outcome.ERROR, f"{errors[0].label} could not run: {errors[0].message or 'error'}", None
    if skipped:
        return Outcome.SKIPPED, f"{skipped[0].label} skipped: {skipped[0].message or 'skipped'}", None
    return Outcome.HELD, f"{len(cases)} test case(s) passed: " + ", ".join(c.label for c in cases[:5]) + (
        " ..." if len(cases) > 5 else ""), None


def result_for(link: Link, *, source: str, tree_state: str | None, tree_root: str | None,
               reports: dict[str, str]) -> Result:
    """The result ``link`` records. ``reports``: report file -> its sha256."""
    contract, entry = link.contract, link.entry
    cases = link.cases
    measured: dict[str, float] = {}
    for case in cases:
        measured.update(case.measured)
    level = test_level(entry)
    if link.unmatched:
        outcome, message, counter = (Outcome.ERROR, f"its test: reference {', '.join(link.unmatched)} matches no "
                                     "test case in the imported report(s); fix the reference or run that test", None)
    else:
        outcome, message, counter = verdict(cases)
    thresholds = [dict(t) for t in (entry.thresholds or [])]
    if outcome is Outcome.HELD and thresholds and all(str(t.get("metric")) in measured for t in thresholds):
        # The runner's rule for plugin measurements, applied to what the test recorded.
        outcome, message = judge_thresholds(measured, thresholds)
        level = Level.LIVE if Level(entry.level) is Level.LIVE else level
    elif outcome is Outcome.HELD and Level(entry.level) is Level.LIVE:
        message += (f"; held at {level.value} level only: the test did not measure "
                    + ", ".join(sorted({str(t.get('metric')) for t in thresholds} - set(measured)) or ["metrics"])
                    + " for the contract's thresholds")
    used = sorted({c.report for c in cases})
    provenance = {
        "link": link.how,
        "reports": [{"file": r, "sha256": reports.get(r, "")} for r in used] or
                   [{"file": r, "sha256": s} for r, s in sorted(reports.items())],
        "tests": [{"name": c.label, "outcome": c.outcome.value, "duration_s": c.duration_s} for c in cases],
    }
    if link.unmatched:
        provenance["unmatched"] = list(link.unmatched)
    try:
        contract_sha = sha256_file(Path(contract.path))
    except OSError:
        contract_sha = ""
    return Result(
        contract_id=str(contract.id), contract_file=str(contract.path), contract_version=contract.version,
        falsifier_id=str(entry.id), claim_hash=claim_hash(contract, entry), required_level=Level(entry.level),
        level=level, outcome=outcome, message=message, measured=measured, thresholds=thresholds,
        counterexample=counter, traceback="", duration_s=round(sum(c.duration_s for c in cases), 4),
        plugin=f"pv-{source}", contract_sha256=contract_sha, source=source, provenance=provenance,
        tree_state=tree_state, tree_root=tree_root,
    )
