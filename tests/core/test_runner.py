"""`pv run` end to end with a fake plugin whose falsifiers hold, falsify, raise, exit, crash and hang."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

FAKE_PLUGIN = '''
import os, sys, time
from apr_contracts import falsifier, hookimpl

class Adder:
    name = "real"
    def add(self, a, b):
        return a + b

class OffByOne(Adder):
    name = "broken-off-by-one"
    def add(self, a, b):
        return a + b + (1 if a > 5 else 0)

@hookimpl
def apr_register_engines(registry):
    registry.add("adder", "real", Adder, default=True)
    registry.add("adder", "broken-off-by-one", OffByOne)

@falsifier("FALSIFY-FAKE-HOLD", engines=["adder"])
def holds(ctx):
    for a in range(10):
        if ctx.engine("adder").add(a, 1) != a + 1:
            return ctx.falsified(f"add({a}, 1) != {a + 1}", counterexample=[a, 1])
    return ctx.held(measured={"cases": 10})

@falsifier("FALSIFY-FAKE-FALSIFIED")
def falsifies(ctx):
    return ctx.falsified("2 + 2 = 5", counterexample={"a": 2, "b": 2}, measured={"sum": 5})

@falsifier("FALSIFY-FAKE-RAISES")
def raises(ctx):
    raise ValueError("the check itself is broken")

@falsifier("FALSIFY-FAKE-EXITS")
def exits(ctx):
    sys.exit(0)

@falsifier("FALSIFY-FAKE-CRASHES")
def crashes(ctx):
    os._exit(7)

@falsifier("FALSIFY-FAKE-HANGS")
def hangs(ctx):
    time.sleep(60)
    return ctx.held()

@falsifier("FALSIFY-FAKE-SKIPS")
def skips(ctx):
    ctx.require("a_module_that_does_not_exist_anywhere")
    return ctx.held()

@falsifier("FALSIFY-FAKE-LIVE-OK", level="live")
def live_ok(ctx):
    return ctx.measured(loss=2.5)

@falsifier("FALSIFY-FAKE-LIVE-BAD", level="live")
def live_bad(ctx):
    return ctx.measured(loss=7.5)

@falsifier("FALSIFY-FAKE-LIVE-UNJUDGED", level="live")
def live_unjudged(ctx):
    return ctx.held("a plugin may not decide a live verdict alone")

@falsifier("FALSIFY-FAKE-FRESH-WORKSPACE")
def fresh_workspace(ctx):
    mark = ctx.workspace / "mark"
    if mark.exists():
        return ctx.falsified("the workspace still holds an earlier run's file")
    mark.write_text("written")
    return ctx.held()

@falsifier("FALSIFY-FAKE-SHALLOW", level="algorithm")
def shallow(ctx):
    return ctx.held()

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="fake-v1")
'''


def _entry(fid: str, level: str = "algorithm", thresholds: str = "") -> str:
    return textwrap.indent(
        textwrap.dedent(
            f"""\
            - id: {fid}
              rule: rule of {fid}
              prediction: prediction of {fid}
              if_fails: consequence of {fid}
              level: {level}
            """
        )
        + thresholds,
        "",
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fakeplug.py").write_text(FAKE_PLUGIN)
    (tmp_path / "badplug.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    live = "  thresholds:\n  - {metric: loss, op: '<=', value: 4.0}\n"
    entries = "".join(
        [
            _entry("FALSIFY-FAKE-HOLD"),
            _entry("FALSIFY-FAKE-FALSIFIED"),
            _entry("FALSIFY-FAKE-RAISES"),
            _entry("FALSIFY-FAKE-EXITS"),
            _entry("FALSIFY-FAKE-CRASHES"),
            _entry("FALSIFY-FAKE-HANGS"),
            _entry("FALSIFY-FAKE-SKIPS"),
            _entry("FALSIFY-FAKE-UNBOUND"),
            _entry("FALSIFY-FAKE-LIVE-OK", "live", live),
            _entry("FALSIFY-FAKE-LIVE-BAD", "live", live),
            _entry("FALSIFY-FAKE-LIVE-UNJUDGED", "live"),
            _entry("FALSIFY-FAKE-SHALLOW", "integration"),
            _entry("FALSIFY-FAKE-FRESH-WORKSPACE"),
        ]
    )
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "fake-v1.yaml").write_text(
        "metadata:\n  id: fake-v1\n  version: 1.0.0\n  description: fake\nfalsification_tests:\n" + entries
    )
    return tmp_path


def _run(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = pv(
        [
            "run",
            str(project / "contracts"),
            "-p",
            "fakeplug",
            "--evidence",
            str(project / "ev.sqlite"),
            "--format",
            "json",
            "--timeout",
            "4",
            *extra,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("isolation", ["pool", "process"])
def test_every_failure_mode_lands_as_the_right_outcome(
    project: Path, capsys: pytest.CaptureFixture[str], isolation: str
) -> None:
    code, report = _run(project, capsys, "--level", "all", "--jobs", "2", "--isolation", isolation)
    outcomes = {r["falsifier_id"]: r["outcome"] for r in report["results"]}
    assert outcomes == {
        "FALSIFY-FAKE-HOLD": "HELD",
        "FALSIFY-FAKE-FALSIFIED": "FALSIFIED",
        "FALSIFY-FAKE-RAISES": "ERROR",
        "FALSIFY-FAKE-EXITS": "ERROR",
        "FALSIFY-FAKE-CRASHES": "ERROR",
        "FALSIFY-FAKE-HANGS": "ERROR",
        "FALSIFY-FAKE-SKIPS": "SKIPPED",
        "FALSIFY-FAKE-UNBOUND": "NOT_BOUND",
        "FALSIFY-FAKE-LIVE-OK": "HELD",
        "FALSIFY-FAKE-LIVE-BAD": "FALSIFIED",
        "FALSIFY-FAKE-LIVE-UNJUDGED": "ERROR",
        "FALSIFY-FAKE-SHALLOW": "HELD",
        "FALSIFY-FAKE-FRESH-WORKSPACE": "HELD",
    }
    assert code == 1
    by_id = {r["falsifier_id"]: r for r in report["results"]}
    assert "the check itself is broken" in by_id["FALSIFY-FAKE-RAISES"]["message"]
    assert "ValueError" in by_id["FALSIFY-FAKE-RAISES"]["traceback"]
    assert "timed out" in by_id["FALSIFY-FAKE-HANGS"]["message"]
    assert "exited with code 7" in by_id["FALSIFY-FAKE-CRASHES"]["message"]
    assert "a_module_that_does_not_exist_anywhere" in by_id["FALSIFY-FAKE-SKIPS"]["message"]
    # The runner, not the plugin, judged the live thresholds, and kept the measured values.
    assert by_id["FALSIFY-FAKE-LIVE-BAD"]["measured"] == {"loss": 7.5}
    assert "loss=7.5 violates loss <= 4.0" in by_id["FALSIFY-FAKE-LIVE-BAD"]["message"]
    assert "must declare `thresholds" in by_id["FALSIFY-FAKE-LIVE-UNJUDGED"]["message"]
    # An implementation below the contract's required level is recorded with its own level.
    assert by_id["FALSIFY-FAKE-SHALLOW"]["level"] == "algorithm"
    assert by_id["FALSIFY-FAKE-SHALLOW"]["required_level"] == "integration"
    # Seeds are fixed per falsifier and recorded.
    assert by_id["FALSIFY-FAKE-HOLD"]["seed"] == _run_seed(project, capsys)
    with sqlite3.connect(project / "ev.sqlite") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert tables, "the evidence database was created"


def _run_seed(project: Path, capsys: pytest.CaptureFixture[str]) -> int:
    _, report = _run(project, capsys, "-k", "FALSIFY-FAKE-HOLD")
    return int(report["results"][0]["seed"])


def test_default_level_leaves_live_falsifiers_out(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = _run(project, capsys, "-k", "hold or live")
    assert [r["falsifier_id"] for r in report["results"]] == ["FALSIFY-FAKE-HOLD"]


def test_engine_swap_turns_the_conformance_suite_on_a_mutant(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _run(project, capsys, "-k", "FALSIFY-FAKE-HOLD", "--engine", "adder=broken-off-by-one")
    (result,) = report["results"]
    assert result["outcome"] == "FALSIFIED"
    assert result["engines"] == {"adder": "broken-off-by-one"}
    assert result["counterexample"] == [6, 1]
    assert code == 1
    code, report = _run(project, capsys, "-k", "FALSIFY-FAKE-HOLD")
    assert report["results"][0]["outcome"] == "HELD" and code == 0


def test_unknown_engine_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(project / "contracts"), "-p", "fakeplug", "--engine", "adder=nope"])
    assert code == 2
    assert "no adder engine named 'nope'" in capsys.readouterr().err


def test_import_failing_plugin_is_reported_and_skipped(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _run(project, capsys, "-p", "badplug", "-k", "FALSIFY-FAKE-HOLD")
    assert report["results"][0]["outcome"] == "HELD"
    (failure,) = report["plugin_failures"]
    assert failure["plugin"] == "badplug" and "broken on purpose" in failure["error"]
    assert code == 0


def test_collect_only_runs_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(project / "contracts"), "-p", "fakeplug", "--collect-only", "--format", "json"])
    listing = json.loads(capsys.readouterr().out)["falsifiers"]
    assert code == 0
    assert {row["falsifier"] for row in listing if not row["bound"]} == {"FALSIFY-FAKE-UNBOUND"}
    assert not (project / "ev.sqlite").exists()


@pytest.mark.parametrize("isolation", ["pool", "none"])
def test_temporary_workspaces_are_removed_and_kept_ones_restart_empty(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    scratch = project / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    code, _ = _run(project, capsys, "-k", "hold or fresh or falsified", "--isolation", isolation)
    assert code == 1
    # A full run writes gigabytes (checkpoints, GGUF files): nothing may stay behind in the temp folder.
    assert not [p.name for p in scratch.iterdir() if p.name.startswith("pv-run-")]

    kept = project / "kept"
    for _ in range(2):  # the second run (executing again, not reusing) must find the workspace empty
        code, report = _run(project, capsys, "-k", "fresh", "--isolation", isolation, "--workspace", str(kept),
                            "--rerun")
        assert [r["outcome"] for r in report["results"]] == ["HELD"]
    assert (kept / "fake-v1" / "FALSIFY-FAKE-FRESH-WORKSPACE" / "work" / "mark").read_text() == "written"


def test_workspaces_of_killed_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    from apr_contracts.runner import OWNER_FILE, remove_abandoned_workspaces

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    folders = {}
    for name, owner in [("killed", dead.stdout.strip()), ("running", str(os.getppid())), ("unowned", None)]:
        folder = tmp_path / f"pv-run-{name}"
        (folder / "FALSIFY-X" / "work").mkdir(parents=True)
        if owner is not None:
            (folder / OWNER_FILE).write_text(owner)
        folders[name] = folder
    assert remove_abandoned_workspaces(tmp_path) == [folders["killed"]]
    assert not folders["killed"].exists() and folders["running"].exists() and folders["unowned"].exists()


def test_exclusive_falsifiers_run_last_and_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`exclusive=True` (a timing): with --jobs 2 it starts only after every other falsifier ended."""
    import json as _json

    from apr_contracts.cli import main as pv

    (tmp_path / "exclplug.py").write_text(
        "import sys, time, json, os\n"
        "from apr_contracts import falsifier, hookimpl\n"
        "LOG = os.environ['EXCL_LOG']\n"
        "def _log(name, what):\n"
        "    with open(LOG, 'a') as f: f.write(json.dumps([name, what, time.monotonic()]) + '\\n')\n"
        "@falsifier('FALSIFY-EXCL-001', exclusive=True)\n"
        "def timing(ctx):\n"
        "    _log('excl', 'start'); _log('excl', 'end'); return ctx.held()\n"
        "@falsifier('FALSIFY-EXCL-002')\n"
        "def slow_a(ctx):\n"
        "    _log('a', 'start'); time.sleep(0.5); _log('a', 'end'); return ctx.held()\n"
        "@falsifier('FALSIFY-EXCL-003')\n"
        "def slow_b(ctx):\n"
        "    _log('b', 'start'); time.sleep(0.5); _log('b', 'end'); return ctx.held()\n"
        "@hookimpl\n"
        "def apr_register_falsifiers(registry):\n"
        "    registry.add_module(sys.modules[__name__], contract='excl-v1')\n")
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("EXCL_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    entries = "".join(f"- id: FALSIFY-EXCL-00{n}\n  rule: r\n  prediction: p\n  if_fails: f\n" for n in (1, 2, 3))
    contract = tmp_path / "excl-v1.yaml"
    contract.write_text("metadata:\n  version: 1.0.0\n  description: d\nfalsification_tests:\n" + entries)
    assert pv(["run", str(contract), "-p", "exclplug", "--jobs", "2", "--evidence", str(tmp_path / "e.sqlite"),
               "--no-progress"]) == 0
    events = [_json.loads(line) for line in log.read_text().splitlines()]
    excl_start = next(t for name, what, t in events if name == "excl" and what == "start")
    others_end = max(t for name, what, t in events if name != "excl" and what == "end")
    assert excl_start >= others_end
    a_start, b_start = (next(t for n, w, t in events if n == x and w == "start") for x in "ab")
    assert abs(a_start - b_start) < 0.4  # the others did run side by side


def test_workspace_paths_stay_under_the_root_whatever_the_ids(tmp_path: Path) -> None:
    from apr_contracts.runner import workspace_for

    root = tmp_path / "ws"
    for contract_id, falsifier_id in [("../../etc", "FALSIFY-X-001"), ("c-v1", "../../../x"), ("..", "."),
                                      ("/abs/path", "a/b\\c"), ("c-v1", "FALSIFY-X-001")]:
        path = workspace_for(root, contract_id, falsifier_id).resolve()
        assert path.parent.parent == root.resolve(), (contract_id, falsifier_id, path)
    # scoped ids: one falsifier id in two contracts gets two folders
    assert workspace_for(root, "a-v1", "FALSIFY-X-001") != workspace_for(root, "b-v1", "FALSIFY-X-001")


def test_a_rerun_clears_only_what_the_runner_wrote(tmp_path: Path) -> None:
    from apr_contracts.runner import WORKSPACE_ENTRIES, clear_workspace

    workspace = tmp_path / "c-v1" / "FALSIFY-X-001"
    (workspace / "work").mkdir(parents=True)
    (workspace / "work" / "big.bin").write_bytes(b"x")
    (workspace / "job.json").write_text("{}")
    (workspace / "notes.txt").write_text("the user's own")
    clear_workspace(workspace)
    assert sorted(p.name for p in workspace.iterdir()) == ["notes.txt"]
    assert "notes.txt" not in WORKSPACE_ENTRIES


def test_workspace_naming_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from apr_contracts.cli import main as pv

    monkeypatch.chdir(tmp_path)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "afile").write_text("")
    assert pv(["run", "--workspace", "afile", "--no-progress"]) == 2
    assert "--workspace afile: not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["garbage", "folder"])
def test_run_on_an_unusable_evidence_database_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    from apr_contracts.cli import main as pv

    monkeypatch.chdir(tmp_path)
    (tmp_path / "contracts").mkdir()
    db = tmp_path / "ev.sqlite"
    if kind == "folder":
        db.mkdir()
    else:
        db.write_text("not a database")
    assert pv(["run", "--evidence", str(db), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(db) in err and "Traceback" not in err and "internal error" not in err
    assert ("is a folder" in err) if kind == "folder" else ("not an SQLite evidence database" in err)
