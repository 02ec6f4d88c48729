"""`pv run --allow-test-commands`: how a falsifier's own test: command is run and judged."""

from __future__ import annotations

import sys
from pathlib import Path

from apr_contracts.outcomes import Outcome
from apr_contracts.testevidence.commands import run_test_command
from apr_contracts.testevidence.commands import tests_ran as count_ran
from tests.testevidence.projects import python_project


def test_expected_exit_code_and_stderr_pattern(tmp_path: Path) -> None:
    refuse = "sh -c 'echo \"[P0-J] gate refused\" >&2; exit 1'"
    raw = {"expected_exit_code": 1, "expected_stderr_pattern": r"\[P0-J\] gate"}
    assert run_test_command(refuse, raw, tmp_path, 30).outcome is Outcome.HELD
    wrong = run_test_command(refuse, {**raw, "expected_stderr_pattern": "BYPASSED"}, tmp_path, 30)
    assert wrong.outcome is Outcome.FALSIFIED and "does not match" in wrong.message
    assert run_test_command(refuse, {}, tmp_path, 30).outcome is Outcome.FALSIFIED  # exit 1, expected 0
    forbidden = run_test_command(refuse, {**raw, "expected_stderr_not_pattern": "refused"}, tmp_path, 30)
    assert forbidden.outcome is Outcome.FALSIFIED


def test_missing_tool_is_skipped_naming_it(tmp_path: Path) -> None:
    done = run_test_command("no-such-tool-pv-xyz test --all", {}, tmp_path, 30)
    assert done.outcome is Outcome.SKIPPED and "no-such-tool-pv-xyz" in done.message


def test_timeout_is_an_error(tmp_path: Path) -> None:
    done = run_test_command("sleep 5", {}, tmp_path, 0.5)
    assert done.outcome is Outcome.ERROR and "timeout" in done.message


def test_pytest_command_failing_node_and_empty_selection(tmp_path: Path) -> None:
    project = python_project(tmp_path)
    python = sys.executable
    failing = run_test_command(f"{python} -m pytest -p no:cacheprovider tests/test_calc.py::test_mul_small",
                               {}, project, 120)
    assert failing.outcome is Outcome.FALSIFIED and failing.tests_ran == 1
    assert "mul(2, 3) must be 6" in failing.counterexample["output"]
    passing = run_test_command(f"{python} -m pytest -p no:cacheprovider tests/test_calc.py::test_add_is_commutative",
                               {}, project, 120)
    assert passing.outcome is Outcome.HELD, passing.message
    nothing = run_test_command(f"{python} -m pytest -p no:cacheprovider tests/test_calc.py -k nothing_matches_this",
                               {}, project, 120)
    assert nothing.outcome is Outcome.ERROR and "matched no test" in nothing.message


def test_counts_read_from_cargo_and_pytest_output() -> None:
    cargo = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out\n"
    assert count_ran("cargo", cargo) == 0
    assert count_ran("cargo", cargo.replace("ok. 0 passed", "ok. 1 passed") + cargo) == 1
    assert count_ran("pytest", "....\n4 passed in 0.1s") == 4
    assert count_ran("pytest", "===== 1 deselected in 0.01s =====") == 0
    assert count_ran("pytest", "no tests ran in 0.01s") == 0
    assert count_ran("pytest", "=== 1 failed, 2 passed, 1 skipped in 0.3s ===") == 3
