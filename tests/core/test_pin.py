"""`pv pin`: pin states of bound implementations, and `--update` rewriting a pin after review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

CONTRACT = """\
metadata:
  id: pins-v1
  version: 1.0.0
  description: Claims pinned by their implementations.
falsification_tests:
- id: FALSIFY-PINS-001
  rule: One plus one is two.
  prediction: 1 + 1 == 2
  if_fails: Arithmetic is broken.
- id: FALSIFY-PINS-002
  rule: Two times two is four.
  prediction: 2 * 2 == 4
  if_fails: Arithmetic is broken.
"""

PLUGIN = """\
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-PINS-001", contract="pins-v1", pin=PIN_ONE)
def adds(ctx):
    return ctx.held()

@falsifier(
    "FALSIFY-PINS-002",
    contract="pins-v1",
)
def multiplies(ctx):
    return ctx.held()

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pins"
    (root / "contracts").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "pins"\n\n[tool.pv]\nplugins = ["pinplug"]\n'
                                         "builtins = false\n")
    (root / "contracts" / "pins-v1.yaml").write_text(CONTRACT)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    return root


def _write_plugin(root: Path, pin: str) -> Path:
    path = root / "pinplug.py"
    path.write_text(PLUGIN.replace("PIN_ONE", repr(pin)))
    import sys

    sys.modules.pop("pinplug", None)  # each pv call imports the file as it is now
    return path


def _pins(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict]]:
    code = pv(["pin", "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    return code, {p["falsifier"]: p for p in payload["pins"]}


def test_states_and_update_after_a_claim_changed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_plugin(project, "0" * 16)  # a pin no claim hash starts with: the claim changed under it
    code, pins = _pins(capsys)
    assert code == 1
    assert pins["FALSIFY-PINS-001"]["state"] == "CHANGED" and pins["FALSIFY-PINS-002"]["state"] == "unpinned"
    current = pins["FALSIFY-PINS-001"]["claim"]
    assert pins["FALSIFY-PINS-001"]["line"] == 4  # the decorator's line in the plugin file

    # The run refuses to count the changed claim, and names the command that updates it.
    assert pv(["run", "--isolation", "none", "--no-progress", "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)
    reasons = {r["falsifier_id"]: (r["outcome"], r["message"]) for r in run["results"]}
    assert reasons["FALSIFY-PINS-001"][0] == "NOT_BOUND"
    assert "pv pin --update pins-v1::FALSIFY-PINS-001" in reasons["FALSIFY-PINS-001"][1]

    assert pv(["pin", "--update", "pins-v1::FALSIFY-PINS-001", "FALSIFY-PINS-002"]) == 0
    out = capsys.readouterr().out
    assert "2 pin(s) updated" in out
    source = (project / "pinplug.py").read_text()
    assert f'pin={current[:16]!r})' in source  # replaced in place
    assert "0000000000000000" not in source and source.count("pin=") == 2
    import sys

    sys.modules.pop("pinplug", None)
    code, pins = _pins(capsys)
    assert code == 0 and {p["state"] for p in pins.values()} == {"ok"}
    assert pins["FALSIFY-PINS-002"]["pin"] == pins["FALSIFY-PINS-002"]["claim"][:16]  # added to a multi-line call
    compile(source, "pinplug.py", "exec")  # still valid Python
    sys.modules.pop("pinplug", None)
    assert pv(["pin", "--update", "FALSIFY-PINS-001"]) == 0  # already current: nothing rewritten
    assert "already current" in capsys.readouterr().out


def test_a_pin_that_is_a_prefix_of_the_claim_is_ok(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_plugin(project, "0" * 8)
    _, pins = _pins(capsys)
    claim = pins["FALSIFY-PINS-001"]["claim"]
    _write_plugin(project, claim[:8])  # the shortest pin accepted, exactly the claim's first 8 digits
    code, pins = _pins(capsys)
    assert pins["FALSIFY-PINS-001"]["state"] == "ok" and code == 0


def test_update_of_an_unknown_entry_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_plugin(project, "0" * 16)
    assert pv(["pin", "--update", "pins-v1::FALSIFY-PINS-999"]) == 2
    assert "no bound implementation" in capsys.readouterr().err
    assert pv(["pin", "--update", "FALSIFY-NOPE-001"]) == 2
    assert "name it as CONTRACT::FALSIFIER" in capsys.readouterr().err


def test_text_output_and_changed_filter(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_plugin(project, "0" * 16)
    assert pv(["pin", "--changed"]) == 1
    out = capsys.readouterr().out
    assert "CHANGED   pins-v1::FALSIFY-PINS-001  pin 0000000000000000" in out
    assert "FALSIFY-PINS-002" not in out.split("2 bound")[0]
    assert "2 bound: 1 pinned, 1 changed" in out
