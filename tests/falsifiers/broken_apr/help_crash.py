"""A new command whose option help has an unescaped '%': `apr convert --help` crashes in argparse's formatter."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from engines import cli
from tests.falsifiers.broken_apr import run, subcommands


def build_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    conv = subcommands(parser).add_parser("convert", help="convert a checkpoint's dtype")
    conv.add_argument("checkpoint")
    conv.add_argument("--keep", type=float, default=1.0, help="keep 100% of the rows")  # should be 100%%
    conv.set_defaults(func=lambda args: 0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
