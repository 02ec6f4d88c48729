"""`pv evidence import FILE...`: test reports (JUnit XML, libtest JSON) as evidence.

Registered as an action of `pv evidence` by :mod:`apr_contracts.commands.evidence`. Exit 0 when
every linked falsifier HELD or was SKIPPED and nothing was ambiguous; 1 for findings (FALSIFIED,
ERROR, an ambiguous link, a `test:` reference matching no test case); 2 for usage errors (a
missing or unreadable report, a report that is neither format).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input


def register_action(actions: Any) -> None:
    parser = actions.add_parser(
        "import", help="record the outcomes of tests you already run (JUnit XML, libtest JSON) as evidence",
        description="Link each test case of the reports to a falsifier (explicit `falsifies` id, the "
        "falsifier's `test:` field, then the falsify_<id> naming convention) and record one result per "
        "linked falsifier. Results are current only while the project's tree is unchanged (or, with "
        "--commit, while HEAD is that commit).",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="JUnit XML (pytest --junitxml, cargo-nextest) or libtest JSON event stream")
    parser.add_argument("--contracts", action="append", default=[], metavar="PATHS",
                        help="contract files or folders to link against (repeatable; default: [tool.pv] paths, "
                        "else ./contracts of the project)")
    parser.add_argument("--evidence", metavar="DB", help="evidence database (default .pv/evidence.sqlite of the project)")
    parser.add_argument("--commit", metavar="SHA",
                        help="the reports were produced on this commit (e.g. a CI artifact): the results stay "
                        "current while HEAD is that commit, whatever the working tree holds")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=import_command)


def import_command(args: argparse.Namespace) -> int:
    from apr_contracts.evidence import EvidenceError
    from apr_contracts.hashing import sha256_file
    from apr_contracts.loader import load_contracts
    from apr_contracts.project import Project
    from apr_contracts.testevidence.cases import ReportError
    from apr_contracts.testevidence.libtest import read_report
    from apr_contracts.testevidence.record import import_cases

    project = Project.for_command(args)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        raise UsageError(missing_input(missing, "name the JUnit XML or libtest JSON files your test run wrote"))
    paths = [Path(p) for p in args.contracts] or project.default_paths("contracts") or [project.root / "contracts"]
    absent = [str(p) for p in paths if not p.exists()]
    if absent:
        raise UsageError(missing_input(absent, project.paths_hint("pass --contracts with contract files or folders")))
    if args.commit is not None and not args.commit.strip():
        raise UsageError("--commit needs the sha of the commit the reports were produced on")
    cases = []
    reports: dict[str, str] = {}
    for file in args.files:
        try:
            cases.extend(read_report(file))
        except ReportError as exc:
            raise UsageError(str(exc)) from exc
        reports[str(file)] = sha256_file(file)
    loaded = load_contracts(paths, exclude=project.exclude())
    command = "pv " + " ".join(sys.argv[1:]) if sys.argv else "pv evidence import"
    try:
        imported = import_cases(cases, project, loaded.contracts, source="import", command=command,
                                commit=args.commit.strip() if args.commit else None, reports=reports)
    except EvidenceError as exc:
        raise UsageError(str(exc)) from exc
    _report(args, imported)
    return EXIT_FINDINGS if imported.failed or imported.linking.problems else EXIT_OK


def _report(args: argparse.Namespace, imported: Any) -> None:
    ordered = sorted(imported.results, key=lambda r: (r.contract_id, r.falsifier_id))
    linking = imported.linking
    if args.format == "json":
        print(json.dumps({
            "version": 1, "run_id": imported.run_id, "evidence": str(imported.evidence), "test_cases": imported.cases,
            "results": [r.to_dict() for r in ordered], "problems": list(linking.problems),
            "unlinked_test_cases": [c.label for c in linking.unlinked],
        }, indent=2, default=str))
        return
    for r in ordered:
        print(f"  {r.outcome.value:<9} {r.contract_id}::{r.falsifier_id}  ({r.provenance.get('link')}, "
              f"{r.level.value if r.level else '-'}) {r.message[:300]}")
    for problem in linking.problems:
        print(f"problem: {problem}")
    print(imported.summary().removeprefix("pv: "))
