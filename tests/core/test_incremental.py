"""Incremental `pv run`: results are reused while the claim and what executes it are unchanged.

A fake plugin package on disk: two falsifier modules, each with its own engine module, and one
falsifier that reaches a helper only through a `python -m` subprocess (the dynamic trace).
Each test edits one file and checks exactly which falsifiers execute again.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts import fingerprint
from apr_contracts.cli import main as pv

FILES = {
    "fakepkg/__init__.py": "",
    "fakepkg/engine_a.py": "class A:\n    name = 'a'\n    def value(self):\n        return 1\n",
    "fakepkg/engine_b.py": "class B:\n    name = 'b'\n    def value(self):\n        return 2\n"
    "class BrokenB(B):\n    name = 'broken-b'\n    def value(self):\n        return 3\n",
    "fakepkg/tool_helper.py": "ANSWER = 42\n",
    "fakepkg/tool.py": textwrap.dedent(
        """\
        import sys
        from apr_contracts.fingerprint import install_module_trace

        def main():
            install_module_trace()
            from fakepkg.tool_helper import ANSWER
            print(ANSWER)

        if __name__ == "__main__":
            main()
        """
    ),
    "fakepkg/plugin.py": textwrap.dedent(
        """\
        import sys
        from apr_contracts import hookimpl
        from fakepkg import falsifiers_a, falsifiers_b, falsifiers_tool

        @hookimpl
        def apr_register_engines(registry):
            from fakepkg.engine_a import A
            from fakepkg.engine_b import B, BrokenB
            registry.add("a", "a", A, default=True)
            registry.add("b", "b", B, default=True)
            registry.add("b", "broken-b", BrokenB)

        @hookimpl
        def apr_register_falsifiers(registry):
            for module in (falsifiers_a, falsifiers_b, falsifiers_tool):
                registry.add_module(module, contract="inc-v1")
        """
    ),
    "fakepkg/falsifiers_a.py": textwrap.dedent(
        """\
        from apr_contracts import falsifier

        @falsifier("FALSIFY-INC-A", engines=["a"])
        def a_holds(ctx):
            return ctx.held() if ctx.engine("a").value() == 1 else ctx.falsified("a != 1")
        """
    ),
    "fakepkg/falsifiers_b.py": textwrap.dedent(
        """\
        from apr_contracts import falsifier
        from apr_contracts.api import Requirement

        @falsifier("FALSIFY-INC-B", engines=["b"])
        def b_holds(ctx):
            return ctx.held() if ctx.engine("b").value() == 2 else ctx.falsified("b != 2")

        @falsifier("FALSIFY-INC-NEEDS", requires=[Requirement("incdep", "python -m pip install incdep")])
        def needs_incdep(ctx):
            import incdep
            return ctx.held(str(incdep.X))

        @falsifier("FALSIFY-INC-ERROR")
        def breaks(ctx):
            raise RuntimeError("always broken")
        """
    ),
    "fakepkg/falsifiers_tool.py": textwrap.dedent(
        """\
        import subprocess, sys
        from apr_contracts import falsifier

        @falsifier("FALSIFY-INC-TOOL", level="integration")
        def tool_answers(ctx):
            out = subprocess.run([sys.executable, "-m", "fakepkg.tool"], capture_output=True, text=True)
            return ctx.held() if out.stdout.strip() == "42" else ctx.falsified(out.stdout + out.stderr)
        """
    ),
}
IDS = ("FALSIFY-INC-A", "FALSIFY-INC-B", "FALSIFY-INC-NEEDS", "FALSIFY-INC-ERROR", "FALSIFY-INC-TOOL")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Each test has its own copy of the package: forget the previous test's (pv runs in-process).
    for name in [m for m in sys.modules if m == "fakepkg" or m.startswith("fakepkg.") or m == "incdep"]:
        monkeypatch.delitem(sys.modules, name)
    fingerprint.clear_caches()
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    entries = "".join(
        f"- id: {fid}\n  rule: rule {fid}\n  prediction: prediction {fid}\n  if_fails: bad\n"
        f"  level: {'integration' if fid.endswith('TOOL') else 'algorithm'}\n"
        for fid in IDS
    )
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "inc-v1.yaml").write_text(
        "metadata:\n  id: inc-v1\n  version: 1.0.0\n  description: incremental\nfalsification_tests:\n" + entries
    )
    return tmp_path


def _run(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict]:
    # Every `pv run` is a new process in real use: nothing located or parsed carries over.
    fingerprint.clear_caches()
    importlib.invalidate_caches()
    pv(["run", str(project / "contracts"), "-p", "fakepkg.plugin", "--evidence", str(project / "ev.sqlite"),
        "--format", "json", *extra])
    report = json.loads(capsys.readouterr().out)
    return {r["falsifier_id"]: r for r in report["results"]}


def _executed(results: dict[str, dict]) -> set[str]:
    return {fid for fid, r in results.items() if r["reused_from"] is None}


def _edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / name
    path.write_text(path.read_text().replace(old, new))


def test_second_run_reuses_everything_but_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(project, capsys)
    assert first["FALSIFY-INC-NEEDS"]["outcome"] == "SKIPPED"
    assert "python -m pip install incdep" in first["FALSIFY-INC-NEEDS"]["message"]
    assert _executed(first) == set(IDS)
    second = _run(project, capsys)
    # ERROR is never reused: the check broke, perhaps by chance, so it runs again.
    assert _executed(second) == {"FALSIFY-INC-ERROR"}
    assert {fid: r["outcome"] for fid, r in second.items()} == {fid: r["outcome"] for fid, r in first.items()}
    assert all(second[fid]["reused_from"] == 1 for fid in IDS if fid != "FALSIFY-INC-ERROR")
    third = _run(project, capsys)
    assert third["FALSIFY-INC-A"]["reused_from"] == 1  # reused again: still points at the execution


def test_text_report_says_what_was_reused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(project, capsys)
    pv(["run", str(project / "contracts"), "-p", "fakepkg.plugin", "--evidence", str(project / "ev.sqlite")])
    out = capsys.readouterr().out
    assert "reused from run #1" in out
    assert "1 executed, 4 reused" in out


def test_editing_one_engine_module_reruns_exactly_its_falsifiers(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(project, capsys)
    _edit(project, "fakepkg/engine_b.py", "return 2\n", "return 1 + 1\n")
    assert _executed(_run(project, capsys)) == {"FALSIFY-INC-B", "FALSIFY-INC-ERROR"}
    _edit(project, "fakepkg/falsifiers_a.py", "a != 1", "a is not 1")
    assert _executed(_run(project, capsys)) == {"FALSIFY-INC-A", "FALSIFY-INC-ERROR"}


def test_undoing_a_change_reuses_the_results_of_that_code(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(project, capsys)
    engine = project / "fakepkg" / "engine_b.py"
    original = engine.read_text()
    engine.write_text(original.replace("return 2\n", "return 4\n"))  # a defect...
    assert _run(project, capsys)["FALSIFY-INC-B"]["outcome"] == "FALSIFIED"
    engine.write_text(original)  # ...undone
    undone = _run(project, capsys)
    assert _executed(undone) == {"FALSIFY-INC-ERROR"}
    assert undone["FALSIFY-INC-B"]["outcome"] == "HELD" and undone["FALSIFY-INC-B"]["reused_from"] == 1


def test_a_module_loaded_only_by_a_subprocess_is_traced(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(project, capsys)
    traced = first["FALSIFY-INC-TOOL"]["inputs"]["files"]
    assert any(path.endswith("tool_helper.py") for path in traced)
    _edit(project, "fakepkg/tool_helper.py", "42", "41")
    second = _run(project, capsys)
    assert _executed(second) == {"FALSIFY-INC-TOOL", "FALSIFY-INC-ERROR"}
    assert second["FALSIFY-INC-TOOL"]["outcome"] == "FALSIFIED"  # the rerun saw the edit


def test_installing_a_declared_dependency_reruns_the_skipped_falsifier(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(project, capsys)["FALSIFY-INC-NEEDS"]["outcome"] == "SKIPPED"
    (project / "incdep.py").write_text("X = 7\n")
    second = _run(project, capsys)
    assert second["FALSIFY-INC-NEEDS"]["outcome"] == "HELD"
    assert second["FALSIFY-INC-NEEDS"]["reused_from"] is None


def test_another_engine_or_rerun_executes_again(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(project, capsys)
    swapped = _run(project, capsys, "--engine", "b=broken-b")
    assert _executed(swapped) == {"FALSIFY-INC-B", "FALSIFY-INC-ERROR"}
    assert swapped["FALSIFY-INC-B"]["outcome"] == "FALSIFIED"
    # Back to the default engine: its latest result (FALSIFIED, by broken-b) is not reused.
    assert _run(project, capsys)["FALSIFY-INC-B"]["outcome"] == "HELD"
    assert _executed(_run(project, capsys, "--rerun")) == set(IDS)


def test_a_changed_claim_is_executed_not_reused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(project, capsys)
    _edit(project, "contracts/inc-v1.yaml", "prediction FALSIFY-INC-A", "a sharper prediction")
    assert _executed(_run(project, capsys)) == {"FALSIFY-INC-A", "FALSIFY-INC-ERROR"}


CACHE_PLUGIN = '''
import os, sys
from pathlib import Path
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-CACHE-001")
def cache_starts_empty(ctx):
    cache = Path(os.environ["PV_RUN_CACHE"])
    leftovers = sorted(p.name for p in cache.iterdir())
    (cache / "built-by-an-earlier-run").write_text("stale")
    return ctx.falsified(f"the run cache holds {leftovers}") if leftovers else ctx.held()

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="cache-v1")
'''


def test_the_run_cache_is_shared_per_run_and_restarted_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cacheplug.py").write_text(CACHE_PLUGIN)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "c.yaml").write_text(
        "metadata:\n  id: cache-v1\n  version: 1.0.0\n  description: cache\nfalsification_tests:\n"
        "- id: FALSIFY-CACHE-001\n  rule: r\n  prediction: p\n  if_fails: f\n"
    )
    for _ in range(2):  # a kept workspace keeps its folders, but never a fixture of an earlier run
        pv(["run", str(tmp_path / "c.yaml"), "-p", "cacheplug", "--evidence", str(tmp_path / "ev.sqlite"),
            "--workspace", str(tmp_path / "ws"), "--rerun", "--format", "json"])
        results = json.loads(capsys.readouterr().out)["results"]
        assert [r["outcome"] for r in results] == ["HELD"], results
