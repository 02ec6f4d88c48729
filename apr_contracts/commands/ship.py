"""`pv ship [PATHS] [--format text|md|json|html|github] [--fail-on below:PCT|regression|drift] [--evidence DB]`.

Release readiness: per product of the acceptance files under PATHS, the status of each
criterion and the ship-% derived from the evidence database (never typed by hand), the ship-%
after each recorded run, and the drift of hand-typed ``status:`` claims. Reads, never runs.
Exit 0, 1 when a ``--fail-on`` condition holds, 2 for usage errors (no acceptance file, bad path).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from apr_contracts.acceptance.board import FAIL_ON_HELP
from apr_contracts.cli import UsageError, missing_input
from apr_contracts.commands import add_exclude_option
from apr_contracts.commands.scoreboard import emit, open_store, report_failures
from apr_contracts.project import Project

FORMATS = ("text", "md", "json", "html", "github")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ship", help="ship-%% per product: acceptance criteria met by the evidence of `pv run`",
        description="Derive each acceptance criterion's status and each product's ship-% from the evidence: "
                    "a criterion is MET only when every falsifier it needs is HELD at its required level.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATHS",
                        help="acceptance files and the contracts they need, files or folders "
                             "(default: [tool.pv] paths, else ./contracts and ./acceptance of the project)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    add_exclude_option(parser)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (atomically) instead of stdout")
    parser.add_argument("--evidence", metavar="DB", type=Path,
                        help="evidence database (default: $PV_EVIDENCE, else [tool.pv] evidence, else "
                             "<project>/.pv/evidence.sqlite)")
    parser.add_argument("--fail-on", action="append", default=[], metavar="COND",
                        help="exit 1 when a condition holds (repeat or comma-separate): "
                             + FAIL_ON_HELP.replace("%", "%%"))  # argparse %-formats help text
    parser.set_defaults(func=run)


def parse_fail_on(values: list[str]) -> list[str]:
    conditions = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for cond in conditions:
        if cond in ("regression", "drift"):
            continue
        if cond.startswith("below:"):
            try:
                floor = Fraction(cond.split(":", 1)[1])
            except (ValueError, ZeroDivisionError):
                floor = Fraction(-1)
            if 0 <= floor <= 100:
                continue
            raise UsageError(f"--fail-on {cond}: the percentage must be a number from 0 to 100, e.g. below:80")
        raise UsageError(f"--fail-on {cond}: unknown condition; choose from {FAIL_ON_HELP}")
    return conditions


def default_paths(project: Project) -> list[Path]:
    """[tool.pv] paths of the project (those that exist), else its contracts/ and acceptance/ folders."""
    found = [p for p in project.default_paths("contracts", "acceptance") if p.exists()]
    return found or [Path.cwd()]


def build(paths: list[Path], project: Project, exclude: Sequence[str] = ()) -> Any:
    """The ShipBoard for ``paths`` (usage error when no acceptance file is among them)."""
    from apr_contracts.acceptance.board import build_ship
    from apr_contracts.commands.scoreboard import _issue_note
    from apr_contracts.loader import load_contracts

    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(missing_input(missing, "pass acceptance files and the contracts they need, or folders of them"))
    loaded = load_contracts(list(paths), exclude=project.exclude(exclude))
    if not loaded.acceptance:
        raise UsageError(f"no acceptance file under {', '.join(map(str, paths))}: an acceptance file is YAML with a "
                         "top-level `acceptance:` header and `products:` (see `pv schema --kind acceptance`); "
                         "pass it together with the contracts it needs")
    notes = [_issue_note(i) for i in loaded.issues if "error" in str(getattr(i, "severity", "")).lower()]
    if not loaded.contracts:
        notes.append("no contracts among the paths: every needed falsifier is unknown; pass the contracts too")
    store, store_notes = open_store(project)
    try:
        return build_ship(loaded.acceptance, loaded.contracts, store, notes=[*notes, *store_notes])
    finally:
        if store is not None:
            store.close()


def run(args: argparse.Namespace) -> int:
    from apr_contracts.report.ship import RENDERERS

    conditions = parse_fail_on(args.fail_on)
    project = Project.for_command(args)
    board = build(list(args.paths) or default_paths(project), project, args.exclude)
    emit(RENDERERS[args.format](board), args.output)
    return report_failures(board.fail_reasons(conditions))
