"""Issue 17 end to end: tests a team already runs as evidence (JUnit / libtest import, the pytest
marker, `pv run --allow-test-commands`), over the fixture pair of tests/testevidence/projects.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.cli import main
from tests.testevidence.projects import python_project, rust_project

REPO = Path(__file__).resolve().parents[2]
cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo (rustup.rs)")


def pv(monkeypatch: pytest.MonkeyPatch, cwd: Path, *argv: str, capsys: Any) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    code = main(list(argv))
    return code, capsys.readouterr().out


def board(monkeypatch: pytest.MonkeyPatch, cwd: Path, capsys: Any) -> dict[str, dict[str, Any]]:
    _, out = pv(monkeypatch, cwd, "scoreboard", "--format", "json", capsys=capsys)
    data = json.loads(out)
    return {c["id"]: {"status": c["derived_status"], **{f["id"]: f for f in c["falsifiers"]}} for c in data["contracts"]}


def run_pytest(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{project}", "PV_EVIDENCE": ""}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
                          cwd=project, capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def pylib(tmp_path: Path) -> Path:
    project = python_project(tmp_path)
    done = run_pytest(project, "--junitxml=report.xml")
    assert done.returncode == 1, done.stdout + done.stderr  # test_mul_small fails: the library's bug
    return project


def test_junit_import_links_every_way(pylib: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    code, out = pv(monkeypatch, pylib, "evidence", "import", "report.xml", capsys=capsys)
    assert code == 1  # FALSIFIED, and a test: reference matching nothing
    assert "matches no test case" in out and "tests/test_calc.py::test_sub_exists" in out
    rows = board(monkeypatch, pylib, capsys)
    calc = rows["calc-v1"]
    assert calc["FALSIFY-CALC-001"]["label"] == "HELD"  # the marker
    assert calc["FALSIFY-CALC-002"]["label"] == "FALSIFIED"  # the test: node id, its assertion message
    assert "mul(2, 3) must be 6" in calc["FALSIFY-CALC-002"]["message"]
    assert "mul(2, 3) must be 6" in calc["FALSIFY-CALC-002"]["counterexample"]["message"]
    assert calc["FALSIFY-CALC-003"]["label"] == "HELD"  # the falsify_* convention
    assert calc["FALSIFY-CALC-003"]["implementation_level"] == "integration"  # test_kind: integration
    assert calc["FALSIFY-CALC-004"]["label"] == "ERROR"  # a test that does not exist: not HELD, reported
    assert calc["status"] == "FALSIFIED"
    speed = rows["speed-v1"]
    # a measured value meeting the live threshold: judged by the runner's rule, discharges
    assert speed["FALSIFY-SPEED-LIVE-001"]["implementation_level"] == "live"
    assert speed["FALSIFY-SPEED-LIVE-001"]["measured"] == {"ratio": 0.5}
    assert speed["status"] == "DISCHARGED"


def test_import_records_provenance(pylib: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from apr_contracts.evidence import EvidenceStore
    from apr_contracts.hashing import sha256_file

    pv(monkeypatch, pylib, "evidence", "import", "report.xml", capsys=capsys)
    stored = EvidenceStore(pylib / ".pv" / "evidence.sqlite").results_for("calc-v1", "FALSIFY-CALC-001")[-1].result
    assert stored.source == "import"
    assert stored.provenance["reports"][0]["sha256"] == sha256_file(pylib / "report.xml")
    assert stored.provenance["tests"][0]["name"] == "tests.test_calc.test_add_is_commutative"
    assert stored.tree_state is not None and stored.tree_state.startswith("git:")


def test_edit_without_rerun_makes_imported_evidence_stale(pylib: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: Any) -> None:
    pv(monkeypatch, pylib, "evidence", "import", "report.xml", capsys=capsys)
    assert board(monkeypatch, pylib, capsys)["calc-v1"]["FALSIFY-CALC-001"]["label"] == "HELD"
    lib = pylib / "calc" / "__init__.py"
    lib.write_text(lib.read_text() + "\n\ndef sub(a, b):\n    return a - b\n")
    after = board(monkeypatch, pylib, capsys)
    assert after["calc-v1"]["FALSIFY-CALC-001"]["label"] == "STALE"
    assert after["speed-v1"]["status"] == "PROPOSED"
    # pinned to the commit the report was produced on: current while HEAD is that commit
    head = subprocess.run(["git", "-C", str(pylib), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    pv(monkeypatch, pylib, "evidence", "import", "report.xml", "--commit", head, capsys=capsys)
    assert board(monkeypatch, pylib, capsys)["calc-v1"]["FALSIFY-CALC-001"]["label"] == "HELD"


def test_live_threshold_not_measured_stays_functional(pylib: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: Any) -> None:
    contract = pylib / "contracts" / "speed-v1.yaml"
    contract.write_text(contract.read_text().replace("metric: ratio", "metric: latency_s"))
    pv(monkeypatch, pylib, "evidence", "import", "report.xml", capsys=capsys)
    speed = board(monkeypatch, pylib, capsys)["speed-v1"]
    assert speed["FALSIFY-SPEED-LIVE-001"]["label"] == "HELD"
    assert speed["FALSIFY-SPEED-LIVE-001"]["implementation_level"] == "integration"  # never live unjudged
    assert speed["status"] == "FUNCTIONAL"


def test_pytest_pv_evidence_records_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    project = python_project(tmp_path)
    done = run_pytest(project, "--pv-evidence")
    assert "4 falsifier(s) linked" in done.stdout or "falsifier(s) linked" in done.stdout, done.stdout + done.stderr
    rows = board(monkeypatch, project, capsys)
    assert rows["calc-v1"]["FALSIFY-CALC-001"]["label"] == "HELD"
    assert rows["calc-v1"]["FALSIFY-CALC-002"]["label"] == "FALSIFIED"
    assert rows["speed-v1"]["status"] == "DISCHARGED"


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><testsuite>&b;</testsuite>',
    b"<testsuite><testcase name='x'>",
    b"not a report at all",
])
def test_hostile_or_broken_reports_are_usage_errors(payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: Any) -> None:
    project = python_project(tmp_path)
    (project / "bad.xml").write_bytes(payload)
    monkeypatch.chdir(project)
    assert main(["evidence", "import", "bad.xml"]) == 2
    err = capsys.readouterr().err
    assert "bad.xml" in err and "Traceback" not in err


def test_reference_contracts_run_executes_no_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: Any) -> None:
    shared = Path("/work/shared/reference-contracts/aprender")
    if not shared.is_dir():
        pytest.skip("the reference contracts are not on this machine")
    project = python_project(tmp_path)
    calls: list[Any] = []
    import apr_contracts.testevidence.commands as commands

    monkeypatch.setattr(commands, "run_test_command", lambda *a, **k: calls.append(a))
    for flag in ([], ["--allow-test-commands"]):  # without the flag; with it, they are outside the root
        _, out = pv(monkeypatch, project, "run", str(shared), "--no-builtins", "--format", "json", *flag,
                    capsys=capsys)
        results = json.loads(out)["results"]
        assert results and not any(r["source"] == "command" for r in results)
        if flag:
            assert any("is outside the project root" in r["message"] for r in results)
    assert calls == []


@cargo
def test_rust_crate_test_commands_and_libtest_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: Any) -> None:
    crate = rust_project(tmp_path)
    code, _ = pv(monkeypatch, crate, "run", "--allow-test-commands", capsys=capsys)
    assert code == 1
    ran = board(monkeypatch, crate, capsys)["rscrate-v1"]
    assert ran["FALSIFY-RS-001"]["label"] == "HELD"
    assert ran["FALSIFY-RS-002"]["label"] == "FALSIFIED"
    assert "double(4) must be 8" in ran["FALSIFY-RS-002"]["counterexample"]["output"]
    assert ran["FALSIFY-RS-003"]["label"] == "ERROR"
    assert "the filter matched no test" in ran["FALSIFY-RS-003"]["message"]
    code, _ = pv(monkeypatch, crate, "run", capsys=capsys)  # without the flag: nothing runs
    assert board(monkeypatch, crate, capsys)["rscrate-v1"]["FALSIFY-RS-001"]["latest_outcome"] == "NOT_BOUND"

    env = {**os.environ, "RUSTC_BOOTSTRAP": "1"}
    with open(crate / "libtest.json", "w") as out:
        subprocess.run(["cargo", "test", "-q", "--", "-Z", "unstable-options", "--format", "json"], cwd=crate,
                       stdout=out, stderr=subprocess.DEVNULL, env=env, check=False)
    code, _ = pv(monkeypatch, crate, "evidence", "import", "libtest.json", capsys=capsys)
    assert code == 1
    imported = board(monkeypatch, crate, capsys)["rscrate-v1"]
    assert [imported[f"FALSIFY-RS-00{n}"]["label"] for n in (1, 2, 3, 4)] == ["HELD", "FALSIFIED", "ERROR", "HELD"]
    assert "double(4) must be 8" in imported["FALSIFY-RS-002"]["message"]
