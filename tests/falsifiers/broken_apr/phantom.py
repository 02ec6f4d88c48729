"""A command registered and listed before its implementation exists (its handler only raises)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from engines import cli
from tests.falsifiers.broken_apr import run, subcommands


def serve(args: Any) -> int:
    raise NotImplementedError("apr serve")


def build_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    s = subcommands(parser).add_parser("serve", help="serve a model over HTTP")
    s.add_argument("target")
    s.set_defaults(func=serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
