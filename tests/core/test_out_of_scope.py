"""OUT_OF_SCOPE: a plugin says a falsifier of someone else's contract does not apply here, and why."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.evidence import EvidenceStore
from apr_contracts.evidence_schema import MIGRATIONS, SCHEMA_VERSION
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.registry import FalsifierRegistry, RegistryError
from apr_contracts.results import Result

PLUGIN = '''
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-OOS-001")
def holds(ctx):
    return ctx.held()

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="oos-v1")
    registry.declare_out_of_scope("FALSIFY-OOS-002", contract="oos-v1", reason="needs the other project's book build, which these engines lack")
'''


def test_declaring_needs_a_reason_and_one_owner() -> None:
    registry = FalsifierRegistry(current_plugin="mine")
    registry.declare_out_of_scope("FALSIFY-X-001", "  a CUDA-only\\n claim ", contract="x-v1")
    assert registry.out_of_scope[("x-v1", "FALSIFY-X-001")].reason == "a CUDA-only\\n claim"
    with pytest.raises(RegistryError, match="already declared out of scope"):
        registry.declare_out_of_scope("FALSIFY-X-001", "again", contract="x-v1")
    with pytest.raises(RegistryError, match="needs a reason"):
        registry.declare_out_of_scope("FALSIFY-X-002", "  ", contract="x-v1")


def test_an_out_of_scope_id_is_shown_with_its_reason_and_never_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "oosplug.py").write_text(PLUGIN)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    entries = "".join(f"- id: FALSIFY-OOS-00{n}\n  rule: r\n  prediction: p\n  if_fails: f\n" for n in (1, 2, 3))
    contract = tmp_path / "oos-v1.yaml"
    contract.write_text("metadata:\n  id: oos-v1\n  version: 1.0.0\n  description: d\nfalsification_tests:\n" + entries)
    db = str(tmp_path / "ev.sqlite")
    assert pv(["run", str(contract), "-p", "oosplug", "--evidence", db, "--format", "json"]) == 0
    results = {r["falsifier_id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert results["FALSIFY-OOS-002"]["outcome"] == "OUT_OF_SCOPE"
    assert "book build" in results["FALSIFY-OOS-002"]["message"]
    assert results["FALSIFY-OOS-002"]["plugin"] == "oosplug"
    assert results["FALSIFY-OOS-003"]["outcome"] == "NOT_BOUND"  # nobody looked at this one
    pv(["scoreboard", str(contract), "-p", "oosplug", "--evidence", db, "--format", "json"])
    board = json.loads(capsys.readouterr().out)["contracts"][0]
    assert board["derived_status"] == "PARTIAL_ALGORITHM_LEVEL"  # out of scope never counts as held
    labels = {f["id"]: f["label"] for f in board["falsifiers"]}
    assert labels["FALSIFY-OOS-002"] == "OUT_OF_SCOPE"
    # Drift names only the id nobody looked at; a declared one has an owner and a reason.
    assert [d for d in board["drift"] if d.startswith("no implementation")] == [
        "no implementation registered for FALSIFY-OOS-003"]
    pv(["status", str(contract), "-p", "oosplug", "--evidence", db])
    assert "out of scope: needs the other project's book build" in capsys.readouterr().out


def test_a_v4_database_migrates_to_v5_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v4.sqlite"
    conn = sqlite3.connect(path)
    for version in range(1, 5):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO runs (started_at, command) VALUES ('2026-01-01', 'pv run')")
    conn.execute("INSERT INTO results (run_id, recorded_at, contract_id, claim_hash, falsifier_id, required_level,"
                 " outcome, fingerprint) VALUES (1, '2026-01-01', 'c-v1', 'h', 'F-1', 'algorithm', 'HELD', 'fp')")
    conn.commit()
    conn.close()
    store = EvidenceStore(path)
    assert store.schema_version == SCHEMA_VERSION == max(MIGRATIONS)
    kept = store.results_for("c-v1")[0].result
    assert (kept.outcome, kept.fingerprint) == (Outcome.HELD, "fp")
    store.record(1, Result(contract_id="c-v1", contract_file="", contract_version=None, falsifier_id="F-2",
                           claim_hash="h2", required_level=Level.ALGORITHM, level=None,
                           outcome=Outcome.OUT_OF_SCOPE, message="out of scope: why"))
    assert store.results_for("c-v1")[-1].outcome is Outcome.OUT_OF_SCOPE
    assert store.integrity_check() == "ok"


def test_pv_plugins_lists_the_declarations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its own module name: an earlier test of this file imported `oosplug` from another folder.
    (tmp_path / "oosplug_scoped.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert pv(["plugins", "-p", "oosplug_scoped", "--format", "json"]) == 0
    mine = next(p for p in json.loads(capsys.readouterr().out)["plugins"] if p["name"] == "oosplug_scoped")
    assert mine["out_of_scope"] == [{"id": "FALSIFY-OOS-002", "contract": "oos-v1",
                                     "reason": "needs the other project's book build, which these engines lack"}]
