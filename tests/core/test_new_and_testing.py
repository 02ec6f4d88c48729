"""`pv new` scaffolds, and the pytest plugin's fixtures for plugin authors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome

CONTRACT = textwrap.dedent(
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
    """
)


def test_new_falsifier_scaffolds_a_plugin_that_errors_until_written(tmp_path: Path) -> None:
    contract = tmp_path / "widget-v1.yaml"
    contract.write_text(CONTRACT)
    out = tmp_path / "plug"
    assert pv(["new", "falsifier", "--contract", str(contract), "--id", "FALSIFY-WIDGET-001", "--output", str(out),
               "--engine-kind", "tokenizer"]) == 0
    module = out / "widget_v1_falsifiers.py"
    assert module.exists() and (out / "test_widget_v1_falsifiers.py").exists()
    # The scaffold is registered and honest: not implemented yet means ERROR, never HELD.
    env = {"PYTHONPATH": str(out), "PATH": "/usr/bin:/bin", "PV_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "run", str(contract), "-p", "widget_v1_falsifiers",
         "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert run.returncode == 1, run.stderr
    assert '"outcome": "ERROR"' in run.stdout and "not implemented yet" in run.stdout
    # Refuses to overwrite without --force.
    assert pv(["new", "falsifier", "--contract", str(contract), "--id", "FALSIFY-WIDGET-001", "--output", str(out),
               "--engine-kind", "tokenizer"]) == 2
    # An id the contract does not declare is a usage error naming the ids it does declare.
    assert pv(["new", "falsifier", "--contract", str(contract), "--id", "FALSIFY-NOPE", "--output", str(out)]) == 2


def test_new_contract_validates(tmp_path: Path) -> None:
    assert pv(["new", "contract", "gadget-v1", "--output", str(tmp_path)]) == 0
    assert pv(["validate", str(tmp_path / "gadget-v1.yaml")]) == 0
    assert pv(["new", "contract", "Bad Id", "--output", str(tmp_path)]) == 2


def test_fake_engine_fixture_drives_a_falsifier(run_falsifier, fake_engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spinplug.py").write_text(textwrap.dedent(
        """\
        import sys
        from apr_contracts import falsifier, hookimpl

        @falsifier("FALSIFY-WIDGET-001", contract="widget-v1", level="integration", engines=["widget"])
        def spins(ctx):
            ok = ctx.engine("widget").spin()
            return ctx.held() if ok else ctx.falsified("did not spin", counterexample=ctx.engine("widget").name)

        @hookimpl
        def apr_register_falsifiers(registry):
            registry.add_module(sys.modules[__name__], contract="widget-v1")
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    from apr_contracts.plugins import PluginSettings, load_plugins

    plugins = load_plugins(PluginSettings(autoload=False, extra_modules=("spinplug",)))
    stuck = fake_engine(name="stuck", spin=lambda: False)
    assert run_falsifier("FALSIFY-WIDGET-001", engines={"widget": stuck}, plugins=plugins).outcome is Outcome.FALSIFIED
    good = fake_engine(spin=lambda: True)
    assert run_falsifier("FALSIFY-WIDGET-001", engines={"widget": good}, plugins=plugins).outcome is Outcome.HELD


def test_run_falsifier_judges_a_live_falsifier_by_the_contracts_thresholds(
        run_falsifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """With contract_file and no thresholds, the thresholds come from the contract, not a copy in the test."""
    from apr_contracts.plugins import PluginSettings, load_plugins
    from apr_contracts.testing import declared_thresholds

    (tmp_path / "speedplug.py").write_text(textwrap.dedent(
        """\
        import sys
        from apr_contracts import falsifier, hookimpl

        @falsifier("FALSIFY-WIDGET-LIVE-001", contract="widget-v1", level="live")
        def spins_fast(ctx):
            return ctx.measured(rpm=ctx.params.get("rpm", 1200))

        @hookimpl
        def apr_register_falsifiers(registry):
            registry.add_module(sys.modules[__name__], contract="widget-v1")
        """
    ))
    contract = tmp_path / "widget.yaml"
    contract.write_text(CONTRACT + textwrap.indent(textwrap.dedent(
        """\
        - id: FALSIFY-WIDGET-LIVE-001
          rule: Widgets spin fast.
          prediction: at least 1000 rpm.
          level: live
          thresholds:
          - {metric: rpm, op: ">=", value: 1000}
          if_fails: slow widgets
        """), ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = load_plugins(PluginSettings(autoload=False, extra_modules=("speedplug",)))
    assert declared_thresholds(contract, "FALSIFY-WIDGET-LIVE-001") == [{"metric": "rpm", "op": ">=", "value": 1000}]
    fast = run_falsifier("FALSIFY-WIDGET-LIVE-001", plugins=plugins, contract_file=contract)
    slow = run_falsifier("FALSIFY-WIDGET-LIVE-001", plugins=plugins, contract_file=contract, params={"rpm": 900})
    assert (fast.outcome, slow.outcome) == (Outcome.HELD, Outcome.FALSIFIED), (fast.message, slow.message)
    assert "rpm=900 violates rpm >= 1000" in slow.message
    with pytest.raises(LookupError, match="declares no falsifier FALSIFY-WIDGET-LIVE-404"):
        declared_thresholds(contract, "FALSIFY-WIDGET-LIVE-404")
