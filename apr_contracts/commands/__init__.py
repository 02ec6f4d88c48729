"""The `pv` subcommands, one module each; options several of them share are defined here."""

from __future__ import annotations

import argparse


def add_exclude_option(parser: argparse.ArgumentParser) -> None:
    """``--exclude PATTERN``: skip files and folders inside the given folders (.gitignore-style)."""
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN",
        help="skip files or folders matching PATTERN inside the given folders: a name or glob "
        "(`versions`, `*-draft.yaml`) matches at any depth, a path with / from the folder given "
        "(repeatable; pv validate also reads [tool.pv] exclude)",
    )
