"""One test case as a test report records it, whatever wrote the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAX_REPORT_BYTES = 64 * 1024 * 1024  # a report larger than this is refused, not read into memory


class ReportError(Exception):
    """A report file cannot be read: the message names the file, what is wrong and what to do."""


class CaseOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # an assertion failed: the claim's counterexample
    ERROR = "error"  # the test could not run (setup error, JUnit <error>): says nothing about the claim
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    name: str  # as the report spells it: "test_x[1]" (pytest), "mod::tests::fn" (libtest)
    classname: str = ""  # JUnit classname: "tests.test_lib" (pytest), the crate / binary (nextest)
    file: str = ""  # the test's source file when the report says (pytest's JUnit `file`)
    outcome: CaseOutcome = CaseOutcome.PASSED
    message: str = ""  # failure or skip message
    details: str = ""  # failure text / captured output
    duration_s: float = 0.0
    falsifies: tuple[str, ...] = ()  # explicit links: "ID" or "CONTRACT::ID" (JUnit property, marker)
    measured: dict[str, float] = field(default_factory=dict)  # JUnit properties "pv-measured:METRIC"
    report: str = ""  # the file it was read from
    kind: str = ""  # "python", "rust" or "" (unknown): which test: references it can answer

    @property
    def label(self) -> str:
        """A readable full name: pytest-style node id or Rust path."""
        sep = "::" if self.kind == "rust" else "."
        return f"{self.classname}{sep}{self.name}" if self.classname else self.name
