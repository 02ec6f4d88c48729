"""`--help` works for every command and subcommand of `pv` and `apr`, and bare `pv` prints help.

argparse %-formats help text, so one bare ``%`` in any help string (``ship-% per product``)
turned `pv --help`, bare `pv` and `pv ship --help` into a ``ValueError`` traceback. The walk
below reaches every parser of both trees, so a new command cannot bring that back unnoticed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence

import pytest

from apr_contracts import cli as pv_cli
from engines import cli as apr_cli


def command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the tree under ``parser``: (), ("evidence",), ("evidence", "merge"), ..."""
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*path, name))


PV_PATHS = sorted(set(command_paths(pv_cli.build_parser())))
APR_PATHS = sorted(set(command_paths(apr_cli.build_parser())))


def _help(main: Callable[[Sequence[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # a main that lets argparse's exit through still counts, by its code
        code = int(exc.code or 0)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out


def test_the_walk_reaches_nested_subcommands() -> None:
    # Guards the walk itself: were it to stop at the first level, the tests below would prove little.
    assert ("evidence", "merge") in PV_PATHS and ("new", "falsifier") in PV_PATHS
    assert ("tokenize", "encode-corpus") in APR_PATHS
    assert len(PV_PATHS) > 12 and len(APR_PATHS) > 8


@pytest.mark.parametrize("path", PV_PATHS, ids=lambda p: " ".join(("pv", *p)))
def test_pv_help_of_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _help(pv_cli.main, [*path, "--help"], capsys)
    assert code == 0
    assert out.startswith("usage: " + " ".join(("pv", *path)))


@pytest.mark.parametrize("path", APR_PATHS, ids=lambda p: " ".join(("apr", *p)))
def test_apr_help_of_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _help(apr_cli.main, [*path, "--help"], capsys)
    assert code == 0
    assert out.startswith("usage: " + " ".join(("apr", *path)))


def test_bare_pv_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _help(pv_cli.main, [], capsys)
    assert code == pv_cli.EXIT_USAGE
    assert out.startswith("usage: pv") and "ship" in out and "validate" in out


def test_bare_apr_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _help(apr_cli.main, [], capsys)
    assert code == pv_cli.EXIT_USAGE
    assert out.startswith("usage: apr")


@pytest.mark.parametrize("option", [
    ["--jobs", "0"], ["--jobs", "-1"], ["--jobs", "x"], ["--timeout", "nan"], ["--timeout", "0"],
    ["--timeout", "-5"], ["--live-timeout", "inf"], ["--seed", "99999999999999999999999"], ["--seed", "-1"],
])
def test_run_numbers_are_range_checked_at_parse_time(option: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from apr_contracts.cli import main as pv

    assert pv(["run", "--collect-only", *option]) == 2
    err = capsys.readouterr().err
    assert f"argument {option[0]}" in err and "Traceback" not in err


def test_run_numbers_on_the_boundary_are_accepted() -> None:
    from apr_contracts.cli import build_parser

    args = build_parser().parse_args(["run", "--jobs", "1", "--timeout", "0.001", "--seed", str(2**63 - 1)])
    assert (args.jobs, args.timeout, args.seed) == (1, 0.001, 2**63 - 1)
    assert build_parser().parse_args(["run", "--jobs", "256", "--seed", "0"]).jobs == 256
