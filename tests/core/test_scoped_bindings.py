"""Falsifier ids are scoped per contract: evidence only ever goes to the claim the code was written for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

THEIRS = """\
metadata: {id: kernel-corpus-v1, version: 1.0.0, description: another team's contract}
falsification_tests:
- id: FALSIFY-ARCH-001
  rule: YAML and Rust agree
  prediction: the generated Rust constants equal the YAML values
  if_fails: the two drift apart
- id: FALSIFY-ARCH-002
  rule: their own second claim
  prediction: p
  if_fails: f
"""

PLUGIN = """\
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-ARCH-002", contract="kernel-corpus-v1")
def their_own(ctx):
    return ctx.held("their code, their claim")

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
"""


def test_an_id_we_bind_for_another_contract_is_not_bound_here_and_theirs_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "theirs.yaml").write_text(THEIRS)
    (tmp_path / "their_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pv(["run", str(tmp_path / "theirs.yaml"), "-p", "their_plugin", "--evidence", str(tmp_path / "ev.sqlite"),
               "--format", "json", "--no-progress", "--isolation", "none"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert not data["plugin_failures"]  # the built-ins bind FALSIFY-ARCH-002 too, for their own contract
    results = {r["falsifier_id"]: r for r in data["results"]}
    ours = results["FALSIFY-ARCH-001"]
    assert ours["outcome"] == "NOT_BOUND" and ours["contract_id"] == "kernel-corpus-v1"
    assert ours["message"] == ("FALSIFY-ARCH-001 is implemented for apr-architecture-schema-v1, "
                               "not for kernel-corpus-v1")
    theirs = results["FALSIFY-ARCH-002"]
    assert theirs["outcome"] == "HELD" and theirs["plugin"] == "their_plugin"


def test_a_pinned_claim_that_changed_is_not_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "theirs.yaml").write_text(THEIRS)
    (tmp_path / "pinned_plugin.py").write_text(PLUGIN.replace('contract="kernel-corpus-v1")',
                                                              'contract="kernel-corpus-v1", pin="00000000")'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    pv(["run", str(tmp_path / "theirs.yaml"), "-p", "pinned_plugin", "--evidence", str(tmp_path / "ev.sqlite"),
        "--format", "json", "--no-progress", "--isolation", "none", "-k", "FALSIFY-ARCH-002"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["outcome"] == "NOT_BOUND"
    assert result["message"].startswith("claim changed since the implementation was written — review it")


def test_run_refuses_a_contract_validate_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "dup.yaml"
    bad.write_text(THEIRS.replace("FALSIFY-ARCH-002", "FALSIFY-ARCH-001").replace("if_fails: f\n",
                                                                                  "if_fails: f\n  level: algoritm\n"))
    code = pv(["run", str(bad), "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json", "--no-progress"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["results"] == []
    assert {i["code"] for i in data["contract_errors"]} == {"PV-ID-001", "PV-LEVEL-001"}
