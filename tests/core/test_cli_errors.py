"""How `pv` and `apr` end: every failure maps to an exit code and a message saying what to do."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

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


# (command, argv with M for the missing path); existing inputs the command also needs are dummy files,
# because a missing path must be refused before anything is read.
MISSING_INPUTS = [
    ("pv", ["validate", "M.yaml"]),
    ("pv", ["scoreboard", "M"]),
    ("pv", ["scoreboard", "contracts/", "--evidence", "M.sqlite"]),
    ("pv", ["status", "M.yaml"]),
    ("pv", ["new", "falsifier", "--contract", "M.yaml", "--id", "FALSIFY-X-001"]),
    ("apr", ["tokenize", "import-hf", "--input", "M.json", "--output", "out"]),
    ("apr", ["tokenize", "encode-corpus", "--corpus", "M", "--tokenizer", "tok.json", "--output", "out"]),
    ("apr", ["tokenize", "encode-corpus", "--corpus", "data.jsonl", "--tokenizer", "M.json", "--output", "out"]),
    ("apr", ["tokenize", "verify-shards", "M"]),
    ("apr", ["pretrain", "--dataset", "M", "--tokenizer", "tok.json", "--arch", "tiny", "--num-steps", "1",
             "--batch-size", "1", "--seq-length", "8", "--lr", "1e-4", "--output", "out"]),
    ("apr", ["pretrain", "--dataset", "data.bin", "--tokenizer", "tok.json", "--init", "M", "--num-steps", "1",
             "--batch-size", "1", "--seq-length", "8", "--lr", "1e-4", "--output", "out"]),
    ("apr", ["export", "M", "-o", "model.gguf"]),
    ("apr", ["qa", "M.gguf"]),
    ("apr", ["bench", "M.gguf"]),
    ("apr", ["import", "M", "--output", "out"]),
    ("apr", ["inspect", "M"]),
]
MISSING_INPUT_PARAMS = [
    pytest.param("pv", ["run", "M"], id="pv run"),
    pytest.param("pv", ["evidence", "merge", "M", "-o", "out.sqlite"], id="pv evidence merge"),
    *(pytest.param(prog, argv, id=" ".join([prog, *argv[:2]])) for prog, argv in MISSING_INPUTS),
]


@pytest.mark.parametrize("prog, argv", MISSING_INPUT_PARAMS)
def test_a_missing_input_path_is_exit_2_naming_it_in_pv_and_apr(
    prog: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from apr_contracts.cli import main as pv_main
    from engines.cli import main as apr_main

    monkeypatch.chdir(tmp_path)
    for name in ("tok.json", "data.jsonl", "data.bin"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "contracts").mkdir()
    missing = next(a for a in argv if a.startswith("M"))
    path = str(tmp_path / "sub" / missing)
    code = (pv_main if prog == "pv" else apr_main)([path if a == missing else a for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"no such file or folder: {path}" in err and "hint: " in err, err  # what, where, what to do
    assert "Traceback" not in err


def test_an_unknown_contract_id_is_a_usage_error_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from apr_contracts.cli import main as pv_main

    monkeypatch.chdir(tmp_path)
    assert pv_main(["status", "no-such-contract-v1", "--paths", str(tmp_path)]) == 2
    assert "no contract with id 'no-such-contract-v1'" in capsys.readouterr().err
