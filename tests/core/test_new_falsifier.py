"""`pv new falsifier` writes a plugin that binds the contract's entry to a real engine kind, and a
test that uses the `run_falsifier` fixture; no text from the contract can become code."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.plugins import PluginSettings, load_plugins

WIDGET = textwrap.dedent(
    """\
    metadata:
      id: widget-v1
      version: 1.0.0
      description: widgets
    falsification_tests:
    - id: FALSIFY-WIDGET-001
      rule: Widgets spin.
      prediction: spin() returns True.
      level: integration
      if_fails: nothing spins
    - id: FALSIFY-WIDGET-002
      rule: Widgets stop.
      prediction: stop() returns True.
      level: algorithm
      if_fails: nothing stops
    """
)
HOSTILE_ID = 'FALSIFY-A-001" + str(__import__("os").system("echo pwned"))[:0] + "'


def _new(tmp_path: Path, *extra: str, fid: str = "FALSIFY-WIDGET-001", contract: Path | None = None) -> int:
    if contract is None:
        contract = tmp_path / "widget-v1.yaml"
        contract.write_text(WIDGET)
    return pv(["new", "falsifier", "--contract", str(contract), "--id", fid, "--output", str(tmp_path / "out"),
               *extra])


def test_the_plugin_binds_the_contracts_entry_to_the_engine_kind(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert _new(tmp_path, "--engine-kind", "tokenizer", "--module", "widget_new_binds") == 0
    out = tmp_path / "out"
    plugin, test = out / "widget_new_binds.py", out / "test_widget_new_binds.py"
    compile(plugin.read_text(), str(plugin), "exec")
    tree = ast.parse(test.read_text())
    tests = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    assert len(tests) == 2 and all("run_falsifier" in [a.arg for a in f.args.args] for f in tests)
    monkeypatch.syspath_prepend(str(out))
    plugins = load_plugins(PluginSettings(autoload=False, extra_modules=("widget_new_binds",), strict=True))
    spec = plugins.falsifiers.get("widget-v1", "FALSIFY-WIDGET-001")
    assert spec is not None, plugins.falsifiers.lookup("widget-v1", "FALSIFY-WIDGET-001")
    assert spec.contracts == ("widget-v1",) and tuple(spec.engines) == ("tokenizer",)
    assert spec.level.value == "integration"


def test_the_generated_test_runs_with_the_fixture(tmp_path: Path) -> None:
    """The stub's tests fail for the scaffold's honest reasons, never for a missing fixture or import."""
    assert _new(tmp_path, "--engine-kind", "tokenizer") == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_widget_v1_falsifiers.py"],
        cwd=tmp_path / "out", capture_output=True, text=True, timeout=120,
    )
    assert "2 failed" in proc.stdout, proc.stdout + proc.stderr
    assert "not implemented yet" in proc.stdout and "no tokenizer engine named 'broken-NAME'" in proc.stdout
    assert "fixture 'run_falsifier' not found" not in proc.stdout and "ImportError" not in proc.stdout


def test_ambiguous_or_unknown_engine_kind_is_a_usage_error_listing_the_kinds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _new(tmp_path) == 2  # the built-ins register three kinds: which one is not guessed
    err = capsys.readouterr().err
    assert "FALSIFY-WIDGET-001" in err and "--engine-kind" in err and "exporter, tokenizer, trainer" in err
    assert _new(tmp_path, "--engine-kind", "widget") == 2
    err = capsys.readouterr().err
    assert "--engine-kind widget" in err and "exporter, tokenizer, trainer" in err and "-p MODULE" in err
    assert not (tmp_path / "out").exists()


def test_the_kind_defaults_to_the_one_the_contracts_bound_falsifiers_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "widget_engine_plug.py").write_text(textwrap.dedent(
        """\
        import sys
        from apr_contracts import falsifier, hookimpl

        class Widget:
            name = "real"

        @hookimpl
        def apr_register_engines(registry):
            registry.add("widget", "real", Widget, default=True)

        @falsifier("FALSIFY-WIDGET-001", contract="widget-v1", level="integration", engines=["widget"])
        def spins(ctx):
            return ctx.held()

        @hookimpl
        def apr_register_falsifiers(registry):
            registry.add_module(sys.modules[__name__])
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _new(tmp_path, "-p", "widget_engine_plug", fid="FALSIFY-WIDGET-002") == 0
    source = (tmp_path / "out" / "widget_v1_falsifiers.py").read_text()
    assert "ENGINE_KIND = 'widget'" in source and "contract=CONTRACT" in source and "CONTRACT = 'widget-v1'" in source


def test_a_hostile_id_and_rule_stay_text(tmp_path: Path) -> None:
    contract = tmp_path / "hostile.yaml"
    contract.write_text(textwrap.dedent(
        """\
        metadata:
          id: widget-v1
          version: 1.0.0
          description: widgets
        falsification_tests:
        - id: 'FALSIFY-A-001" + str(__import__("os").system("echo pwned"))[:0] + "'
          rule: "Widgets \\"\\"\\" spin.\\\\\\nimport os; os.system('echo pwned')"
          prediction: "spin()\\nimport os; os.system('echo pwned')"
          level: integration
          if_fails: nothing spins
        """
    ))
    assert _new(tmp_path, "--engine-kind", "tokenizer", "--module", "hostile_new", fid=HOSTILE_ID,
                contract=contract) == 0
    out = tmp_path / "out"
    check = (
        "from apr_contracts.plugins import PluginSettings, load_plugins\n"
        "import hostile_new, test_hostile_new\n"
        "p = load_plugins(PluginSettings(autoload=False, extra_modules=('hostile_new',), strict=True))\n"
        "[(cid, fid)] = [k for k in p.falsifiers.bindings if k[0] == 'widget-v1']\n"
        "print(repr(fid)); print(repr(test_hostile_new.FALSIFIER))\n"
        "print(repr(p.falsifiers.get(cid, fid).fn.__doc__))\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=out, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "pwned" not in lines  # what `echo pwned` would have printed, had any of it run
    assert lines[0] == lines[1] == repr(HOSTILE_ID)  # bound and tested under exactly the contract's id
    assert "import os; os.system" in lines[2] and '"""' in lines[2]  # the rule is the docstring, as text
