"""Deliberately broken `apr` command lines (each the real parser with ONE realistic defect).

The FALSIFY-QA surface falsifiers take the `apr` under test from ``params.apr_cli`` (a module with
``build_parser()`` and ``main(argv)``); these modules are handed in by tests/falsifiers/test_apr_cli_qa.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from engines import cli


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    return cli.main(argv, parser=parser)
