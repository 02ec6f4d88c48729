"""The `pv` subcommands, one module each; options several of them share are defined here."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_exclude_option(parser: argparse.ArgumentParser) -> None:
    """``--exclude PATTERN``: skip files and folders inside the given folders (.gitignore-style)."""
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN",
        help="skip files or folders matching PATTERN inside the given folders: a name or glob "
        "(`versions`, `*-draft.yaml`) matches at any depth, a path with / from the folder given "
        "(repeatable; pv validate also reads [tool.pv] exclude)",
    )


# --- numbers from the command line, range-checked at parse time ------------------------------------------
# argparse turns the ValueError/ArgumentTypeError below into "pv run: error: argument --jobs: ..." and exit 2,
# so `--jobs 0`, `--timeout nan` or a 20-digit seed never reach the code that would misuse them.

SEED_MAX = 2**63 - 1  # what sqlite's INTEGER and numpy/torch seeding all accept


def int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an integer in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_seconds(text: str) -> float:
    """An argparse ``type`` for a finite number of seconds > 0 (nan, inf, 0 and negatives refused)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text!r}")
    return value
