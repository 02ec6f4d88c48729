"""Read libtest's JSON event stream (``cargo test -- -Z unstable-options --format json``; stable
toolchains emit it with ``RUSTC_BOOTSTRAP=1``) into test cases.

One JSON object per line; cargo's own lines ("Running ...", compiler output) may be interleaved
when stderr was captured too, so lines that are not JSON objects are skipped. A file with no test
event at all is refused: it was not produced with ``--format json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apr_contracts.testevidence.cases import CaseOutcome, ReportError, TestCase
from apr_contracts.testevidence.junit import read_bounded

_OUTCOMES = {"ok": CaseOutcome.PASSED, "failed": CaseOutcome.FAILED, "ignored": CaseOutcome.SKIPPED,
             "timeout": CaseOutcome.FAILED}


def looks_like_libtest(data: bytes) -> bool:
    for line in data[:65536].splitlines():
        stripped = line.strip()
        if stripped.startswith(b"{") and b'"type"' in stripped:
            return True
    return False


def read_libtest(path: Path, data: bytes | None = None) -> list[TestCase]:
    data = read_bounded(path) if data is None else data
    text = data.decode("utf-8", errors="replace")
    cases: list[TestCase] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event: Any = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict) or event.get("type") != "test":
            continue
        outcome = _OUTCOMES.get(str(event.get("event")))
        if outcome is None:  # "started"
            continue
        stdout = str(event.get("stdout") or "")
        message = str(event.get("message") or "") or _panic_line(stdout)
        try:
            duration = float(event.get("exec_time") or 0.0)
        except (TypeError, ValueError):
            duration = 0.0
        cases.append(TestCase(name=str(event.get("name") or ""), outcome=outcome, message=message, details=stdout,
                              duration_s=duration, report=str(path), kind="rust"))
    if not cases:
        raise ReportError(f"{path}: no libtest test events in it; produce it with "
                          "`RUSTC_BOOTSTRAP=1 cargo test -- -Z unstable-options --format json > FILE`")
    return cases


def _panic_line(stdout: str) -> str:
    """The panic message libtest captured (``thread '...' panicked at src/lib.rs:9:5:\\nassertion ...``)."""
    lines = stdout.strip().splitlines()
    for n, line in enumerate(lines):
        if "panicked at" in line:
            rest = [ln for ln in lines[n + 1:n + 4] if ln.strip() and not ln.startswith("note:")]
            return " ".join([line.strip(), *rest]).strip()
    return lines[-1] if lines else ""


def read_report(path: Path) -> list[TestCase]:
    """Cases of a JUnit XML or libtest JSON file, told apart by content (not by the file name)."""
    from apr_contracts.testevidence.junit import looks_like_junit, read_junit

    data = read_bounded(path)
    if looks_like_junit(data):
        return read_junit(path, data)
    if looks_like_libtest(data):
        return read_libtest(path, data)
    raise ReportError(f"{path}: neither JUnit XML nor a libtest JSON event stream; pass a file written by "
                      "`pytest --junitxml=FILE`, cargo-nextest's JUnit output, or "
                      "`RUSTC_BOOTSTRAP=1 cargo test -- -Z unstable-options --format json > FILE`")
