"""Live evidence a contract cannot use: a bound stated only in prose never discharges, and pv says so.

Hand-written contracts often state a live bound in prose ("loss <= 6.0") on an entry with no
`level:` (so: algorithm) and no `thresholds:`. The runner never reads prose, so such evidence
cannot discharge the contract; the scoreboard names every such falsifier and the fix, and the
fix (`level: live` + machine-readable `thresholds:`) really discharges it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.status import (
    FalsifierEvidence,
    Observation,
    Status,
    derive_status,
    discharge_blocker,
    why,
)

PLUGIN = '''
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-PROSE-001")
def plain(ctx):
    return ctx.held("an algorithm-level check")

@falsifier("FALSIFY-PROSE-002", level="live")
def measures(ctx):
    return ctx.held("init loss 2.29 is below the prose bound 6.0", measured={"init_loss": 2.29, "gap": 8.66})

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="prose-v1")
'''

LIVE = Observation(Outcome.HELD, Level.LIVE, {"init_loss": 2.29})
THRESHOLD = {"metric": "init_loss", "op": "<=", "value": 6.0}


def test_live_evidence_on_a_prose_entry_is_named_and_cannot_discharge() -> None:
    algo = FalsifierEvidence("F-1", Level.ALGORITHM, Observation(Outcome.HELD, Level.ALGORITHM))
    prose = FalsifierEvidence("F-2", Level.ALGORITHM, LIVE)
    assert discharge_blocker(algo) is None
    blocker = discharge_blocker(prose)
    assert blocker is not None
    assert "init_loss" in blocker and "algorithm level" in blocker and "`level: live`" in blocker
    assert derive_status([algo, prose]) is Status.FUNCTIONAL
    assert "F-2 measured at live level" in why([algo, prose])


def test_the_blocker_clears_exactly_when_thresholds_are_machine_readable_and_measured() -> None:
    no_thresholds = FalsifierEvidence("F", Level.LIVE, LIVE)
    assert "declares no `thresholds:`" in (discharge_blocker(no_thresholds) or "")
    unmeasured = FalsifierEvidence("F", Level.LIVE, LIVE, thresholds=[THRESHOLD, {"metric": "gap", "op": ">=",
                                                                                "value": 3.0}])
    assert "gap" in (discharge_blocker(unmeasured) or "")
    complete = FalsifierEvidence("F", Level.LIVE, LIVE, thresholds=[THRESHOLD])
    assert discharge_blocker(complete) is None
    algo = FalsifierEvidence("A", Level.ALGORITHM, Observation(Outcome.HELD, Level.ALGORITHM))
    assert derive_status([algo, complete]) is Status.DISCHARGED
    # Not held, or not live: nothing to say (other explanations cover those).
    assert discharge_blocker(FalsifierEvidence("F", Level.ALGORITHM, Observation(Outcome.FALSIFIED, Level.LIVE))) is None


def _contract(path: Path, live_entry: str) -> Path:
    path.write_text(
        "metadata:\n  id: prose-v1\n  version: 1.0.0\n  description: d\nfalsification_tests:\n"
        "- id: FALSIFY-PROSE-001\n  rule: r\n  prediction: p\n  if_fails: f\n"
        "- id: FALSIFY-PROSE-002\n  rule: init loss\n  prediction: init loss <= 6.0 (in prose)\n  if_fails: f\n"
        + live_entry, encoding="utf-8")
    return path


def test_scoreboard_names_the_prose_falsifier_and_the_yaml_fix_discharges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "proseplug.py").write_text(PLUGIN)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    contract = _contract(tmp_path / "prose-v1.yaml", "")
    db = str(tmp_path / "ev.sqlite")
    assert pv(["run", str(contract), "-p", "proseplug", "--level", "all", "--evidence", db]) == 0
    capsys.readouterr()
    pv(["scoreboard", str(contract), "-p", "proseplug", "--evidence", db, "--format", "json"])
    row = json.loads(capsys.readouterr().out)["contracts"][0]
    assert row["derived_status"] == "FUNCTIONAL"
    by_id = {f["id"]: f for f in row["falsifiers"]}
    assert by_id["FALSIFY-PROSE-001"]["cannot_discharge"] is None
    assert "no machine-readable thresholds" in by_id["FALSIFY-PROSE-002"]["cannot_discharge"]
    pv(["scoreboard", str(contract), "-p", "proseplug", "--evidence", db, "--format", "text"])
    assert "cannot discharge: measured at live level (gap, init_loss)" in " ".join(capsys.readouterr().out.split())

    # The documented addition: level live + thresholds on the measured metrics.
    _contract(contract, "  level: live\n  thresholds:\n  - metric: init_loss\n    op: <=\n    value: 6.0\n"
                        "  - metric: gap\n    op: '>='\n    value: 3.0\n")
    assert pv(["run", str(contract), "-p", "proseplug", "--level", "all", "--evidence", db]) == 0
    capsys.readouterr()
    pv(["scoreboard", str(contract), "-p", "proseplug", "--evidence", db, "--format", "json"])
    row = json.loads(capsys.readouterr().out)["contracts"][0]
    assert row["derived_status"] == "DISCHARGED", row["reason"]
    assert all(f["cannot_discharge"] is None for f in row["falsifiers"])
