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
import traceback
from collections.abc import Sequence
from typing import Any

from engines.errors import AprError

ENGINE_PACKAGES = ("engines.tokenizer.cli", "engines.trainer.cli", "engines.exporter.cli")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


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
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except AprError as exc:
        print(f"apr {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("apr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        traceback.print_exc()
        print(f"apr {args.command}: internal error (a bug in apr, please report it)", file=sys.stderr)
        return EXIT_INTERNAL


def _version() -> str:
    from apr_contracts import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
