"""md and html scoreboards: counterexamples beside messages, outcome words that never wrap, measured
values rounded for reading (full on hover in html, always full in json)."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from apr_contracts.evidence import EvidenceStore
from apr_contracts.outcomes import Outcome
from apr_contracts.report import renderer
from apr_contracts.report.values import number
from apr_contracts.scoreboard import Scoreboard, build_scoreboard
from tests.core.pv_fixtures import demo_yaml, record_run, result, write_contract

LONG_VALUE = 26900.53019192282
EXAMPLE = {"text": "a  b", "ids": [1, 2, 3], "note": "x" * 200}


@pytest.fixture
def board(tmp_path: Path) -> Scoreboard:
    """FALSIFIED with a long counterexample; a live falsifier measured as an unrounded float."""
    contract = write_contract(tmp_path / "c", demo_yaml(threshold=30000))
    store = EvidenceStore(tmp_path / "e.sqlite")
    falsified = dataclasses.replace(result(contract, "FALSIFY-DEMO-001", Outcome.FALSIFIED, message="add(3, 0) = 4"),
                                    counterexample=EXAMPLE)
    record_run(store, [
        falsified,
        result(contract, "FALSIFY-DEMO-002", Outcome.HELD, measured={"ratio": 0.123456789, "cases": 200}),
        result(contract, "FALSIFY-DEMO-003", Outcome.HELD, measured={"seconds": LONG_VALUE}),
    ])
    return build_scoreboard([contract], store, None)


def test_number_rule() -> None:
    assert [number(v) for v in (LONG_VALUE, 0.123456789, 2.0, 200, 10**18, 1.5e-07, float("inf"), True)] == [
        "26900.5", "0.1235", "2", "200", "1000000000000000000", "1.5e-07", "inf", "True"]


class _Cells(HTMLParser):
    """Every <td> of falsifier rows: (attributes, inner text) and its raw inner HTML's titles."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self.titles: list[str] = []
        self._in: list[str] | None = None
        self._attrs: dict[str, str | None] = {}
        self._row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self._row = a.get("class") == "falsifier-row"
        elif tag == "td" and self._row:
            self._in, self._attrs = [], a
        if self._in is not None and a.get("title"):
            self.titles.append(a["title"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._in is not None:
            self.cells.append((self._attrs, "".join(self._in)))
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._in.append(data)


def _html(board: Scoreboard) -> tuple[str, _Cells]:
    page = renderer("html")(board)
    parser = _Cells()
    parser.feed(page)
    return page, parser


def test_html_shows_the_counterexample_beside_the_message(board: Scoreboard) -> None:
    _page, cells = _html(board)
    full = json.dumps(EXAMPLE, separators=(",", ":"))
    message = next(text for _, text in cells.cells if "add(3, 0) = 4" in text)
    assert "counterexample: " + full[:40] in message  # compact JSON, beside the message
    assert message.endswith("…") and full not in message  # cut short in the cell ...
    assert full in cells.titles  # ... whole on hover


def test_html_never_wraps_an_outcome_word(board: Scoreboard) -> None:
    page, cells = _html(board)
    outcome = [a for a, text in cells.cells if text in ("FALSIFIED", "HELD")]
    assert len(outcome) == 3 and all("outcome" in (a.get("class") or "").split() for a in outcome)
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"td\.outcome\{[^}]*white-space:nowrap", css)
    assert re.search(r"\.badge\{[^}]*white-space:nowrap", css)
    # the rule that broke "FALSIFIE/D": overflow-wrap on every 3rd cell, nested falsifier tables included
    assert not re.search(r"#contracts td:nth-child\(3\)\{[^}]*overflow-wrap", css)


def test_html_rounds_measured_values_and_keeps_them_on_hover(board: Scoreboard) -> None:
    _page, cells = _html(board)
    measured = [(a, text) for a, text in cells.cells if "seconds=" in text]
    [(attrs, text)] = measured
    assert "seconds=26900.5 (need <= 30000)" in text and str(LONG_VALUE) not in text
    assert str(LONG_VALUE) in (attrs.get("title") or "")
    assert any("ratio=0.1235" in t and "cases=200" in t for _, t in cells.cells)


def test_markdown_counterexample_rounding_and_outcome(board: Scoreboard) -> None:
    text = renderer("md")(board)
    row = next(line for line in text.splitlines() if line.startswith("| `FALSIFY-DEMO-001`"))
    assert "add(3, 0) = 4 · counterexample: `" + json.dumps(EXAMPLE, separators=(",", ":"))[:40] in row
    assert "…" in row and "x" * 100 not in row
    assert "❌\u00a0FALSIFIED" in row  # icon and word tied: no break between them
    assert "seconds=26900.5 (need &lt;= 30000)" in text and str(LONG_VALUE) not in text  # md escapes <
    assert "ratio=0.1235" in text


def test_json_keeps_full_values(board: Scoreboard) -> None:
    data = json.loads(renderer("json")(board))
    [contract] = data["contracts"]
    by_id = {f["id"]: f for f in contract["falsifiers"]}
    assert by_id["FALSIFY-DEMO-003"]["measured"] == {"seconds": LONG_VALUE}
    assert by_id["FALSIFY-DEMO-002"]["measured"]["ratio"] == 0.123456789
    assert by_id["FALSIFY-DEMO-001"]["counterexample"] == EXAMPLE
