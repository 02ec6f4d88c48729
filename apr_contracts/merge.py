"""Join evidence databases: the shards of one CI matrix (`pv run --shard I/N`) become one database.

Every run of every input is copied with its results, original times and a provenance note
(``origin = "shard-1.sqlite#3"``); run ids are renumbered and ``reused_from`` references follow
them. Results are inserted in the order they were recorded, so "the latest result of a
falsifier" means the same thing in the merged database as in the inputs, and a merged database
derives the same statuses as one run over everything. A run already present (same start time,
command, host and code version: merging a database twice, or a merged one again) is copied once.

Conflicts are reported, never resolved silently: the same falsifier and claim, with different
latest outcomes in two inputs at the same code version. The merged database keeps the later one.
Inputs are never modified: each is read through an SQLite backup into a temporary copy (which
also folds in its write-ahead log), and the output is written to a temporary file first and
renamed into place.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from apr_contracts.atomic import output_mode, refuse_non_regular
from apr_contracts.evidence import EvidenceError, EvidenceStore, RunRecord, StoredResult


@dataclass
class Conflict:
    contract_id: str
    falsifier_id: str
    claim_hash: str
    outcomes: dict[str, str]  # source -> "OUTCOME (run #N)"

    def describe(self) -> str:
        seen = ", ".join(f"{outcome} in {source}" for source, outcome in self.outcomes.items())
        return f"{self.falsifier_id} ({self.contract_id}): {seen}; the merged database keeps the later result"


@dataclass
class MergeReport:
    output: Path
    runs: int = 0
    results: int = 0
    duplicate_runs: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "version": 1,
            "output": str(self.output),
            "sources": self.sources,
            "runs": self.runs,
            "results": self.results,
            "duplicate_runs": self.duplicate_runs,
            "conflicts": [c.__dict__ for c in self.conflicts],
        }


def _snapshot(path: Path, folder: Path) -> EvidenceStore:
    """A private, migrated copy of the database at ``path`` (the input stays untouched)."""
    if not path.is_file():
        raise EvidenceError(f"{path}: no such evidence database")
    copy = folder / f"{len(list(folder.iterdir()))}-{path.name}"
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
    except sqlite3.DatabaseError as exc:
        raise EvidenceError(f"{path}: not an SQLite evidence database ({exc})") from exc
    return EvidenceStore(copy, create=False)


def _identity(run: RunRecord) -> tuple[str, str, str, str]:
    return (run.started_at, run.command, run.host or "", run.code_version)


def merge(sources: Sequence[Path], output: Path) -> MergeReport:
    """Merge ``sources`` into a new database at ``output`` (replaced atomically if it exists)."""
    report = MergeReport(output=output, sources=[str(s) for s in sources])
    refuse_non_regular(output)  # os.replace would swap a device, FIFO or symlink for the database
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pv-merge-") as scratch:
        stores = [(str(src), _snapshot(src, Path(scratch))) for src in sources]
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
        os.close(fd)
        os.unlink(tmp_name)  # EvidenceStore creates the file itself
        tmp = Path(tmp_name)
        try:
            merged = EvidenceStore(tmp)
            _copy_all(stores, merged, report)
            _find_conflicts(stores, report)
            merged.close()
            for suffix in ("-wal", "-shm"):  # checkpointed on close; nothing may be left beside it
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            os.chmod(tmp, output_mode(output))
            os.replace(tmp, output)
        except BaseException:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                leftover.unlink(missing_ok=True)
            raise
        finally:
            for _, store in stores:
                store.close()
    return report


def _copy_all(stores: list[tuple[str, EvidenceStore]], merged: EvidenceStore, report: MergeReport) -> None:
    runs: list[tuple[str, RunRecord]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for name, store in stores:
        for run in store.runs(conformance=True):
            if _identity(run) in seen:
                report.duplicate_runs += 1
                continue
            seen.add(_identity(run))
            runs.append((name, run))
    runs.sort(key=lambda item: item[1].started_at)
    new_ids: dict[tuple[str, int], int] = {}
    for name, run in runs:
        new_ids[(name, run.id)] = merged.begin_run(
            command=run.command, git_sha=run.git_sha, host=run.host, versions=run.versions,
            plugins=run.plugins, seed=run.seed, level=run.level, shard=run.shard,
            origin=run.origin or f"{Path(name).name}#{run.id}", started_at=run.started_at,
            conformance=run.conformance,
        )
        merged.end_run(new_ids[(name, run.id)], counts=run.counts, exit_code=run.exit_code,
                       finished_at=run.finished_at)
    report.runs = len(runs)
    rows: list[tuple[str, StoredResult]] = [
        (name, stored) for name, store in stores for stored in store.results_for(conformance=True)
        if (name, stored.run_id) in new_ids
    ]
    rows.sort(key=lambda item: (item[1].recorded_at, item[1].id))
    for name, stored in rows:
        result = stored.result
        if result.reused_from is not None:
            result.reused_from = new_ids.get((name, result.reused_from))
        merged.record_many(new_ids[(name, stored.run_id)], [result], recorded_at=[stored.recorded_at])
    report.results = len(rows)


def _find_conflicts(stores: list[tuple[str, EvidenceStore]], report: MergeReport) -> None:
    latest: dict[tuple[str, str, str], dict[str, StoredResult]] = {}
    for name, store in stores:
        for stored in store.results_for():  # oldest first: the last one seen is the latest
            key = (stored.result.contract_id, stored.result.falsifier_id, stored.result.claim_hash)
            latest.setdefault(key, {})[name] = stored
    for (contract_id, falsifier_id, claim), by_source in sorted(latest.items()):
        by_code: dict[str, set[str]] = {}
        for stored in by_source.values():
            by_code.setdefault(stored.code_version, set()).add(stored.outcome.value)
        if any(len(outcomes) > 1 for outcomes in by_code.values()):
            report.conflicts.append(Conflict(contract_id, falsifier_id, claim, {
                source: f"{stored.outcome.value} (run #{stored.run_id})" for source, stored in by_source.items()
            }))
