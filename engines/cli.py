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
from pathlib import Path
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
        description="Use the apr-contracts engines directly: tokenize, pretrain, import, inspect, export, qa, run, bench.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version (and git commit) and exit")
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


def main(argv: Sequence[str] | None = None, *, parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
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
    """``X.Y.Z (HASH)`` when run from a git clone (HASH = `git rev-parse --short HEAD` of that clone), else ``X.Y.Z``.

    Read at call time, never stored at install time: an editable install keeps answering with
    the commit actually checked out, so a stale tool cannot pass for the current one.
    """
    import subprocess

    from apr_contracts import __version__

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return __version__
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return __version__
    commit = proc.stdout.strip()
    return f"{__version__} ({commit})" if proc.returncode == 0 and commit else __version__


class _VersionAction(argparse.Action):
    """`--version`, computed only when asked (it runs git)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"apr {_version()}")
        parser.exit()


if __name__ == "__main__":
    sys.exit(main())
