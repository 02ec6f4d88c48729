"""`pv ship` end to end with a fake plugin: drift with file:line, --fail-on, a regression after a re-run,
`pv diff` ship-% movement, and the ship-% section of the md/html/json scoreboards."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

PLUGIN = '''
import os, sys
from apr_contracts import falsifier, hookimpl

@falsifier("FALSIFY-SHIP-A")
def a(ctx):
    return ctx.held()

@falsifier("FALSIFY-SHIP-B")
def b(ctx):
    if os.path.exists(os.environ["SHIP_BREAK_MARKER"]):
        return ctx.falsified("broken on purpose", counterexample=1)
    return ctx.held()

@falsifier("FALSIFY-SHIP-LIVE", level="live")
def live(ctx):
    return ctx.measured(loss=1.0)

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__], contract="ship-v1")
'''

CONTRACT = """\
metadata: {id: ship-v1, version: 1.0.0, description: fake}
falsification_tests:
- {id: FALSIFY-SHIP-A, rule: ra, prediction: pa, if_fails: fa, level: algorithm}
- {id: FALSIFY-SHIP-B, rule: rb, prediction: pb, if_fails: fb, level: algorithm}
- id: FALSIFY-SHIP-LIVE
  rule: rl
  prediction: pl
  if_fails: fl
  level: live
  thresholds: [{metric: loss, op: "<=", value: 2.0}]
"""

# The typed status claims three met criteria; the evidence supports two (AC-3 needs live evidence).
ACCEPTANCE = """\
acceptance:
  id: fake-acceptance
  version: 1.0.0
products:
- id: FAKE
  title: a fake product
  status: {count: 3, of: 3, ids: [AC-1, AC-2, AC-3]}
  criteria:
  - {id: AC-1, title: a holds, falsifiers: [FALSIFY-SHIP-A]}
  - {id: AC-2, title: b holds, falsifiers: [FALSIFY-SHIP-B], weight: 2}
  - {id: AC-3, title: live, falsifiers: [FALSIFY-SHIP-A, FALSIFY-SHIP-LIVE], live: true}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "shipplug.py").write_text(PLUGIN)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("SHIP_BREAK_MARKER", str(tmp_path / "break"))
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "ship-v1.yaml").write_text(CONTRACT)
    (tmp_path / "acceptance").mkdir()
    (tmp_path / "acceptance" / "fake.yaml").write_text(ACCEPTANCE)
    return tmp_path


def run(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> int:
    code = pv(["run", str(project / "contracts"), "-p", "shipplug", "--evidence", str(project / "ev.sqlite"),
               "--format", "json", "--timeout", "20", *extra])
    capsys.readouterr()
    return code


def ship(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = pv(["ship", str(project / "contracts"), str(project / "acceptance"), "--evidence",
               str(project / "ev.sqlite"), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_ship_end_to_end(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == 0  # default level: the live falsifier does not run
    code, out, _ = ship(project, capsys, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["version"] == 1
    (product,) = data["products"]
    assert product["id"] == "FAKE" and product["ship_percent"] == 75.0  # weights 1 + 2 of 4
    statuses = {c["id"]: c["status"] for c in product["criteria"]}
    assert statuses == {"AC-1": "MET", "AC-2": "MET", "AC-3": "UNMET"}
    ac3 = next(c for c in product["criteria"] if c["id"] == "AC-3")
    assert [m["reason"] for m in ac3["missing"]] == ["no_evidence", "live_required"]
    assert {f["id"] for f in ac3["falsifiers"]} == {"ship-v1::FALSIFY-SHIP-A", "ship-v1::FALSIFY-SHIP-LIVE"}
    # The typed status claims one more met criterion than the evidence supports: drift, with file:line.
    drift = product["drift"]
    assert drift and all(d["file"] == "acceptance/fake.yaml" and d["line"] == 7 for d in drift)
    assert any("status.count is 3, but 2 criteria are MET" in d["message"] for d in drift)
    assert any("AC-3" in d["message"] for d in drift)
    code, out, _ = ship(project, capsys)
    assert "acceptance/fake.yaml:7: FAKE: status.count is 3" in out and "75.0 %" in out
    code, out, _ = ship(project, capsys, "--format", "github")
    assert "::warning file=acceptance/fake.yaml,line=7" in out
    assert ship(project, capsys, "--fail-on", "drift")[0] == 1
    assert ship(project, capsys, "--fail-on", "below:80")[0] == 1
    assert ship(project, capsys, "--fail-on", "below:75")[0] == 0
    assert ship(project, capsys, "--fail-on", "regression")[0] == 0
    assert ship(project, capsys, "--fail-on", "below:abc")[0] == 2
    assert ship(project, capsys, "--fail-on", "sometimes")[0] == 2

    # The live falsifier meets AC-3 once it runs at live level: ship-% reaches 100.
    assert run(project, capsys, "--level", "all") == 0
    code, out, _ = ship(project, capsys, "--format", "json")
    assert json.loads(out)["products"][0]["ship_percent"] == 100.0

    # A re-run that turns AC-2 from MET into FALSIFIED is a regression (exit 1), with the reason.
    (project / "break").write_text("")
    assert run(project, capsys, "--rerun") == 1
    code, out, err = ship(project, capsys, "--fail-on", "regression")
    assert code == 1 and "AC-2 was MET" in err and "FALSIFIED" in err
    data = json.loads(ship(project, capsys, "--format", "json")[1])
    history = data["products"][0]["history"]
    assert [h["ship_percent"] for h in history] == [75.0, 100.0, 50.0]

    # pv diff shows the ship-% movement and which falsifier moved it.
    assert pv(["diff", "latest~1", "latest", "--evidence", str(project / "ev.sqlite"), "--paths",
               str(project / "contracts"), str(project / "acceptance")]) == 0
    out = capsys.readouterr().out
    assert "FAKE: 100.0 % -> 50.0 %" in out
    assert "AC-2: MET -> FALSIFIED (ship-v1::FALSIFY-SHIP-B: HELD -> FALSIFIED)" in out
    assert pv(["diff", "latest~1", "latest", "--evidence", str(project / "ev.sqlite"), "--format", "json",
               "--paths", str(project / "contracts"), str(project / "acceptance")]) == 0
    moved = json.loads(capsys.readouterr().out)["ship"][0]
    assert (moved["old_percent"], moved["new_percent"]) == (100.0, 50.0)
    # without acceptance files among the paths, diff is as before
    assert pv(["diff", "latest~1", "latest", "--evidence", str(project / "ev.sqlite"), "--format", "json",
               "--paths", str(project / "contracts")]) == 0
    assert "ship" not in json.loads(capsys.readouterr().out)


def test_scoreboard_md_html_json_gain_the_ship_section(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == 0
    paths = [str(project / "contracts"), str(project / "acceptance")]
    base = ["scoreboard", *paths, "--evidence", str(project / "ev.sqlite"), "--no-plugins"]
    assert pv([*base, "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert "## Ship-% (acceptance criteria)" in md and "**75.0 %**" in md and "acceptance/fake.yaml:7" in md
    assert pv([*base, "--format", "html"]) == 0
    page = capsys.readouterr().out
    section = page[page.index('<section id="ship">'):page.index("</section>")]
    assert "75.0 %" in section and 'data-criterion="AC-3"' in section and "<details>" in section
    assert pv([*base, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ship"]["products"][0]["ship_percent"] == 75.0
    # contracts only: no ship section
    assert pv(["scoreboard", paths[0], "--evidence", str(project / "ev.sqlite"), "--no-plugins", "--format", "md"]) == 0
    assert "Ship-%" not in capsys.readouterr().out


def test_ship_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["ship", str(project / "contracts")]) == 2
    assert "no acceptance file" in capsys.readouterr().err
    assert pv(["ship", str(project / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    # no database yet: every criterion pending, said in a note, exit 0
    code = pv(["ship", str(project / "contracts"), str(project / "acceptance")])
    out = capsys.readouterr().out
    assert code == 0 and "0.0 %" in out and "no evidence database" in out


def test_ship_html_renders_without_javascript(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == 0
    code, page, _ = ship(project, capsys, "--format", "html")
    assert code == 0 and "<script" not in page
    assert textwrap.dedent("75.0 %") in page and "<details><summary>" in page
