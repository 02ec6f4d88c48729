"""`pv status CONTRACT_ID_OR_FILE [--paths PATH ...] [--format text|json]`: one contract in detail.

Each falsifier: outcome, required vs implementation level, measured values vs
the contract's thresholds, message, counterexample, and its history over runs
(evidence under an older claim text is marked). Exit 0, or 1 when a
``--fail-on`` condition holds; 2 when the contract is not found.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from apr_contracts.cli import UsageError, missing_input
from apr_contracts.commands.scoreboard import (
    add_common_options,
    build_context,
    default_paths,
    emit,
    parse_fail_on,
    report_failures,
    use_color,
)
from apr_contracts.project import Project
from apr_contracts.scoreboard import SCOREBOARD_JSON_VERSION, contract_dict


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="one contract in detail: each falsifier's outcome, measurements and history",
        description="Show the derived status of one contract (by id or file) and why.",
    )
    parser.add_argument("contract", metavar="CONTRACT_ID_OR_FILE")
    parser.add_argument("--paths", nargs="+", type=Path, default=None, metavar="PATH",
                        help="where to look for the contract id (default: [tool.pv] paths, else ./contracts "
                             "of the project, else .)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from apr_contracts.report.json_report import dumps, with_details
    from apr_contracts.report.text import render_contract

    conditions = parse_fail_on(args.fail_on)
    project = Project.for_command(args)
    as_file = Path(args.contract)
    if as_file.suffix in (".yaml", ".yml") or as_file.is_file():
        if not as_file.is_file():
            raise UsageError(missing_input([as_file], "pass a contract file, or a contract id to look up"))
        paths = [as_file]
    else:
        paths = args.paths or default_paths(project)
    ctx = build_context(paths, project, not args.no_plugins, args)
    if as_file.is_file():
        rows = list(ctx.board.contracts)
        if len(rows) != 1:
            raise UsageError(f"{as_file}: expected one contract in the file, found {len(rows)}")
    else:
        rows = [c for c in ctx.board.contracts if c.id == args.contract]
        if not rows:
            known = ", ".join(sorted(c.id for c in ctx.board.contracts)[:20]) or "none"
            raise UsageError(
                f"no contract with id {args.contract!r} under {', '.join(map(str, paths))} "
                f"(known: {known}); pass a file path or --paths"
            )
    if len(rows) > 1:
        raise UsageError(f"contract id {args.contract!r} is declared by several files "
                         f"({', '.join(r.file for r in rows)}); pass the file path instead")
    row = rows[0]
    if args.format == "json":
        text = dumps({"version": SCOREBOARD_JSON_VERSION, "contract": with_details(row, contract_dict(row)),
                      "notes": ctx.board.notes, "evidence": ctx.board.evidence_path})
    else:
        text = render_contract(row, color=use_color() and args.output is None)
    emit(text, args.output)
    board_for_row = type(ctx.board)(contracts=[row], orphans=[])
    return report_failures(board_for_row.fail_reasons(conditions))
