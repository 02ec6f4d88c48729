"""A run with a non-default engine (`pv run --engine KIND=NAME`) is a conformance run: recorded
apart, shown and diffable, never current evidence for status, scoreboard or ship-% unless
`--count-as-evidence` says so."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.evidence import EvidenceStore

CONTRACT = """\
metadata:
  id: doubler-v1
  version: 1.0.0
  description: A doubler doubles.
falsification_tests:
- id: FALSIFY-DOUBLER-001
  rule: The doubler doubles.
  prediction: double(21) == 42
  if_fails: Nothing downstream doubles.
  level: algorithm
"""

ACCEPTANCE = """\
acceptance: {id: doubler-ship, version: 0.1.0, title: Doubler release}
products:
- id: DOUBLER
  title: The doubler
  criteria:
  - {id: AC-1, title: it doubles, falsifiers: [FALSIFY-DOUBLER-001]}
"""

PLUGIN = """\
import sys
from apr_contracts import falsifier, hookimpl

class Doubler:
    def double(self, x):
        return 2 * x

class Triples(Doubler):
    '''Triples instead of doubling.'''
    def double(self, x):
        return 3 * x

@falsifier("FALSIFY-DOUBLER-001", contract="doubler-v1", engines=["doubler"])
def doubles(ctx):
    got = ctx.engine("doubler").double(21)
    return ctx.held() if got == 42 else ctx.falsified(f"double(21) gave {got}, not 42")

@hookimpl
def apr_register_engines(registry):
    registry.add("doubler", "plain", Doubler, default=True)
    registry.add("doubler", "broken-triples", Triples, mutant=True)

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "doubler"
    (root / "specs").mkdir(parents=True)
    (root / "doublerplug").mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "doubler"\n\n[tool.pv]\npaths = ["specs"]\nplugins = ["doublerplug.plugin"]\n'
        "builtins = false\n")
    (root / "specs" / "doubler-v1.yaml").write_text(CONTRACT)
    (root / "specs" / "ship.yaml").write_text(ACCEPTANCE)
    (root / "doublerplug" / "__init__.py").write_text("")
    (root / "doublerplug" / "plugin.py").write_text(PLUGIN)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    return root


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = pv(list(argv))
    return code, json.loads(capsys.readouterr().out)


def _ship(capsys: pytest.CaptureFixture[str]) -> object:
    code, board = _json(capsys, "ship", "--format", "json")
    assert code in (0, 1)
    (product,) = board["products"]
    return product["ship_percent"]


def _run(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    return _json(capsys, "run", "--isolation", "none", "--no-progress", "--format", "json", *extra)


def test_a_mutant_run_is_recorded_apart_and_leaves_status_and_ship_unchanged(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, real = _run(capsys)
    assert code == 0 and real["conformance"] is None
    assert [r["outcome"] for r in real["results"]] == ["HELD"]
    ship_before = _ship(capsys)
    assert ship_before == 100.0

    code, broken = _run(capsys, "--engine", "doubler=broken-triples")
    assert code == 1  # the conformance run itself reports its finding
    assert broken["conformance"] == {"doubler": "broken-triples"}
    assert [r["outcome"] for r in broken["results"]] == ["FALSIFIED"]

    assert _ship(capsys) == ship_before  # ship-% unchanged
    code, status = _json(capsys, "status", "doubler-v1", "--format", "json")
    assert status["contract"]["falsifiers"][0]["outcome"] == "HELD"
    code, board = _json(capsys, "scoreboard", "--format", "json", "--fail-on", "drift")
    assert code == 0
    derived = status["contract"]["derived_status"]
    assert derived != "FALSIFIED" and [c["derived_status"] for c in board["contracts"]] == [derived]

    with EvidenceStore(project / ".pv" / "evidence.sqlite", create=False) as store:
        assert [r.id for r in store.runs()] == [real["run_id"]]  # history: runs of the default engines
        everything = store.runs(conformance=True)
        assert [(r.id, r.conformance) for r in everything] == [
            (real["run_id"], None), (broken["run_id"], {"doubler": "broken-triples"})]

    # Diffable: `latest` is the last run of the default engines, the conformance run is named by id.
    code, diff = _json(capsys, "diff", "latest", str(broken["run_id"]), "--format", "json")
    assert code == 0
    text = json.dumps(diff)
    assert "conformance run #" in text and "doubler=broken-triples" in text
    assert "FALSIFIED" in text and "HELD" in text


def test_the_text_report_says_a_conformance_run_is_not_evidence(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["run", "--isolation", "none", "--no-progress", "--engine", "doubler=broken-triples"]) == 1
    out = capsys.readouterr().out
    assert "conformance run #1 (doubler=broken-triples): recorded apart, not current evidence" in out
    assert "pv diff latest 1" in out


def test_naming_the_default_engine_is_no_conformance_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _run(capsys, "--engine", "doubler=plain")
    assert code == 0 and report["conformance"] is None


def test_count_as_evidence_makes_the_mutant_current(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys)[0] == 0
    ship_before = _ship(capsys)
    code, broken = _run(capsys, "--engine", "doubler=broken-triples", "--count-as-evidence")
    assert code == 1 and broken["conformance"] is None
    code, status = _json(capsys, "status", "doubler-v1", "--format", "json")
    assert status["contract"]["falsifiers"][0]["outcome"] == "FALSIFIED"
    assert _ship(capsys) != ship_before


def test_count_as_evidence_without_a_swapped_engine_is_a_usage_error(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["run", "--isolation", "none", "--no-progress", "--count-as-evidence"]) == 2
    assert "--count-as-evidence applies to a run with a non-default --engine" in capsys.readouterr().err


def test_merge_keeps_conformance_runs_apart(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys)
    _run(capsys, "--engine", "doubler=broken-triples")
    db = project / ".pv" / "evidence.sqlite"
    merged = project / "merged.sqlite"
    assert pv(["evidence", "merge", str(db), "--output", str(merged)]) == 0
    capsys.readouterr()
    with EvidenceStore(merged, create=False) as store:
        assert [r.conformance for r in store.runs(conformance=True)] == [None, {"doubler": "broken-triples"}]
        assert [s.outcome.value for s in store.results_for()] == ["HELD"]  # current evidence only
    rows = sqlite3.connect(merged).execute("SELECT count(*) FROM results").fetchone()[0]
    assert rows == 2
