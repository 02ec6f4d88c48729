"""`pytest --pv-evidence[=DB]`: record this test session's outcomes as evidence directly.

The same linking as `pv evidence import` of the session's JUnit file (explicit marker, the
contracts' `test:` node ids, the falsify_* convention) against the contracts of the project
pytest runs in (``[tool.pv] paths``, else ``contracts/``), written when the session ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apr_contracts.testevidence.cases import CaseOutcome, TestCase


class EvidenceRecorder:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: dict[str, TestCase] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        file, _, rest = nodeid.partition("::")
        parts = rest.split("::")
        classname = ".".join([*filter(None, file.removesuffix(".py").split("/")), *parts[:-1]])
        falsifies = tuple(str(v) for k, v in report.user_properties if k == "falsifies")
        measured = {str(k)[len("pv-measured:"):]: float(str(v)) for k, v in report.user_properties
                    if str(k).startswith("pv-measured:")}
        previous = self.cases.get(nodeid)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                outcome = CaseOutcome.PASSED
            elif report.skipped:
                outcome = CaseOutcome.SKIPPED
            elif report.when == "setup":
                outcome = CaseOutcome.ERROR
            else:
                outcome = CaseOutcome.FAILED
            message = ""
            if report.longrepr is not None and not report.passed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash is not None else str(report.longrepr).strip().splitlines()[-1]
                if report.skipped and isinstance(report.longrepr, tuple):
                    message = str(report.longrepr[2])
            self.cases[nodeid] = TestCase(
                name=parts[-1], classname=classname, file=file, outcome=outcome, message=message,
                details=str(report.longrepr or "")[:4000] if not report.passed else "",
                duration_s=report.duration, falsifies=falsifies, measured=measured,
                report="pytest session", kind="python")
        elif report.when == "teardown" and not report.passed and previous is not None \
                and previous.outcome is CaseOutcome.PASSED:
            self.cases[nodeid] = TestCase(**{**previous.__dict__, "outcome": CaseOutcome.ERROR,
                                             "message": "error in teardown"})

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from apr_contracts.testevidence.record import record_cases

        db = self.config.getoption("--pv-evidence") or None
        summary = record_cases(list(self.cases.values()), start=Path(str(self.config.rootpath)),
                               evidence=db, source="pytest", command="pytest --pv-evidence")
        reporter: Any = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(summary)
