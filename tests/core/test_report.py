"""Reporters: markdown for job summaries, strict JSON, JUnit XML, self-contained HTML, text."""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from apr_contracts.evidence import EvidenceStore
from apr_contracts.outcomes import Outcome
from apr_contracts.report import BUILTIN_FORMATS, renderer
from apr_contracts.report import html as html_report
from apr_contracts.scoreboard import Scoreboard, build_scoreboard
from tests.core.pv_fixtures import all_held, demo_yaml, record_run, result, write_contract

IDS = ["FALSIFY-DEMO-001", "FALSIFY-DEMO-002", "FALSIFY-DEMO-003"]


@pytest.fixture
def board(tmp_path: Path) -> Scoreboard:
    """Two contracts; the second has FALSIFIED (with pipes, markup and control characters), ERROR and SKIPPED."""
    good = write_contract(tmp_path / "good", demo_yaml())
    bad_text = demo_yaml().replace("id: demo-adder-v1", "id: demo-broken-v1")
    bad = write_contract(tmp_path / "bad", bad_text, name="demo-broken-v1.yaml")
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, all_held(good))
    record_run(store, all_held(good, seconds=1.5))
    record_run(store, [
        result(bad, IDS[0], Outcome.FALSIFIED, message="a|b <script>alert(1)</script> \x1b[31mred\x00",
               measured={"x": float("inf")}),
        result(bad, IDS[1], Outcome.ERROR, message="RuntimeError: boom"),
        result(bad, IDS[2], Outcome.SKIPPED, message="optional dependency 'llama_cpp' is not importable"),
    ])
    return build_scoreboard([good, bad], store, None)


def test_every_builtin_format_renders(board: Scoreboard) -> None:
    for fmt in BUILTIN_FORMATS:
        text = renderer(fmt)(board)
        assert "demo-broken-v1" in text, fmt
        assert ("demo-adder-v1" in text) is (fmt != "github"), fmt  # annotations name findings only
    with pytest.raises(KeyError, match="unknown format 'yaml'"):
        renderer("yaml")
    assert renderer("csv", {"csv": lambda b: "x"})(board) == "x"


def test_json_is_strict_standard_json(board: Scoreboard) -> None:
    text = renderer("json")(board)
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    bad = next(c for c in data["contracts"] if c["id"] == "demo-broken-v1")
    assert bad["falsifiers"][0]["measured"] == {"x": "inf"}
    assert [f["outcome"] for f in bad["falsifiers"]] == ["FALSIFIED", "ERROR", "SKIPPED"]


def test_markdown_table_is_well_formed(board: Scoreboard) -> None:
    text = renderer("md")(board)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Contract |"))
    columns = lines[header].count("|")
    rows = lines[header + 2: header + 4]
    assert len(rows) == 2 and all(r.count("|") - r.count("\\|") == columns for r in rows)
    assert "🔴 **FALSIFIED**" in text and "✅ **DISCHARGED**" in text
    assert "<script>" not in text and "&lt;script&gt;" in text  # markup from messages is neutralized
    assert "a\\|b" in text  # a pipe in a message cannot break the table
    assert text.count("<details>") == text.count("</details>") == 2


def test_junit_maps_outcomes_to_test_cases(board: Scoreboard) -> None:
    root = ET.fromstring(renderer("junit")(board).encode("utf-8"))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6", "failures": "1", "errors": "1", "skipped": "1"}
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    bad = suites["demo-broken-v1"]
    cases = {c.get("name"): c for c in bad.iter("testcase")}
    failure = cases["FALSIFY-DEMO-001"].find("failure")
    assert failure is not None and failure.get("type") == "FALSIFIED"
    assert "<script>" in (failure.get("message") or "")  # escaped in XML, intact once parsed
    assert "\x1b" not in (failure.get("message") or "")
    error = cases["FALSIFY-DEMO-002"].find("error")
    assert error is not None and "boom" in (error.get("message") or "")
    skipped = cases["FALSIFY-DEMO-003"].find("skipped")
    assert skipped is not None and "llama_cpp" in (skipped.get("message") or "")
    good_cases = list(suites["demo-adder-v1"].iter("testcase"))
    assert all(c.find("failure") is None and c.find("error") is None and c.find("skipped") is None
               for c in good_cases)


def test_html_is_self_contained(board: Scoreboard) -> None:
    page = renderer("html")(board)
    assert page.startswith("<!DOCTYPE html>")
    # nothing is fetched: no external src/href, no @import, no url() to the network
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?https?:", page)
    assert "default-src 'none'" in page  # and the page forbids it anyway
    # the embedded data cannot close its <script> early, whatever a message contains
    data_block = page.split('id="board-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_block
    data = json.loads(data_block)
    assert {c["id"] for c in data["contracts"]} == {"demo-adder-v1", "demo-broken-v1"}
    assert '<svg id="status-chart"' in page
    bars = re.findall(r'class="bar" data-run="(\d+)" data-status="(\w+)"', page)
    # one stacked segment per (run, status): the broken contract is PROPOSED until run 3 falsifies it
    assert bars == [("1", "PROPOSED"), ("1", "DISCHARGED"), ("2", "PROPOSED"), ("2", "DISCHARGED"),
                    ("3", "FALSIFIED"), ("3", "DISCHARGED")]


def test_chart_without_runs_says_so(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    svg = html_report.chart_svg(build_scoreboard([contract], None, None))
    assert "no runs recorded yet" in svg and 'class="bar"' not in svg


def test_text_report(board: Scoreboard) -> None:
    text = renderer("text")(board)
    assert "FALSIFIED" in text and "DISCHARGED" in text and "RuntimeError: boom" in text
    assert "\x1b[" not in text.replace("\x1b[31mred", "")  # no colour codes unless asked


def test_github_annotations(board: Scoreboard) -> None:
    lines = renderer("github")(board).splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 2
    falsified = next(line for line in errors if "FALSIFY-DEMO-001 FALSIFIED" in line)
    # file and line point at the falsifier entry in the contract; newlines/commas cannot break the command
    assert falsified.startswith("::error file=") and ",line=" in falsified
    assert falsified.count("::") == 2 and "\n" not in falsified
    line_no = int(falsified.split(",line=")[1].split(",")[0])
    bad_file = next(c.file for c in board.contracts if c.id == "demo-broken-v1")
    assert Path(bad_file).read_text().splitlines()[line_no - 1].lstrip("- ").startswith("id: FALSIFY-DEMO-001")
    assert lines[-1].startswith("::notice title=pv scoreboard::2 contract(s)")


def test_markdown_stays_within_a_job_summary_budget(board: Scoreboard) -> None:
    from apr_contracts.report import markdown

    full = markdown.render(board)
    small = markdown.render(board, budget=len(full.encode()) - 1)
    assert "<details>" in full and "<details>" not in small
    assert "| `demo-broken-v1` |" in small and "details omitted" in small
    assert len(small) < len(full)


LONG_IDS = ["FALSIFY-TOK-ENCODE-CORPUS-LIVE-001", "FALSIFY-PRETRAIN-ARCH-POLY-LIVE-002", "FALSIFY-PRETRAIN-ARCH-003"]


@pytest.fixture
def long_board(tmp_path: Path) -> Scoreboard:
    """Real-length ids and statuses: the words a 13-column table used to fold mid-word."""
    text = demo_yaml(status="PARTIAL_ALGORITHM_LEVEL").replace("id: demo-adder-v1", "id: apr-pretrain-arch-polymorphic-v1")
    for short, long in zip(IDS, LONG_IDS, strict=True):
        text = text.replace(short, long)
    contract = write_contract(tmp_path, text, name="apr-pretrain-arch-polymorphic-v1.yaml")
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, [
        result(contract, LONG_IDS[0], Outcome.HELD, measured={"documents_per_second_integration": 123456.5}),
        result(contract, LONG_IDS[1], Outcome.ERROR, message="integration " * 12 + "RuntimeError: checkpoint"),
    ])
    return build_scoreboard([contract], store, None)


@pytest.mark.parametrize("width", [100, 60])
def test_text_report_never_breaks_a_word(long_board: Scoreboard, width: int) -> None:
    from apr_contracts.report import text as text_report

    out = text_report.render(long_board, width=width)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width, out
    words = ["apr-pretrain-arch-polymorphic-v1", "PARTIAL_ALGORITHM_LEVEL", "integration", "algorithm",
             "version", *LONG_IDS, "ERROR", "RuntimeError:", "checkpoint"]
    tokens = set(out.split())
    for word in words[:2] + LONG_IDS + ["integration", "ERROR", "RuntimeError:", "checkpoint"]:
        assert word in tokens, (word, out)
    # no word starts at the end of one line and continues on the next
    for a, b in itertools.pairwise(lines):
        tail, head = (a.split() or [""])[-1], (b.split() or [""])[0]
        for word in words:
            for cut in range(1, len(word)):
                assert not (tail.endswith(word[:cut]) and head.startswith(word[cut:])), (word, a, b)
    assert "…" not in "".join(w for w in tokens if w.startswith(("FALSIFY", "apr-", "PARTIAL")))
    # stacked when narrow: the id and derived status lead one block, the counts follow
    if width == 60:
        first = next(i for i, line in enumerate(lines) if line.startswith("apr-pretrain-arch-polymorphic-v1 "))
        assert lines[first].split() == ["apr-pretrain-arch-polymorphic-v1", "PARTIAL_ALGORITHM_LEVEL"]
        assert "held 1" in lines[first + 1] and "error 1" in out and "declared PARTIAL_ALGORITHM_LEVEL" in out


def test_text_report_uses_the_compact_table_when_it_fits(board: Scoreboard) -> None:
    from apr_contracts.report import text as text_report

    out = text_report.render(board, width=100)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if line.startswith("contract "))
    assert header.split() == ["contract", "derived", "declared", "H/F/E/S/P", "lvl", "run"]
    row = next(line for line in lines if line.startswith("demo-broken-v1 "))
    assert row.split()[1:4] == ["FALSIFIED", "—", "0/1/1/1/0"]


class _VisibleText(HTMLParser):
    """What a browser with JavaScript disabled shows: text outside <script>, per falsifier and contract row."""

    def __init__(self) -> None:
        super().__init__()
        self.in_script = False
        self.rows: list[tuple[dict[str, str | None], list[str]]] = []  # (attributes, texts) of each <tr>
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_script = self.in_script or tag == "script"
        if tag == "tr":
            self.rows.append((dict(attrs), []))

    def handle_endtag(self, tag: str) -> None:
        self.in_script = self.in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if not self.in_script:
            self.text.append(data)
            if self.rows:
                self.rows[-1][1].append(data)


def test_html_reads_without_javascript(board: Scoreboard) -> None:
    page = renderer("html")(board)
    no_js = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    parser = _VisibleText()
    parser.feed(no_js)
    visible = "".join(parser.text)
    contract_rows = [(a, t) for a, t in parser.rows if a.get("class") == "contract-row"]
    assert [a["data-contract"] for a, _ in contract_rows] == ["demo-adder-v1", "demo-broken-v1"]
    for attrs, texts in contract_rows:
        assert texts[0].strip() == "▸" and attrs["aria-expanded"] == "false"  # marked expandable
        assert (attrs["data-contract"] or "") in visible
    # each contract's falsifiers sit in a native <details> (opens without JS), one per contract
    assert no_js.count("<details") == 2 and no_js.count("<summary>details: 3 falsifier(s)") == 2
    falsifier_rows = {(a["data-falsifier"], t[2]) for a, t in parser.rows if a.get("class") == "falsifier-row"}
    assert falsifier_rows == {(fid, "HELD") for fid in IDS} | {
        ("FALSIFY-DEMO-001", "FALSIFIED"), ("FALSIFY-DEMO-002", "ERROR"), ("FALSIFY-DEMO-003", "SKIPPED")}
    assert "RuntimeError: boom" in visible and "a|b <script>alert(1)</script> [31mred" in visible
    assert "<script>alert" not in no_js  # message markup escaped
    history = [a["data-contract"] for a, _ in parser.rows if a.get("class") == "history-row"]
    assert history == ["demo-adder-v1", "demo-broken-v1"]
