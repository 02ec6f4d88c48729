"""`apr --version` names the commit the tool was installed from (HEAD~1 here), not the one checked out."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines import cli


class StaleVersion(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        root = Path(cli.__file__).resolve().parents[1]
        stale = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD~1"],
                               capture_output=True, text=True, check=False).stdout.strip()
        from apr_contracts import __version__

        print(f"apr {__version__} ({stale})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if "--version" in a.option_strings)
    parser._handle_conflict_resolve(None, [("--version", action)])  # type: ignore[arg-type]
    parser.add_argument("--version", action=StaleVersion)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, parser=build_parser())
