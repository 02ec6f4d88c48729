"""Text from contracts and evidence is printed as data: escape sequences shown, never obeyed; markup
never interpreted; a line that would be a GitHub Actions workflow command defused (report/plain.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.report.plain import safe_console, visible

HOSTILE = "a\x1b]0;pwned\x07b\x1b[2Jc\u202ed"


def test_visible_shows_control_characters_and_keeps_newlines_and_tabs() -> None:
    assert visible(HOSTILE) == "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\u202ed"
    assert visible("one\n\ttwo") == "one\n\ttwo"
    assert visible("fine [bold]text[/]") == "fine [bold]text[/]"


def test_visible_defuses_workflow_commands_only_at_line_start() -> None:
    assert visible("msg\n::error file=x::boom\n  ::warning::w") == "msg\n\\x3a:error file=x::boom\n  \\x3a:warning::w"
    assert visible("a :: b") == "a :: b"


def test_keep_sgr_lets_colours_through_but_not_other_sequences() -> None:
    assert visible("\x1b[1;31mred\x1b[0m \x1b[2J", keep_sgr=True) == "\x1b[1;31mred\x1b[0m \\x1b[2J"


def test_safe_console_writes_visible_text() -> None:
    out = io.StringIO()
    with safe_console(out) as console:
        console.print(HOSTILE, markup=False)
    assert "\x1b" not in out.getvalue() and "\\x1b]0;pwned" in out.getvalue()


CONTRACT = """\
metadata:
  id: hostile-v1
  version: 1.0.0
  description: A contract whose text tries to drive the terminal.
falsification_tests:
- id: FALSIFY-HOSTILE-001
  rule: "Nothing [/] happens \\x1b]0;title\\x07"
  prediction: "[link=https://evil.example]click[/link]"
  if_fails: "\\n::error file=x::injected"
"""

PLUGIN = """\
import sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-HOSTILE-001", contract="hostile-v1")
def shouts(ctx):
    return ctx.falsified("[/] broken\\n::error file=README.md::owned \\x1b[2J")

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "hostile"
    (root / "contracts").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "h"\n[tool.pv]\nplugins = ["hostileplug"]\nbuiltins = false\n')
    (root / "contracts" / "hostile-v1.yaml").write_text(CONTRACT)
    (root / "hostileplug.py").write_text(PLUGIN)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    return root


def test_run_status_and_scoreboard_print_hostile_messages_as_data(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["run", "--isolation", "none", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "[/] broken" in out and "\\x3a:error file=README.md::owned \\x1b[2J" in out
    assert "\x1b" not in out and "\n::" not in out
    assert pv(["status", "hostile-v1"]) == 0
    out = capsys.readouterr().out
    assert "[/] broken" in out and "\x1b" not in out and "\n::" not in out
    pv(["scoreboard", "--format", "text"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\n::" not in out and "FALSIFY-HOSTILE-001" in out
    assert pv(["status", "hostile-v1", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)  # JSON keeps the exact text (escaped by the encoder)
    assert payload["contract"]["falsifiers"][0]["message"] == "[/] broken\n::error file=README.md::owned \x1b[2J"
