"""`pv evidence merge A.sqlite B.sqlite ... -o merged.sqlite`: join the databases of sharded runs.

Exit 0 when merged without conflicts; 1 when some falsifier's latest outcome differs between
inputs at the same code version (merged anyway, the later result kept, every conflict listed);
2 for usage errors (a missing input, an existing output without --force).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evidence", help="manage evidence databases (merge sharded runs, import test reports)",
        description="Evidence database tools.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    merge = actions.add_parser(
        "merge", help="join evidence databases (e.g. of `pv run --shard I/N`) into one",
        description="Copy every run and result of the inputs into a new database, keeping their "
        "times and provenance; report falsifiers whose latest outcomes conflict.",
    )
    merge.add_argument("inputs", nargs="+", type=Path, metavar="DB", help="evidence databases to join")
    merge.add_argument("-o", "--output", type=Path, required=True, metavar="DB", help="the merged database")
    merge.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    merge.add_argument("--format", choices=("text", "json"), default="text")
    merge.set_defaults(func=merge_command)
    from apr_contracts.commands.evidence_import import register_action

    register_action(actions)


def merge_command(args: argparse.Namespace) -> int:
    from apr_contracts.evidence import EvidenceError
    from apr_contracts.merge import merge

    missing = [str(p) for p in args.inputs if not p.is_file()]
    if missing:
        raise UsageError(missing_input(missing, "name the evidence databases to merge (written by `pv run --evidence`)"))
    seen: dict[Path, Path] = {}
    for path in args.inputs:  # one file named twice would copy every result twice
        if path.resolve() in seen:
            raise UsageError(f"{path} is named twice (also as {seen[path.resolve()]}); name each database once")
        seen[path.resolve()] = path
    if args.output.exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to replace it, or choose another -o")
    if args.output.resolve() in {p.resolve() for p in args.inputs}:
        raise UsageError(f"{args.output} is also an input; write the merged database elsewhere")
    try:
        report = merge(args.inputs, args.output)
    except EvidenceError as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        dupes = f", {report.duplicate_runs} duplicate runs skipped" if report.duplicate_runs else ""
        print(f"merged {len(args.inputs)} databases into {args.output}: {report.runs} runs, "
              f"{report.results} results{dupes}")
        for conflict in report.conflicts:
            print(f"conflict: {conflict.describe()}")
    return EXIT_FINDINGS if report.conflicts else EXIT_OK
