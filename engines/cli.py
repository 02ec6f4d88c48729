"""`apr`: the engines used directly (tokenize, pretrain, import, inspect, export, qa, bench).

This module only dispatches. Each engine package adds its own subcommands through
``engines.<kind>.cli.add_commands(subparsers)``; heavy libraries are imported by the
handlers, so `apr --help` stays fast.

A hidden global option ``--engine-impl KIND=NAME`` (or ``APR_ENGINE_<KIND>=NAME``)
makes a command use another registered engine of that kind: this is how
integration-level falsifiers run the real command against a deliberately broken
engine.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from apr_contracts.cli import EXIT_USAGE, call_handler
from engines.errors import AprError

ENGINE_PACKAGES = ("engines.tokenizer.cli", "engines.trainer.cli", "engines.exporter.cli")


def engine_env_var(kind: str) -> str:
    return f"APR_ENGINE_{kind.upper().replace('-', '_')}"


@functools.cache
def engine_for(kind: str) -> Any:
    """The engine instance of ``kind`` this command uses: ``APR_ENGINE_<KIND>`` or the default."""
    from apr_contracts.plugins import load_plugins

    plugins = load_plugins()
    spec = plugins.engines.choose(kind, os.environ.get(engine_env_var(kind)) or None)
    return spec.create()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="apr",
        description="Use the apr-contracts engines directly: tokenize, pretrain, import, inspect, export, qa, bench.",
    )
    parser.add_argument("--version", action="version", version=f"apr {_version()}")
    parser.add_argument(
        "--engine-impl",
        action="append",
        default=[],
        metavar="KIND=NAME",
        help=argparse.SUPPRESS,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in ENGINE_PACKAGES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that engine is not part of this build
            raise
        module.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    for choice in args.engine_impl:
        kind, sep, name = choice.partition("=")
        if not sep or not kind or not name:
            print(f"apr: --engine-impl expects KIND=NAME, got {choice!r}", file=sys.stderr)
            return EXIT_USAGE
        os.environ[engine_env_var(kind)] = name
    return call_handler("apr", parser, args, AprError, lambda exc: exc.exit_code)

def _version() -> str:
    from apr_contracts import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
