"""`pv diff OLD NEW`: which falsifiers changed outcome between two runs or two evidence databases.

OLD and NEW are each a run id in the evidence database (``12``, ``latest``,
``latest~1`` for the run before it) or the path of another evidence database
(whose latest result per falsifier is used). ``latest`` and a database path count only runs of the
default engines; a conformance run (``pv run --engine KIND=NAME``) is named by its id. Exit 0, or 1 with
``--fail-on regressed`` when something got worse (HELD -> FALSIFIED/ERROR, or a
new FALSIFIED) or ``--fail-on changed`` when anything changed; 2 usage.

When acceptance files are among ``--paths`` (default: [tool.pv] paths), the diff also shows how
each product's ship-% moved between the two states of the evidence (as it stood after run OLD and
run NEW, or in each database), which criteria changed status and which falsifier outcomes moved them.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError
from apr_contracts.evidence import EvidenceError, EvidenceStore, StoredResult, swapped_engines
from apr_contracts.outcomes import Outcome
from apr_contracts.project import Project

Key = tuple[str, str]  # (contract id, falsifier id)
_RUN = re.compile(r"^(?:(\d+)|latest(?:~(\d+))?)$")
_BAD = {Outcome.FALSIFIED, Outcome.ERROR}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff", help="compare two runs or two evidence databases: which falsifiers changed outcome",
        description="OLD/NEW: a run id, 'latest', 'latest~N', or the path of an evidence database.",
    )
    parser.add_argument("old", metavar="OLD")
    parser.add_argument("new", metavar="NEW")
    parser.add_argument("--evidence", type=Path, metavar="DB",
                        help="database holding the runs named by id (default: $PV_EVIDENCE, else [tool.pv] "
                             "evidence, else <project>/.pv/evidence.sqlite)")
    parser.add_argument("--format", choices=("text", "json", "md"), default="text")
    parser.add_argument("--all", action="store_true", help="also list falsifiers whose outcome did not change")
    parser.add_argument("--fail-on", choices=("regressed", "changed"), default=None,
                        help="exit 1 when some outcome regressed / changed")
    parser.add_argument("--paths", nargs="+", type=Path, metavar="PATH",
                        help="contracts and acceptance files for the ship-%% movement (default: [tool.pv] paths; "
                             "no acceptance file there: no ship-%% section)")
    parser.set_defaults(func=run)


@dataclass
class Change:
    contract_id: str
    falsifier_id: str
    old: StoredResult | None
    new: StoredResult | None

    @property
    def changed(self) -> bool:
        return (self.old.outcome if self.old else None) != (self.new.outcome if self.new else None)

    @property
    def regressed(self) -> bool:
        if self.new is None or self.new.outcome not in _BAD:
            return False
        return self.old is None or (self.old.outcome is not self.new.outcome and self.old.outcome is not Outcome.FALSIFIED)

    @property
    def claim_changed(self) -> bool:
        return bool(self.old and self.new and self.old.result.claim_hash != self.new.result.claim_hash)

    def to_dict(self) -> dict[str, Any]:
        def side(s: StoredResult | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {"outcome": s.outcome.value, "run": s.run_id, "claim_hash": s.result.claim_hash,
                    "message": s.result.message, "measured": s.result.measured}

        return {"contract": self.contract_id, "falsifier": self.falsifier_id, "old": side(self.old),
                "new": side(self.new), "changed": self.changed, "regressed": self.regressed,
                "claim_changed": self.claim_changed}


def _open(path: Path) -> EvidenceStore:
    try:
        return EvidenceStore(path, create=False)
    except EvidenceError as exc:
        raise UsageError(str(exc)) from exc


def side(spec: str, default_db: Path | None) -> tuple[Path, int | None]:
    """Which database and run a side names (run None: the whole database given as a path)."""
    match = _RUN.match(spec.strip())
    if match is None:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"{spec!r} is neither a run id ('12', 'latest', 'latest~1') nor an evidence database file")
        return path, None
    if default_db is None or not default_db.is_file():
        raise UsageError(f"no evidence database at {default_db}; pass --evidence DB or run `pv run` first")
    with _open(default_db) as store:
        runs = store.runs()
        if match.group(1):
            run_id = int(match.group(1))
            if store.run(run_id) is None:
                raise UsageError(f"run {run_id} is not in {default_db} (it has runs {_span(runs)})")
        else:
            back = int(match.group(2) or 0)
            if back >= len(runs):
                raise UsageError(f"{spec}: {default_db} has only {len(runs)} run(s)")
            run_id = runs[-1 - back].id
    return default_db, run_id


def resolve(spec: str, default_db: Path | None) -> tuple[str, dict[Key, StoredResult]]:
    """A side of the diff: a label and its results by (contract, falsifier)."""
    path, run_id = side(spec, default_db)
    with _open(path) as store:
        if run_id is None:
            latest: dict[Key, StoredResult] = {}
            for s in store.results_for():  # oldest first: later rows overwrite
                latest[(s.result.contract_id, s.result.falsifier_id)] = s
            return f"{path} (latest per falsifier)", latest
        results = {(s.result.contract_id, s.result.falsifier_id): s for s in store.results_for(run_id=run_id)}
        record = store.run(run_id)
    if record is not None and record.conformance:
        return f"conformance run #{run_id} ({swapped_engines(record.conformance)})", results
    return f"run #{run_id}", results


def ship_movement(args: argparse.Namespace, db: Path | None, project: Project) -> list[Any] | None:
    """Ship-% movement between the two sides, or None when no acceptance file is among the paths."""
    from apr_contracts.acceptance.bind import resolve as resolve_criteria
    from apr_contracts.acceptance.board import derive_products, evidence_rows, movement
    from apr_contracts.commands.ship import default_paths
    from apr_contracts.loader import load_contracts

    paths = [p for p in (args.paths or default_paths(project)) if p.exists()]
    loaded = load_contracts(paths, exclude=project.exclude()) if paths else None
    if loaded is None or not loaded.acceptance:
        return None
    specs = resolve_criteria(loaded.acceptance, loaded.contracts)
    ids = sorted({c.id for c in loaded.contracts})
    states = []
    for spec in (args.old, args.new):
        path, run_id = side(spec, db)
        with _open(path) as store:  # the evidence as it stood after that run (the whole database for a path)
            results = store.results_for(contract_ids=ids)
            record = store.run(run_id) if run_id is not None else None
            if record is not None and record.conformance:  # what ship-% would be, were its engines current
                results = sorted([*results, *store.results_for(run_id=run_id)], key=lambda s: s.id)
            rows = evidence_rows(loaded.contracts, results, run_id)
        states.append(derive_products(specs, rows))
    return movement(states[0], states[1])


def _ship_lines(moves: list[Any], md: bool) -> list[str]:
    from apr_contracts.acceptance.derive import display_percent

    lines = ["", "### ship-% movement" if md else "ship-%:"]
    for m in moves:
        arrow = f"{display_percent(m.old)} % -> {display_percent(m.new)} %"
        lines.append(f"- **{m.product}**: {arrow}" if md else f"  {m.product}: {arrow}")
        for cid, old, new, because in m.criteria:
            why = f" ({'; '.join(because)})" if because else ""
            lines.append(f"  - `{cid}`: {old} -> {new}{why}" if md else f"    {cid}: {old} -> {new}{why}")
    return lines


def _span(runs: list[Any]) -> str:
    return f"#{runs[0].id}..#{runs[-1].id}" if runs else "none"


def compare(old: dict[Key, StoredResult], new: dict[Key, StoredResult]) -> list[Change]:
    return [Change(k[0], k[1], old.get(k), new.get(k)) for k in sorted({*old, *new})]


def _label(s: StoredResult | None) -> str:
    return s.outcome.value if s else "—"


def run(args: argparse.Namespace) -> int:
    from apr_contracts.report.json_report import dumps

    project = Project.for_command(args)  # the database `pv run` of this project writes
    db = project.evidence
    old_label, old = resolve(args.old, db)
    new_label, new = resolve(args.new, db)
    changes = compare(old, new)
    moves = ship_movement(args, db, project)
    shown = changes if args.all else [c for c in changes if c.changed or c.claim_changed]
    regressed = [c for c in changes if c.regressed]
    if args.format == "json":
        sys.stdout.write(dumps({"version": 1, "old": old_label, "new": new_label,
                                "changes": [c.to_dict() for c in shown],
                                "summary": {"compared": len(changes), "changed": sum(c.changed for c in changes),
                                            "regressed": len(regressed)},
                                **({"ship": [m.to_dict() for m in moves]} if moves is not None else {})}))
    else:
        md = args.format == "md"
        lines = [f"{'## ' if md else ''}pv diff: {old_label} -> {new_label}"]
        if md:
            lines += ["", "| Contract | Falsifier | Old | New | Note |", "|---|---|---|---|---|"]
        for c in shown:
            note = ", ".join(x for x, on in (("REGRESSED", c.regressed), ("claim changed", c.claim_changed)) if on)
            if md:
                lines.append(f"| `{c.contract_id}` | `{c.falsifier_id}` | {_label(c.old)} | {_label(c.new)} | {note} |")
            else:
                lines.append(f"  {c.contract_id}  {c.falsifier_id}: {_label(c.old)} -> {_label(c.new)}"
                             + (f"  [{note}]" if note else ""))
        lines.append(("" if not md else "\n") + f"{len(changes)} falsifier(s) compared, "
                     f"{sum(c.changed for c in changes)} changed outcome, {len(regressed)} regressed")
        if moves is not None:
            lines += _ship_lines(moves, md)
        from apr_contracts.report.plain import visible

        sys.stdout.write(visible("\n".join(lines) + "\n"))  # ids from contracts: data, never terminal codes
    if args.fail_on == "regressed" and regressed:
        return EXIT_FINDINGS
    if args.fail_on == "changed" and any(c.changed for c in changes):
        return EXIT_FINDINGS
    return EXIT_OK
