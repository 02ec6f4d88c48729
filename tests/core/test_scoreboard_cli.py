"""`pv scoreboard`, `pv status` and `pv diff` through the real CLI entry point."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.evidence import EvidenceStore
from apr_contracts.outcomes import Outcome
from apr_contracts.plugins import BUILTIN_PLUGINS
from tests.core.pv_fixtures import all_held, demo_yaml, record_run, result, write_contract

IDS = ["FALSIFY-DEMO-001", "FALSIFY-DEMO-002", "FALSIFY-DEMO-003"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder: pyproject.toml, contracts/demo, evidence in the default place (two runs)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    contract = write_contract(root / "contracts", demo_yaml(status="FUNCTIONAL"))
    store = EvidenceStore(root / ".pv" / "evidence.sqlite")
    record_run(store, all_held(contract))
    record_run(store, [result(contract, IDS[0], Outcome.FALSIFIED, message="add(7, 0) returned 8",
                              measured={"a": 7}), result(contract, IDS[1], Outcome.HELD)])
    store.close()
    monkeypatch.chdir(root)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


def test_default_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["scoreboard", "--no-plugins"]) == 0
    out = capsys.readouterr().out
    assert "demo-adder-v1" in out and "FALSIFIED" in out and "DRIFT" in out
    assert "add(7, 0) returned 8" in out
    assert "declares status FUNCTIONAL, evidence says FALSIFIED" in out


def test_json_to_stdout(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["scoreboard", "contracts", "--format", "json", "--no-plugins"]) == 0
    data = json.loads(capsys.readouterr().out)
    (c,) = data["contracts"]
    assert data["version"] == 1 and c["derived_status"] == "FALSIFIED" and c["declared_status"] == "FUNCTIONAL"
    assert [f["outcome"] for f in c["falsifiers"]] == ["FALSIFIED", "HELD", "HELD"]
    assert [h["status"] for h in c["status_history"]] == ["DISCHARGED", "FALSIFIED"]
    assert data["evidence"] == str(project / ".pv" / "evidence.sqlite")


@pytest.mark.parametrize(("conditions", "code"), [
    (["falsified"], 1), (["error"], 0), (["stale"], 0), (["drift"], 1), (["error,stale"], 0),
    (["error", "falsified"], 1),
])
def test_fail_on_exit_codes(project: Path, capsys: pytest.CaptureFixture[str], conditions: list[str],
                            code: int) -> None:
    args = ["scoreboard", "--format", "json", "--no-plugins"]
    for c in conditions:
        args += ["--fail-on", c]
    assert pv(args) == code
    err = capsys.readouterr().err
    assert ("--fail-on" in err) is (code == 1)


def test_output_file_is_written_atomically(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = project / "out" / "board.md"
    assert pv(["scoreboard", "--format", "md", "-o", str(target), "--no-plugins"]) == 0
    assert capsys.readouterr().out == ""
    text = target.read_text()
    assert text.startswith("## Contract scoreboard") and "| `demo-adder-v1` |" in text
    assert [p.name for p in target.parent.iterdir()] == ["board.md"]  # no temp file left behind


@pytest.mark.parametrize("args", [
    ["scoreboard", "--format", "yaml", "--no-plugins"],
    ["scoreboard", "--fail-on", "sometimes", "--no-plugins"],
    ["scoreboard", "no/such/folder", "--no-plugins"],
    ["scoreboard", "--evidence", "missing.sqlite", "--no-plugins"],
    ["status", "no-such-contract", "--no-plugins"],
    ["status", "missing.yaml", "--no-plugins"],
    ["status", "demo-adder-v1", "--paths", "contracts", "copy", "--no-plugins"],  # same id in two files
])
def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    write_contract(project / "copy", demo_yaml())
    assert pv(args) == 2
    err = capsys.readouterr().err
    assert "error:" in err


def test_missing_default_database_is_not_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".pv" / "evidence.sqlite").rename(project / "elsewhere.sqlite")
    assert pv(["scoreboard", "--format", "json", "--no-plugins"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["contracts"][0]["derived_status"] == "PROPOSED" and data["evidence"] is None
    assert any("no evidence database" in n for n in data["notes"])
    assert not (project / ".pv" / "evidence.sqlite").exists()  # reading never creates it
    assert pv(["scoreboard", "--evidence", "elsewhere.sqlite", "--format", "json", "--no-plugins"]) == 0
    assert json.loads(capsys.readouterr().out)["contracts"][0]["derived_status"] == "FALSIFIED"


REPORTER_PLUGIN = '''
from apr_contracts import hookimpl, falsifier

@falsifier("FALSIFY-DEMO-001")
def demo_001(ctx):
    return ctx.held()

@falsifier("FALSIFY-ORPHAN-001")
def orphan(ctx):
    return ctx.held()

@hookimpl
def apr_register_falsifiers(registry):
    import sys
    registry.add_module(sys.modules[__name__], contract="demo-adder-v1")

@hookimpl
def apr_register_reporters(registry):
    registry.add("csv", lambda board: "id,derived\\n" + "".join(
        f"{c.id},{c.derived_status.value}\\n" for c in board.contracts))
'''


BLOCK_BUILTINS = [arg for name, _ in BUILTIN_PLUGINS for arg in ("-p", f"no:{name}")]


@pytest.fixture
def reporter_plugin(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The demo plugin, importable here and in `pv run` workers; returns the `-p` flags that load only it."""
    (project / "pv_demo_reporter.py").write_text(REPORTER_PLUGIN)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setenv("PYTHONPATH", str(project))
    yield ["--no-autoload", "-p", "pv_demo_reporter", *BLOCK_BUILTINS]
    sys.modules.pop("pv_demo_reporter", None)


def test_plugin_reporter_and_registered_ids(project: Path, capsys: pytest.CaptureFixture[str],
                                            reporter_plugin: list[str]) -> None:
    assert pv(["scoreboard", "--format", "csv", *reporter_plugin]) == 0
    assert capsys.readouterr().out == "id,derived\ndemo-adder-v1,FALSIFIED\n"
    assert pv(["scoreboard", "--format", "json", *reporter_plugin]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["orphan_implementations"] == ["FALSIFY-ORPHAN-001 (for demo-adder-v1, which declares no such falsifier)"]
    assert [f["bound"] for f in data["contracts"][0]["falsifiers"]] == [True, False, False]
    assert "no implementation registered for FALSIFY-DEMO-002, FALSIFY-DEMO-003" in data["contracts"][0]["drift"]
    assert pv(["scoreboard", "--format", "csv", "--no-plugins"]) == 2  # without the plugin the format is unknown
    assert "choose one of: github, html, json, junit, md, text" in capsys.readouterr().err


ADDER_PLUGIN = '''
import sys, time
from apr_contracts import falsifier, hookimpl

class Adder:
    name = "real"
    def add(self, a, b):
        return a + b

class ZeroBug(Adder):
    name = "broken-zero"
    def add(self, a, b):
        return a + b + (1 if b == 0 and a > 5 else 0)   # the realistic single defect

@hookimpl
def apr_register_engines(registry):
    registry.add("adder", "real", Adder, default=True)
    registry.add("adder", "broken-zero", ZeroBug)

@falsifier("FALSIFY-DEMO-001", contract="demo-adder-v1", engines=["adder"])
def identity(ctx):
    adder = ctx.engine("adder")
    for a in range(-1000, 1001):
        if adder.add(a, 0) != a:
            return ctx.falsified(f"add({a}, 0) returned {adder.add(a, 0)}", counterexample=[a, 0])
    return ctx.held("2001 cases", measured={"cases": 2001})

@falsifier("FALSIFY-DEMO-002", contract="demo-adder-v1", level="integration", engines=["adder"])
def cli(ctx):
    return ctx.held(measured={"printed": ctx.engine("adder").add(2, 3)})

@falsifier("FALSIFY-DEMO-003", contract="demo-adder-v1", level="live", engines=["adder"])
def speed(ctx):
    adder = ctx.engine("adder")
    start = time.perf_counter()
    for i in range(100_000):
        adder.add(i, 1)
    return ctx.measured(seconds=time.perf_counter() - start)

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="demo-adder-v1")
'''


def test_pv_run_then_scoreboard_status_and_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The real path: `pv run` workers write evidence concurrently, the scoreboard derives status from it."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "adder_plugin.py").write_text(ADDER_PLUGIN)
    # The contract's `test:` node, in this project: its pyproject.toml is the root drift looks under.
    (root / "tests" / "core").mkdir(parents=True)
    (root / "tests" / "core" / "test_scoreboard.py").write_text("def test_demo():\n    pass\n")
    write_contract(root / "contracts", demo_yaml(threshold=30))
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setenv("NO_COLOR", "1")
    plugin = ["--no-autoload", "-p", "adder_plugin", *BLOCK_BUILTINS]
    try:
        assert pv(["run", "contracts", "--level", "all", "--jobs", "2", "--no-progress", *plugin]) == 0
        capsys.readouterr()
        assert pv(["scoreboard", "--format", "json", "--fail-on", "falsified,error,drift", *plugin]) == 0
        (c,) = json.loads(capsys.readouterr().out)["contracts"]
        assert c["derived_status"] == "DISCHARGED", c
        live = c["falsifiers"][2]
        assert live["outcome"] == "HELD" and 0 < live["measured"]["seconds"] <= 30

        # the conformance suite on the mutant: recorded apart, the scoreboard still reads the real run
        assert pv(["run", "contracts", "--engine", "adder=broken-zero", "-k", "FALSIFY-DEMO-001",
                   "--no-progress", *plugin]) == 1
        capsys.readouterr()
        assert pv(["scoreboard", "--format", "junit", "--fail-on", "falsified", *plugin]) == 0
        capsys.readouterr()
        # counted as evidence on purpose: the same contract now FALSIFIED, through the runner
        assert pv(["run", "contracts", "--engine", "adder=broken-zero", "-k", "FALSIFY-DEMO-001",
                   "--count-as-evidence", "--no-progress", *plugin]) == 1
        capsys.readouterr()
        assert pv(["scoreboard", "--format", "junit", "--fail-on", "falsified", *plugin]) == 1
        junit = capsys.readouterr().out
        assert 'failures="1"' in junit and "add(6, 0) returned 7" in junit
        assert pv(["status", "demo-adder-v1", "--format", "json", *plugin]) == 0
        f1 = json.loads(capsys.readouterr().out)["contract"]["falsifiers"][0]
        assert (f1["outcome"], f1["engines"], f1["counterexample"]) == ("FALSIFIED", {"adder": "broken-zero"}, [6, 0])
        assert not f1["flaky"]  # a different engine is not a flake
        assert pv(["diff", "1", "3", "--format", "json"]) == 0
        changes = json.loads(capsys.readouterr().out)["changes"]
        assert [(ch["falsifier"], ch["old"]["outcome"], ch["new"] and ch["new"]["outcome"]) for ch in changes] == [
            ("FALSIFY-DEMO-001", "HELD", "FALSIFIED"), ("FALSIFY-DEMO-002", "HELD", None),
            ("FALSIFY-DEMO-003", "HELD", None)]
    finally:
        sys.modules.pop("adder_plugin", None)


def test_status_text_and_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["status", "demo-adder-v1", "--no-plugins"]) == 0
    out = capsys.readouterr().out
    assert "derived status: FALSIFIED" in out and "declared: FUNCTIONAL" in out
    assert "FALSIFY-DEMO-001  FALSIFIED" in out and "history: #1:HELD #2:FALSIFIED" in out
    assert "seconds=1 (need <= 2.0)" in out
    assert pv(["status", "contracts/demo-adder-v1.yaml", "--format", "json", "--no-plugins",
               "--fail-on", "falsified"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["contract"]["id"] == "demo-adder-v1" and data["contract"]["derived_status"] == "FALSIFIED"
    assert [h["outcome"] for h in data["contract"]["falsifiers"][0]["history"]] == ["HELD", "FALSIFIED"]


def test_diff_between_runs_and_databases(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["diff", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "FALSIFY-DEMO-001: HELD -> FALSIFIED  [REGRESSED]" in out
    assert "FALSIFY-DEMO-003: HELD -> —" in out and "3 falsifier(s) compared, 2 changed outcome, 1 regressed" in out
    assert pv(["diff", "latest~1", "latest", "--fail-on", "regressed", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"compared": 3, "changed": 2, "regressed": 1}
    # Database against database: a copy with one more run where FALSIFY-DEMO-001 holds again.
    other = project / "other.sqlite"
    contract = write_contract(project / "tmpc", demo_yaml())
    store = EvidenceStore(other)
    record_run(store, all_held(contract))
    store.close()
    assert pv(["diff", ".pv/evidence.sqlite", str(other), "--fail-on", "regressed"]) == 0
    out = capsys.readouterr().out
    assert "FALSIFY-DEMO-001: FALSIFIED -> HELD" in out and "REGRESSED" not in out
    assert pv(["diff", "1", "2", "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## pv diff: run #1 -> run #2")
    assert "| `demo-adder-v1` | `FALSIFY-DEMO-001` | HELD | FALSIFIED | REGRESSED |" in md
    assert pv(["diff", "7", "latest"]) == 2
    assert "run 7 is not in" in capsys.readouterr().err


LONG_PLUGIN = '''
import sys
from apr_contracts import falsifier, hookimpl

LONG = "x" * 1500 + " middle " + "y" * 1500 + " END"

@falsifier("FALSIFY-DEMO-001")
def long_falsified(ctx):
    return ctx.falsified(LONG, counterexample="c" * 2000)

@falsifier("FALSIFY-DEMO-002", level="integration")
def long_raises(ctx):
    raise RuntimeError(LONG)

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="demo-adder-v1")
'''


def test_json_carries_long_messages_and_tracebacks_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Text may abbreviate; `--format json` of pv run, pv scoreboard and pv status never does."""
    long = "x" * 1500 + " middle " + "y" * 1500 + " END"
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "long_plugin.py").write_text(LONG_PLUGIN)
    write_contract(root / "contracts", demo_yaml())
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    plugin = ["--no-autoload", "-p", "long_plugin", *BLOCK_BUILTINS]
    try:
        assert pv(["run", "contracts", "-k", "FALSIFY-DEMO-00[12]", "--no-progress", "--format", "json", *plugin]) == 1
        results = {r["falsifier_id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
        assert pv(["scoreboard", "--format", "json", *plugin]) == 0
        (board,) = json.loads(capsys.readouterr().out)["contracts"]
        assert pv(["status", "demo-adder-v1", "--format", "json", *plugin]) == 0
        status = json.loads(capsys.readouterr().out)["contract"]
    finally:
        sys.modules.pop("long_plugin", None)
    for where, falsified, error in (
        ("pv run", results["FALSIFY-DEMO-001"], results["FALSIFY-DEMO-002"]),
        ("pv scoreboard", *board["falsifiers"][:2]),
        ("pv status", *status["falsifiers"][:2]),
    ):
        assert falsified["message"] == long and falsified["counterexample"] == "c" * 2000, where
        assert error["outcome"] == "ERROR" and long in error["message"], where
        assert "RuntimeError: " + long in error["traceback"] and "long_raises" in error["traceback"], where
