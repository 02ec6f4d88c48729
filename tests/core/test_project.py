"""One project (apr_contracts/project.py): every command finds the same root, [tool.pv] table and
evidence database, so a third-party project with its contracts in specs/ and its own plugin works
with bare `pv run`, `pv status ID`, `pv scoreboard`, `pv ship` and `pv diff`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.config import ConfigError, project_root
from apr_contracts.plugins import PluginSettings
from apr_contracts.project import Project

REPO = Path(__file__).resolve().parents[2]
Enter = Callable[[Path], Path]  # the in_project fixture: stand in a project folder

CONTRACT = """\
metadata:
  id: widget-v1
  version: 1.0.0
  description: A widget that doubles.
falsification_tests:
- id: FALSIFY-WIDGET-001
  rule: The widget doubles.
  prediction: double(2) == 4
  if_fails: Nothing downstream doubles.
  level: algorithm
  test: tests/test_widget.py::test_double
"""

ACCEPTANCE = """\
acceptance: {id: widget-ship, version: 0.1.0, title: Widget release}
products:
- id: WIDGET
  title: The widget
  criteria:
  - {id: AC-1, title: it doubles, falsifiers: [FALSIFY-WIDGET-001]}
"""

# The project's own plugin, bound to its contract by `contract=`; loaded through [tool.pv] plugins.
PLUGIN = """\
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-WIDGET-001", contract="widget-v1")
def doubles(ctx):
    return ctx.held("2 * 2 == 4") if 2 * 2 == 4 else ctx.falsified("2 * 2 != 4")

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
"""


def make_project(root: Path, extra: str = "") -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "widgetplug").mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "widget"\n\n[tool.pv]\npaths = ["specs"]\nplugins = ["widgetplug.plugin"]\n{extra}')
    (root / "specs" / "widget-v1.yaml").write_text(CONTRACT)
    (root / "specs" / "ship.yaml").write_text(ACCEPTANCE)
    (root / "tests" / "test_widget.py").write_text("def test_double():\n    assert 2 * 2 == 4\n")
    (root / "widgetplug" / "__init__.py").write_text("")
    (root / "widgetplug" / "plugin.py").write_text(PLUGIN)
    return root


def env_for(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PV_EVIDENCE", "PYTHONPATH")}
    env.update(PYTHONPATH=os.pathsep.join([str(root), str(REPO)]), PV_DISABLE_PLUGIN_AUTOLOAD="1", NO_COLOR="1")
    return env


def pv_sub(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apr_contracts.cli", *args], cwd=cwd or root, env=env_for(root),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def in_project(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """Stand in a project for in-process `pv` calls: cwd, sys.path for its plugin, a clean environment."""

    def enter(root: Path) -> Path:
        monkeypatch.chdir(root)
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.delenv("PV_EVIDENCE", raising=False)
        monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
        monkeypatch.setenv("NO_COLOR", "1")
        return root

    return enter


@pytest.mark.parametrize("evidence", [None, "build/ev.sqlite"])
def test_bare_commands_from_the_root_of_a_third_party_project(
        tmp_path: Path, in_project: Enter, capsys: pytest.CaptureFixture[str], evidence: str | None) -> None:
    root = make_project(tmp_path / "widget", f'evidence = "{evidence}"\n' if evidence else "")
    db = root / (evidence or ".pv/evidence.sqlite")
    # pv run in a subprocess with the default worker pool: the worker rebuilds the plugin set from
    # PluginSettings.to_dict, so [tool.pv] plugins must survive the trip or the falsifier is NOT_BOUND.
    run = pv_sub(root, "run", "--jobs", "1", "--no-progress", "--format", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert [(r["falsifier_id"], r["outcome"]) for r in report["results"]] == [("FALSIFY-WIDGET-001", "HELD")]
    assert report["evidence"] == str(db) and db.is_file()
    assert evidence is None or not (root / ".pv").exists()

    in_project(root)
    assert pv(["status", "widget-v1", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["evidence"] == str(db)
    assert status["contract"]["falsifiers"][0]["outcome"] == "HELD"
    assert pv(["scoreboard", "--fail-on", "drift", "--format", "json"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in board["contracts"]] == ["widget-v1"] and board["evidence"] == str(db)
    assert pv(["ship", "--format", "json", "--fail-on", "below:100"]) == 0
    assert '"WIDGET"' in capsys.readouterr().out
    assert pv(["diff", "latest", "latest", "--format", "json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["summary"]["compared"] == 1 and [m["product"] for m in diff["ship"]] == ["WIDGET"]
    assert pv(["validate"]) == 0
    capsys.readouterr()


def test_subfolder_cwd_finds_the_same_project_and_cli_paths_win(tmp_path: Path, in_project: Enter,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "widget")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "other-v1.yaml").write_text(CONTRACT.replace("widget-v1", "other-v1"))
    in_project(root / "specs")  # deeper than the root: still the same project and database
    assert pv(["run", "--isolation", "none", "--no-progress", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["evidence"] == str(root / ".pv" / "evidence.sqlite")
    # A folder outside the project is run as given, and records into this project's database.
    assert pv(["run", str(outside), "--isolation", "none", "--no-progress", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evidence"] == str(root / ".pv" / "evidence.sqlite")
    assert [r["contract_id"] for r in report["results"]] == ["other-v1"]  # not specs/: the given path won
    assert not (outside / ".pv").exists()


def test_root_rule(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    inner = outer / "pkg" / "inner"
    inner.mkdir(parents=True)
    (outer / "pyproject.toml").write_text('[tool.pv]\npaths = ["c"]\n')
    (outer / "pkg" / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    # The nearest [tool.pv] wins over a nearer plain pyproject.toml.
    assert Project.discover(inner, environ={}).root == outer.resolve()
    plain = tmp_path / "plain" / "a"
    plain.mkdir(parents=True)
    (tmp_path / "plain" / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    assert Project.discover(plain, environ={}).root == (tmp_path / "plain").resolve()
    repo = tmp_path / "repo" / "deep"
    repo.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    assert Project.discover(repo, environ={}).root == (tmp_path / "repo").resolve()
    loose = tmp_path / "loose"
    loose.mkdir()
    assert Project.discover(loose, environ={}).root == loose.resolve()


def test_evidence_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\nevidence = "build/ev.sqlite"\n')
    root = tmp_path.resolve()
    assert Project.discover(tmp_path, environ={}).evidence == root / "build" / "ev.sqlite"
    env = {"PV_EVIDENCE": "/x/env.sqlite"}
    assert Project.discover(tmp_path, environ=env).evidence == Path("/x/env.sqlite")
    chosen = Project.discover(tmp_path, evidence="cli.sqlite", environ=env)
    assert (chosen.evidence, chosen.evidence_explicit) == (Path("cli.sqlite"), True)
    (tmp_path / "pyproject.toml").write_text("[tool.pv]\nstrict = true\n")
    default = Project.discover(tmp_path, environ={})
    assert (default.evidence, default.evidence_explicit) == (root / ".pv" / "evidence.sqlite", False)


def test_unknown_key_warns_naming_key_and_file_and_a_bad_value_is_a_usage_error(
        tmp_path: Path, in_project: Enter, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "widget", "stirct = true\n")
    in_project(root)
    assert pv(["validate"]) == 0
    err = capsys.readouterr().err
    assert f"{root / 'pyproject.toml'}: [tool.pv] stirct: unknown key" in err and "did you mean strict?" in err
    (root / "pyproject.toml").write_text('[tool.pv]\npaths = ["specs"]\nbuiltins = "no"\n')
    assert pv(["scoreboard", "--no-plugins"]) == 2
    err = capsys.readouterr().err
    assert "[tool.pv] builtins must be a bool" in err and str(root / "pyproject.toml") in err
    assert "Traceback" not in err
    (root / "pyproject.toml").write_text('[tool.pv]\nevidence = " "\n')
    with pytest.raises(ConfigError, match="evidence must name a file"):
        Project.discover(root, environ={})


def test_builtins_false_and_no_builtins_drop_the_builtin_falsifier_families(
        tmp_path: Path, in_project: Enter, capsys: pytest.CaptureFixture[str]) -> None:
    def names() -> list[str]:
        assert pv(["plugins", "--format", "json"]) == 0
        return [p["name"] for p in json.loads(capsys.readouterr().out)["plugins"]]

    root = make_project(tmp_path / "widget")
    in_project(root)
    everything = names()
    assert any(n.startswith("falsifiers.") for n in everything) and "widgetplug.plugin" in everything
    assert pv(["plugins", "--no-builtins", "--format", "json"]) == 0
    flagged = [p["name"] for p in json.loads(capsys.readouterr().out)["plugins"]]
    (root / "pyproject.toml").write_text(
        '[tool.pv]\npaths = ["specs"]\nplugins = ["widgetplug.plugin"]\nbuiltins = false\n')
    configured = names()
    for found in (flagged, configured):
        assert not [n for n in found if n.startswith("falsifiers.")]
        assert "widgetplug.plugin" in found and "engines.trainer" in found  # engines stay


def test_plugin_settings_round_trip_to_workers() -> None:
    settings = PluginSettings(autoload=False, project_modules=("a.b",), builtins=False, extra_modules=("c",))
    assert PluginSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert PluginSettings.from_dict({}) == PluginSettings()  # a dict from an older pv still loads


def test_test_nodes_checked_in_a_project_without_tool_pv(tmp_path: Path, in_project: Enter,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "plain"
    (root / "contracts").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'plain'\n")
    contract = root / "contracts" / "widget-v1.yaml"
    contract.write_text(CONTRACT)  # names tests/test_widget.py, which this project lacks
    assert project_root(contract) == str(root.resolve())
    in_project(root)
    assert pv(["validate", "contracts", "--check-test-nodes"]) == 1
    out = capsys.readouterr().out
    assert "PV-TEST-005" in out and f"looked under {root.resolve()}" in out
    assert pv(["scoreboard", "--no-plugins", "--fail-on", "drift"]) == 1
    assert "its test: node does not exist" in capsys.readouterr().err
    (root / "tests").mkdir()
    (root / "tests" / "test_widget.py").write_text("def test_double():\n    pass\n")
    assert pv(["validate", "contracts", "--check-test-nodes"]) == 0
    capsys.readouterr()


def test_validating_another_projects_folder_keeps_its_own_settings(tmp_path: Path, in_project: Enter,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    here = make_project(tmp_path / "widget", "strict = true\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.yaml").write_text("metadata: {id: c, version: 1.0.0, colour: blue}\nfalsification_tests: []\n")
    in_project(here)
    assert pv(["validate", str(other / "c.yaml")]) == 0  # a warning, not this project's strict error
    assert "PV-SCHEMA-003" in capsys.readouterr().out
