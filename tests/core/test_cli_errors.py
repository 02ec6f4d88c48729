"""How `pv` and `apr` end: every failure maps to an exit code and a message saying what to do."""

from __future__ import annotations

import argparse
import errno

import pytest

from apr_contracts.cli import EXIT_ENVIRONMENT, EXIT_INTERNAL, UsageError, call_handler


def _end(handler, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    args = argparse.Namespace(func=handler, command="scoreboard")
    code = call_handler("pv", argparse.ArgumentParser(), args, UsageError, lambda exc: 2)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("number, advice", [
    (errno.ENOSPC, "free space on that file system"),
    (errno.EROFS, "read-only"),
    (errno.EACCES, "fix its permissions"),
])
def test_the_machine_refusing_is_exit_4_not_a_bug(
    capsys: pytest.CaptureFixture[str], number: int, advice: str
) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise OSError(number, "refused", "/data/board.html")

    code, err = _end(handler, capsys)
    assert code == EXIT_ENVIRONMENT == 4
    assert "pv scoreboard: error: refused (/data/board.html)" in err and advice in err
    assert "internal error" not in err and "Traceback" not in err


def test_other_os_errors_and_exceptions_stay_internal_with_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    code, err = _end(handler, capsys)
    assert code == EXIT_INTERNAL and "Traceback" in err and "internal error (a bug in pv" in err
