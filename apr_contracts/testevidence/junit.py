"""Read JUnit XML (pytest ``--junitxml``, cargo-nextest, any JUnit producer) into test cases.

Report files come from CI artifacts and other people's machines: hostile input is normal input.
The XML is parsed with expat directly so that a document type declaration (the way to declare
entities, the "billion laughs" and external-entity attacks) is refused before anything expands,
and files above :data:`~.cases.MAX_REPORT_BYTES` are refused before they are read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from apr_contracts.testevidence.cases import MAX_REPORT_BYTES, CaseOutcome, ReportError, TestCase

FALSIFIES_PROPERTY = "falsifies"  # <property name="falsifies" value="[CONTRACT::]ID"/>
MEASURED_PREFIX = "pv-measured:"  # <property name="pv-measured:METRIC" value="1.5"/>


class _Refused(Exception):
    pass


def _refuse_dtd(*_args: object) -> None:
    raise _Refused("it declares a document type (<!DOCTYPE>/<!ENTITY>), which a test report never needs")


def _refuse_external(*_args: object) -> int:
    raise _Refused("it refers to an external entity, which a test report never needs")


def parse_xml(data: bytes) -> ET.Element:
    """Elements of ``data``; raises _Refused / expat.ExpatError for a DTD or malformed XML."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = lambda tag, attrs: builder.start(tag, attrs)
    parser.EndElementHandler = lambda tag: builder.end(tag)
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close()


def read_bounded(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ReportError(f"{path}: {size} bytes is more than a test report may be ({MAX_REPORT_BYTES}); "
                              "split the run into several reports and import each")
        return path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its permissions") from exc


def looks_like_junit(data: bytes) -> bool:
    head = data[:4096].lstrip()
    return head.startswith(b"<") and (b"<testsuite" in head or b"<testsuites" in head or head.startswith(b"<?xml"))


def read_junit(path: Path, data: bytes | None = None) -> list[TestCase]:
    """Every ``<testcase>`` of the JUnit file at ``path`` (ReportError when it is not usable)."""
    data = read_bounded(path) if data is None else data
    try:
        root = parse_xml(data)
    except _Refused as exc:
        raise ReportError(f"{path}: refused: {exc}; produce it again with the test runner's own JUnit option") from exc
    except expat.ExpatError as exc:
        raise ReportError(f"{path}: not well-formed XML ({exc}); pass the JUnit file your test runner wrote "
                          "(pytest --junitxml=FILE, cargo nextest with [profile.*.junit])") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"{path}: not a JUnit report (its root element is <{root.tag}>, expected <testsuites> "
                          "or <testsuite>)")
    nextest = root.tag == "testsuites" and "nextest" in (root.get("name") or "")
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    cases: list[TestCase] = []
    for suite in suites:
        for element in suite.iter("testcase"):
            cases.append(_case(element, suite, str(path), nextest))
    return cases


def _case(element: ET.Element, suite: ET.Element, report: str, nextest: bool) -> TestCase:
    name = element.get("name") or ""
    classname = element.get("classname") or ""
    file = element.get("file") or ""
    try:
        duration = float(element.get("time") or 0.0)
    except ValueError:
        duration = 0.0
    outcome, message, details = CaseOutcome.PASSED, "", ""
    for tag, found in (("failure", CaseOutcome.FAILED), ("error", CaseOutcome.ERROR), ("skipped", CaseOutcome.SKIPPED)):
        child = element.find(tag)
        if child is not None:
            outcome, message, details = found, child.get("message") or "", (child.text or "").strip()
            break
    if outcome is CaseOutcome.PASSED:
        # nextest puts a failed test's output beside <failure>; pytest's captured output lives here too
        details = "\n".join((c.text or "").strip() for c in element if c.tag in ("system-out", "system-err"))
    falsifies: list[str] = []
    measured: dict[str, float] = {}
    for prop in element.findall("properties/property"):
        key, value = prop.get("name") or "", prop.get("value") or ""
        if key == FALSIFIES_PROPERTY:
            falsifies.extend(v.strip() for v in value.split(",") if v.strip())
        elif key.startswith(MEASURED_PREFIX):
            try:
                measured[key[len(MEASURED_PREFIX):]] = float(value)
            except ValueError:
                continue
    kind = "python" if file.endswith(".py") or (suite.get("name") == "pytest" and not nextest) else ""
    if nextest or "::" in name or "::" in classname:
        kind = "rust"
    return TestCase(name=name, classname=classname, file=file, outcome=outcome, message=message, details=details,
                    duration_s=duration, falsifies=tuple(falsifies), measured=measured, report=report, kind=kind)
