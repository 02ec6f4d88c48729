"""`apr inspect --format json` is parsed and then ignored: the handler always prints text."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from engines import cli
from tests.falsifiers.broken_apr import run, subcommands


def build_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    inspect = subcommands(parser).choices["inspect"]
    real = inspect.get_default("func")

    def text_only(args: Any) -> int:
        args.format = "text"
        return int(real(args))

    inspect.set_defaults(func=text_only)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
