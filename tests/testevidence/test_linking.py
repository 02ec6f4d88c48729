"""Linking and report reading without running any test tool: JUnit (pytest, nextest) and libtest
shapes, the order explicit → test: → convention, ambiguity reported, outcomes of several cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testevidence.cases import CaseOutcome, ReportError, TestCase
from apr_contracts.testevidence.importer import verdict
from apr_contracts.testevidence.libtest import read_report
from apr_contracts.testevidence.link import link
from apr_contracts.testevidence.refs import references


@dataclass
class Entry:
    id: str
    test: str | None = None
    level: str = "algorithm"
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Contract:
    id: str
    falsifiers: list[Entry]
    path: Path = Path("c.yaml")
    version: str | None = "1"
    equations: dict[str, Any] = field(default_factory=dict)


NEXTEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="1" errors="0">
  <testsuite name="aprender-train" tests="3" failures="1">
    <testcase name="tests::falsify_apr_pretrain_arch_009_accepts_reserved" classname="aprender-train" time="0.01"/>
    <testcase name="transformer::config::tests::qwen2_matches" classname="aprender-train" time="0.02">
      <failure type="test failure">thread panicked: left != right</failure>
    </testcase>
    <testcase name="tests::ignored_one" classname="aprender-train" time="0"><skipped/></testcase>
  </testsuite>
</testsuites>
"""


def test_nextest_junit_links_by_convention_and_rust_path(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_bytes(NEXTEST)
    cases = read_report(report)
    assert [c.kind for c in cases] == ["rust"] * 3
    contract = Contract("arch-v1", [
        Entry("FALSIFY-APR-PRETRAIN-ARCH-009"),  # convention
        Entry("FALSIFY-ARCH-QWEN", test="cargo test -p aprender-train --lib transformer::config::tests::qwen2_matches"),
        Entry("FALSIFY-ARCH-OTHER", test="cargo test -p apr-cli --lib qwen2_matches"),  # another package
    ])
    linking = link(cases, [contract])
    assert linking.links[("arch-v1", "FALSIFY-APR-PRETRAIN-ARCH-009")].how == "convention"
    qwen = linking.links[("arch-v1", "FALSIFY-ARCH-QWEN")]
    assert verdict(qwen.cases)[0] is Outcome.FALSIFIED
    assert linking.links[("arch-v1", "FALSIFY-ARCH-OTHER")].unmatched  # -p apr-cli: no such test in the report
    assert any("FALSIFY-ARCH-OTHER" in p and "matches no test case" in p for p in linking.problems)


def test_the_same_id_in_two_contracts_is_ambiguous_never_guessed() -> None:
    case = TestCase(name="test_falsify_x_001_works", classname="tests.test_a", kind="python", report="r.xml")
    marked = TestCase(name="test_marked", classname="tests.test_a", kind="python", report="r.xml",
                      falsifies=("FALSIFY-X-001",))
    a, b = Contract("a-v1", [Entry("FALSIFY-X-001")]), Contract("b-v1", [Entry("FALSIFY-X-001")])
    linking = link([case, marked], [a, b])
    assert linking.links == {}
    assert any("ambiguous" in p for p in linking.problems)
    assert any("write CONTRACT::ID" in p for p in linking.problems)
    qualified = TestCase(name="test_marked", classname="tests.test_a", kind="python", falsifies=("b-v1::FALSIFY-X-001",))
    assert set(link([qualified], [a, b]).links) == {("b-v1", "FALSIFY-X-001")}


def test_prefix_ids_and_explicit_precedence() -> None:
    case = TestCase(name="test_falsify_x_001_b_case", classname="t", kind="python")
    contract = Contract("c-v1", [Entry("FALSIFY-X-001"), Entry("FALSIFY-X-001-B")])
    assert link([case], [contract]).links == {}  # fits both names: reported, linked to neither
    explicit = TestCase(name="test_falsify_x_001_b_case", classname="t", kind="python", falsifies=("FALSIFY-X-001",))
    assert set(link([explicit], [contract]).links) == {("c-v1", "FALSIFY-X-001")}


def test_several_cases_hold_only_if_all_passed() -> None:
    ok = TestCase(name="a", outcome=CaseOutcome.PASSED)
    skipped = TestCase(name="b", outcome=CaseOutcome.SKIPPED, message="no gpu")
    error = TestCase(name="c", outcome=CaseOutcome.ERROR, message="fixture broke")
    failed = TestCase(name="d", outcome=CaseOutcome.FAILED, message="assert 1 == 2")
    assert verdict([ok, ok])[0] is Outcome.HELD
    assert verdict([ok, skipped])[0] is Outcome.SKIPPED
    assert verdict([ok, error, skipped])[0] is Outcome.ERROR
    outcome, message, counter = verdict([ok, error, failed])
    assert outcome is Outcome.FALSIFIED and "assert 1 == 2" in message and counter["message"] == "assert 1 == 2"


def test_parametrized_node_id_collects_every_parameter() -> None:
    cases = [TestCase(name=f"test_p[{n}]", classname="pkg.tests.test_mod", kind="python") for n in range(3)]
    contract = Contract("c-v1", [Entry("FALSIFY-P-001", test="tests/test_mod.py::test_p")])
    assert len(link(cases, [contract]).links[("c-v1", "FALSIFY-P-001")].cases) == 3


@pytest.mark.parametrize(("text", "kind"), [
    ("cargo test -p aprender-train --lib -- falsify_a --exact && cargo test -p apr-cli b::tests::c", "filter"),
    ("tests/test_x.py::TestA::test_b", "pytest"),
    ("aprender::transformer::tests::fn_name", "rust"),
    ("python -m pytest tests/test_x.py::test_y -q", "pytest"),
])
def test_references_read_from_test_fields(text: str, kind: str) -> None:
    refs = references(text)
    assert refs is not None and refs[0].kind == kind


@pytest.mark.parametrize("text", ["proptest with random x", "pv validate c.yaml", "cargo test | tee log",
                                  "pytest -k 'a or b'", None])
def test_fields_that_name_no_readable_test(text: str | None) -> None:
    assert references(text) is None


def test_oversized_report_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import apr_contracts.testevidence.junit as junit

    report = tmp_path / "big.xml"
    report.write_bytes(b"<testsuite>" + b" " * 2048 + b"</testsuite>")
    monkeypatch.setattr(junit, "MAX_REPORT_BYTES", 1024)
    with pytest.raises(ReportError, match="more than a test report may be"):
        read_report(report)
