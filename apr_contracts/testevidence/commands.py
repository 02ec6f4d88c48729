"""`pv run --allow-test-commands`: run the ``test:`` command of falsifiers no plugin binds.

Opt-in only (the flag, or ``[tool.pv] allow-test-commands = true``), and only for contracts
inside the project root: a contract folder from elsewhere (``../shared/...``) is someone else's
text, and running commands found in it would execute whatever its authors wrote. The commands of
your own contracts come from your own files, like a Makefile.

A command is split with :func:`shlex.split` and run without a shell, unless it contains shell
syntax (``&&``, ``|``, ``;``, redirections, ``$``, globs), which only a shell can run: then it runs
with ``sh -c``, as a CI step would. It runs in the project root with the falsifier's timeout.

Outcome: ``expected_exit_code`` (default 0) and ``expected_stderr_pattern`` /
``expected_stderr_not_pattern`` decide it; for ``cargo test`` and ``pytest`` the output is also
read for how many tests ran, because a mistyped filter exits 0 having run nothing: 0 tests →
ERROR ("the filter matched no test"). The tool missing → SKIPPED naming it; a non-zero exit of
the tests → FALSIFIED with their failing output as the counterexample.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.outcomes import Outcome
from apr_contracts.rules.testfield import TestKind, classify

_SHELL_SYNTAX = re.compile(r"&&|\|\||[|;<>`$*?]|\(|\)")
_CARGO_RAN = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", re.M)
_PYTEST_RAN = re.compile(r"(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed)\b")
_PYTEST_SUMMARY = re.compile(r"^=*\s*(?:no tests ran|\d+ \w+.*) in [\d.]+s\b.*$", re.M)
OUTPUT_KEPT = 6000  # characters of output kept as counterexample


@dataclass
class CommandOutcome:
    outcome: Outcome
    message: str
    counterexample: Any = None
    duration_s: float = 0.0
    tests_ran: int | None = None


def is_command(test: str | None) -> bool:
    return classify(test).kind is TestKind.COMMAND


def inside(path: Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _argv(command: str) -> tuple[list[str], bool]:
    """(argv, through a shell): shell syntax needs ``sh -c``; anything else runs directly."""
    if _SHELL_SYNTAX.search(command) or "\n" in command.strip():
        return ["sh", "-c", command], True
    return shlex.split(command), False


def _tool(argv: list[str], shell: bool, command: str) -> str:
    if not shell:
        words = argv
    else:
        try:
            words = shlex.split(command.split("&&")[0].split("|")[0].split(";")[0])
        except ValueError:
            return "sh"
    words = [w for w in words if not re.match(r"^[A-Z_][A-Z0-9_]*=", w)]
    return words[0] if words else "sh"


def _kind(command: str) -> str:
    words = command.replace("&&", " && ").split()
    for n, word in enumerate(words):
        if word == "cargo" and n + 1 < len(words) and words[n + 1] in ("test", "nextest"):
            return "cargo"
        if word == "pytest" or (word == "-m" and n + 1 < len(words) and words[n + 1] == "pytest"):
            return "pytest"
    return ""


def tests_ran(kind: str, output: str) -> int | None:
    """How many tests the run executed, read from its output (None: cannot tell)."""
    if kind == "cargo":
        found = _CARGO_RAN.findall(output)
        return sum(int(p) + int(f) for p, f, _ in found) if found else None
    if kind == "pytest":
        # the last summary line: "=== 1 failed, 3 passed in 0.2s ===", "4 passed in 0.1s" (-q),
        # "=== 5 deselected in 1.8s ===" or "no tests ran in 0.01s" (nothing selected: 0)
        summaries = _PYTEST_SUMMARY.findall(output)
        if not summaries:
            return None
        counts = _PYTEST_RAN.findall(summaries[-1])
        return sum(int(n) for n, what in counts if what != "skipped")
    return None


def _expected_codes(raw: Any) -> list[int]:
    value = raw.get("expected_exit_code") if isinstance(raw, dict) else None
    if value is None:
        return [0]
    values = value if isinstance(value, list) else [value]
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        return [0]


def _failing_part(output: str) -> str:
    """The part of test output that says what failed (libtest's `failures:` section, pytest's summary)."""
    for marker in ("\nfailures:\n", "= FAILURES =", "==== FAILURES", "short test summary info"):
        at = output.find(marker)
        if at >= 0:
            return output[at:at + OUTPUT_KEPT]
    return output[-OUTPUT_KEPT:]


def run_test_command(command: str, raw: Any, root: Path, timeout: float) -> CommandOutcome:
    """Run one falsifier's ``test:`` command in ``root`` and judge it."""
    argv, shell = _argv(command.strip())
    tool = _tool(argv, shell, command)
    if shutil.which(tool) is None and not (root / tool).exists():
        return CommandOutcome(Outcome.SKIPPED, f"{tool} is not installed (not on PATH); install it to run "
                              f"this falsifier's test: {command}")
    kind = _kind(command)
    started = time.monotonic()
    env = {**os.environ, "NO_COLOR": "1", "CARGO_TERM_COLOR": "never"}
    try:
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=timeout, env=env,
                              errors="replace", check=False)
    except subprocess.TimeoutExpired:
        return CommandOutcome(Outcome.ERROR, f"the test command ran past the {timeout:.0f} s timeout: {command}",
                              duration_s=time.monotonic() - started)
    except OSError as exc:
        return CommandOutcome(Outcome.SKIPPED, f"cannot start {tool}: {exc.strerror or exc}")
    duration = time.monotonic() - started
    output = f"{done.stdout}\n{done.stderr}"
    ran = tests_ran(kind, output)
    expected = _expected_codes(raw)
    pattern = raw.get("expected_stderr_pattern") if isinstance(raw, dict) else None
    not_pattern = raw.get("expected_stderr_not_pattern") if isinstance(raw, dict) else None
    counter = {"command": command, "exit_code": done.returncode, "output": _failing_part(output)}
    if kind and ran == 0:
        return CommandOutcome(Outcome.ERROR, f"the filter matched no test: `{command}` ran 0 tests "
                              "(exit {0}); fix the test name in the contract's test: field".format(done.returncode),
                              duration_s=duration, tests_ran=0)
    if done.returncode not in expected:
        if kind and ran is None:  # cargo/pytest printed no test summary: the build or collection broke
            return CommandOutcome(Outcome.ERROR, f"`{command}` failed before any test ran (exit {done.returncode}): "
                                  + (done.stderr.strip().splitlines() or [""])[-1][:300], counter, duration)
        return CommandOutcome(Outcome.FALSIFIED, f"`{command}` exited {done.returncode}, expected "
                              f"{' or '.join(map(str, expected))}" + (f"; {ran} test(s) ran" if ran else ""),
                              counter, duration, ran)
    for regex, must in ((pattern, True), (not_pattern, False)):
        if not regex:
            continue
        try:
            found = re.search(str(regex), done.stderr) is not None
        except re.error as exc:
            return CommandOutcome(Outcome.ERROR, f"expected_stderr pattern {regex!r} is not a valid regex: {exc}")
        if found != must:
            what = "does not match" if must else "matches"
            return CommandOutcome(Outcome.FALSIFIED, f"stderr of `{command}` {what} {regex!r}", counter, duration, ran)
    shown = f"{ran} test(s) passed" if ran is not None else f"exited {done.returncode} as expected"
    return CommandOutcome(Outcome.HELD, f"`{command}`: {shown}", None, duration, ran)
