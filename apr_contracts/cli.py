"""`pv`: validate contracts, run their falsifiers, publish the scoreboard.

Each subcommand lives in ``apr_contracts.commands.<name>`` and exposes
``register(subparsers)``; its handler returns the exit code:
0 ok, 1 findings, 2 usage error, 3 internal error of pv itself, 4 the machine refused
(disk full, file too large, read-only or permission denied).
This module must not import torch (nor anything heavy): `pv validate` runs in pre-commit.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apr_contracts.atomic import NotARegularFile
from apr_contracts.evidence import EvidenceError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4

# OS errors that are the machine's answer, not a bug: reported in one line with what to do.
ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "free space on that file system, or write somewhere else",
    errno.EDQUOT: "free space within your quota, or write somewhere else",
    errno.EFBIG: "the file-size limit (ulimit -f) is too small for this output; raise it",
    errno.EROFS: "that file system is read-only; write somewhere else",
    errno.EACCES: "you may not write or read there; fix its permissions or choose another path",
    errno.EPERM: "you may not write or read there; fix its permissions or choose another path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
}

COMMANDS = ("validate", "run", "scoreboard", "ship", "status", "plugins", "pin", "schema", "explain", "new", "diff",
            "evidence", "mutants")


class UsageError(Exception):
    """Bad command-line input: reported on stderr, exit 2."""


NO_SUCH_PATH = "no such file or folder"


def missing_input(paths: Iterable[object], hint: str) -> str:
    """The message for input paths named on the command line that do not exist.

    One rule for `pv` and `apr` (engines.errors.require_paths uses the same words): a missing
    input path is a usage error, exit 2, naming every missing path and what to do.
    """
    return f"{NO_SUCH_PATH}: {', '.join(map(str, paths))}\n  hint: {hint}"


def build_parser() -> argparse.ArgumentParser:
    from apr_contracts import __version__

    parser = argparse.ArgumentParser(
        prog="pv",
        description="Contracts about an ML pipeline, turned into executed evidence.",
    )
    parser.add_argument("--version", action="version", version=f"pv {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"apr_contracts.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"apr_contracts.commands.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return call_handler("pv", parser, args, UsageError, lambda exc: EXIT_USAGE)


def call_handler(
    prog: str,
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    user_error: type[Exception],
    exit_code_of: Callable[[Any], int],
) -> int:
    """Run the chosen subcommand and map every way it can end to an exit code.

    ``user_error`` is the exception a handler raises for the user's input (message, no
    traceback); anything else unexpected is an internal error (exit 3, with the traceback).
    Shared by `pv` and `apr`.
    """
    from apr_contracts.fingerprint import install_module_trace

    install_module_trace()  # under `pv run`, report the modules this command loads (evidence reuse)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except user_error as exc:
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return exit_code_of(exc)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except EvidenceError as exc:  # a database that is not ours, from a newer pv, or a folder: the user's to fix
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotARegularFile as exc:  # an output path naming a device, FIFO, folder or symlink
        print(f"{prog} {args.command}: error: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRORS:
            return _internal_error(prog, args)
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"{prog} {args.command}: error: {exc.strerror}{where}: {ENVIRONMENT_ERRORS[exc.errno]}. "
            "Outputs are written atomically, so nothing half-written is left in their place; "
            "run the same command again once this is fixed.",
            file=sys.stderr,
        )
        return EXIT_ENVIRONMENT
    except Exception:
        return _internal_error(prog, args)


def _internal_error(prog: str, args: argparse.Namespace) -> int:
    traceback.print_exc()
    print(f"{prog} {args.command}: internal error (a bug in {prog}, please report it)", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
