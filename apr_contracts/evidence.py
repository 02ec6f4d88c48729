"""The evidence store: every falsifier result of every `pv run`, in SQLite.

One file (default ``<project>/.pv/evidence.sqlite``), standard-library
``sqlite3`` in WAL mode so `pv run --jobs N` workers can append concurrently
while `pv scoreboard` reads. Writes take ``BEGIN IMMEDIATE`` and rely on the
busy timeout, so concurrent writers queue instead of failing or corrupting the
file. The schema is versioned with ``PRAGMA user_version`` and migrated forward
on open; a database written by a newer pv is refused rather than misread.

Each connection is private to the process that opened it (a forked worker
reconnects), because sqlite3 connections must not cross ``fork``.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from apr_contracts.evidence_schema import MIGRATIONS, SCHEMA_VERSION
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.results import Result

BUSY_TIMEOUT_S = 60.0


class EvidenceError(Exception):
    """The evidence database cannot be used (newer schema, not a pv database, missing)."""


def default_evidence_path(start: Path) -> Path:
    """The evidence database of the project holding ``start`` by the rule every command uses
    (apr_contracts.project: ``[tool.pv] evidence``, else ``<root>/.pv/evidence.sqlite``), not
    counting ``--evidence`` and ``$PV_EVIDENCE``, which only a command is given."""
    from apr_contracts.project import Project

    return Project.discover(start, environ={}).evidence


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _canonical(value: Any) -> str:
    return json.dumps(value if value is not None else {}, sort_keys=True, separators=(",", ":"), default=repr)


def code_version(git_sha: str | None, versions: Mapping[str, Any] | None) -> str:
    """Identity of the code a run used; results differing at one code version are FLAKY."""
    return f"{git_sha or ''}|{_canonical(dict(versions or {}))}"


def _json_safe(value: Any) -> Any:
    """Non-finite floats become strings so stored JSON stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    command: str
    git_sha: str | None
    host: str | None
    versions: dict[str, Any]
    plugins: dict[str, Any]
    seed: int | None
    level: str | None
    counts: dict[str, int] | None
    exit_code: int | None
    code_version: str
    origin: str | None = None  # "DB#run" when `pv evidence merge` copied the run from another database
    shard: str | None = None  # "I/N" for `pv run --shard I/N`
    # The engines a conformance run swapped ({kind: name}); None for a run of the default engines,
    # the only kind whose results count as current evidence.
    conformance: dict[str, str] | None = None

    @property
    def is_conformance(self) -> bool:
        return self.conformance is not None


def swapped_engines(conformance: Mapping[str, str]) -> str:
    """``kind=name, ...`` of a conformance run's engines, as `pv run` and `pv diff` print them."""
    return ", ".join(f"{kind}={name}" for kind, name in sorted(conformance.items()))


@dataclass(frozen=True)
class StoredResult:
    """A :class:`Result` as stored: plus its row id, run, time and the run's code version."""

    id: int
    run_id: int
    recorded_at: str
    code_version: str
    result: Result = field(compare=False)

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome


class EvidenceStore:
    """Append-only store of runs and results. Safe to use from several processes at once."""

    def __init__(self, path: Path | str, *, create: bool = True, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.timeout = timeout
        if self.path.is_dir():
            raise EvidenceError(f"{self.path} is a folder; the evidence database is a file: pass --evidence "
                                f"{self.path / 'evidence.sqlite'} (or another file path)")
        if not self.path.exists():
            if not create:
                raise EvidenceError(
                    f"{self.path}: no evidence database here; run `pv run` first or pass --evidence PATH"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.parent.name == ".pv":  # our own folder; never drop files into a user-chosen one
                _ignore_folder(self.path.parent)
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._migrate()

    # -- connection and transactions -------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL; much faster
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _retry(self, action: Any) -> Any:
        """Run ``action`` retrying 'database is locked' beyond the busy handler (WAL switch, schema races)."""
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise EvidenceError(f"{self.path}: not an SQLite evidence database ({exc}); move it away") from exc
        if current == SCHEMA_VERSION:
            return
        with self._write() as conn:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])  # re-read under the lock
            if current > SCHEMA_VERSION:
                raise EvidenceError(
                    f"{self.path}: evidence schema v{current} was written by a newer pv "
                    f"(this pv reads up to v{SCHEMA_VERSION}); upgrade apr-contracts"
                )
            if current == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise EvidenceError(f"{self.path}: an SQLite file that is not a pv evidence database")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")

    # -- writing -----------------------------------------------------------------------
    def begin_run(
        self,
        *,
        command: str | Sequence[str] = "",
        git_sha: str | None = None,
        host: str | None = None,
        versions: Mapping[str, Any] | None = None,
        plugins: Mapping[str, Any] | None = None,
        seed: int | None = None,
        level: str | Level | None = None,
        shard: str | None = None,
        origin: str | None = None,
        started_at: str | None = None,
        conformance: Mapping[str, str] | None = None,
    ) -> int:
        """Open a run and return its id; every result of the run is recorded under it.

        ``conformance``: the engines swapped for non-default ones; such a run is recorded and can be
        diffed, but its results are never current evidence (see :meth:`results_for`).
        """
        if not isinstance(command, str):
            command = " ".join(command)
        versions_json = _canonical(dict(versions or {}))
        level_value = level.value if isinstance(level, Level) else level
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, command, git_sha, host, versions, plugins, seed, level,"
                " code_version, shard, origin, conformance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (started_at or utc_now(), command, git_sha, host, versions_json, _canonical(dict(plugins or {})),
                 seed, level_value, code_version(git_sha, versions), shard, origin,
                 None if conformance is None else _canonical(dict(conformance))),
            )
            return int(cursor.lastrowid or 0)

    def record(self, run_id: int, result: Result) -> int:
        """Append one result; returns its row id."""
        return self.record_many(run_id, [result])[0]

    def record_many(self, run_id: int, results: Sequence[Result], *, recorded_at: Sequence[str] = ()) -> list[int]:
        """Append results to a run; ``recorded_at`` keeps original times (`pv evidence merge`)."""
        ids: list[int] = []
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise EvidenceError(f"{self.path}: run {run_id} does not exist; call begin_run() first")
            for n, r in enumerate(results):
                cursor = conn.execute(
                    "INSERT INTO results (run_id, recorded_at, contract_id, contract_file, contract_version,"
                    " claim_hash, falsifier_id, required_level, level, outcome, message, measured, thresholds,"
                    " counterexample, traceback, duration_s, seed, engines, plugin, contract_sha256,"
                    " fingerprint, inputs, reused_from, source, provenance, tree_state, tree_root)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id, recorded_at[n] if recorded_at else utc_now(), r.contract_id, r.contract_file, r.contract_version, r.claim_hash,
                        r.falsifier_id, Level(r.required_level).value, r.level.value if r.level else None,
                        Outcome(r.outcome).value, r.message, _canonical(_json_safe(r.measured)),
                        json.dumps(_json_safe(list(r.thresholds)), default=repr),
                        None if r.counterexample is None else json.dumps(_json_safe(r.counterexample), default=repr),
                        r.traceback, float(r.duration_s), int(r.seed), _canonical(r.engines), r.plugin,
                        r.contract_sha256, r.fingerprint, _canonical(r.inputs), r.reused_from,
                        r.source, _canonical(_json_safe(r.provenance)), r.tree_state, r.tree_root,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def end_run(self, run_id: int, *, counts: Mapping[str, int] | None = None, exit_code: int | None = None,
                finished_at: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, exit_code = ? WHERE id = ?",
                (finished_at or utc_now(), _canonical(dict(counts or {})), exit_code, run_id),
            )

    # -- reading -----------------------------------------------------------------------
    def runs(self, *, limit: int | None = None, conformance: bool = False) -> list[RunRecord]:
        """Runs in chronological order (the last ``limit`` ones when given); conformance runs only
        when ``conformance`` is true."""
        where = "" if conformance else " WHERE conformance IS NULL"
        sql = f"SELECT * FROM runs{where} ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [_run(row) for row in reversed(self._connection().execute(sql).fetchall())]

    def run(self, run_id: int) -> RunRecord | None:
        row = self._connection().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def results_for(
        self,
        contract_id: str | None = None,
        falsifier_id: str | None = None,
        claim_hash: str | None = None,
        *,
        run_id: int | None = None,
        contract_ids: Sequence[str] | None = None,
        conformance: bool = False,
    ) -> list[StoredResult]:
        """Matching results, oldest first (row order = commit order, also across processes).

        Results of conformance runs are left out (they are not current evidence) unless
        ``conformance`` is true or ``run_id`` names the run.
        """
        where, args = [], []
        if not conformance and run_id is None:
            where.append("runs.conformance IS NULL")
        for column, value in (("contract_id", contract_id), ("falsifier_id", falsifier_id),
                              ("claim_hash", claim_hash), ("run_id", run_id)):
            if value is not None:
                where.append(f"r.{column} = ?")
                args.append(value)
        if contract_ids is not None:
            where.append(f"r.contract_id IN ({', '.join('?' for _ in contract_ids)})")
            args.extend(contract_ids)
        sql = (
            "SELECT r.*, runs.code_version AS code_version FROM results r JOIN runs ON runs.id = r.run_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.id"
        )
        return [_stored(row) for row in self._connection().execute(sql, args).fetchall()]

    def latest(self, contract_id: str, falsifier_id: str, claim_hash: str) -> StoredResult | None:
        row = self._connection().execute(
            "SELECT r.*, runs.code_version AS code_version FROM results r JOIN runs ON runs.id = r.run_id"
            " WHERE r.contract_id = ? AND r.falsifier_id = ? AND r.claim_hash = ? AND runs.conformance IS NULL"
            " ORDER BY r.id DESC LIMIT 1",
            (contract_id, falsifier_id, claim_hash),
        ).fetchone()
        return _stored(row) if row else None

    def reuse_candidates(self, contract_id: str, falsifier_id: str, claim_hash: str, fingerprint: str,
                         *, limit: int = 5) -> list[StoredResult]:
        """The newest results for this claim executed with this fingerprint (reused copies included),
        newest first: after a change is undone, the result of the code as it is again still counts."""
        rows = self._connection().execute(
            "SELECT r.*, runs.code_version AS code_version FROM results r JOIN runs ON runs.id = r.run_id"
            " WHERE r.contract_id = ? AND r.falsifier_id = ? AND r.claim_hash = ? AND r.fingerprint = ?"
            " ORDER BY r.id DESC LIMIT ?",
            (contract_id, falsifier_id, claim_hash, fingerprint, limit),
        ).fetchall()
        return [_stored(row) for row in rows]

    def durations(self) -> dict[str, float]:
        """Seconds of each falsifier's latest execution (reused results excluded): shard balancing."""
        # Shards recorded straight into this database do not count: a later shard of the same
        # matrix must partition as the first one did. Merged shards (origin set) do count.
        rows = self._connection().execute(
            "SELECT falsifier_id, duration_s FROM results WHERE id IN (SELECT max(r.id) FROM results r"
            " JOIN runs ON runs.id = r.run_id WHERE r.reused_from IS NULL AND r.outcome != 'NOT_BOUND'"
            " AND (runs.shard IS NULL OR runs.origin IS NOT NULL) GROUP BY r.falsifier_id)"
        ).fetchall()
        return {row["falsifier_id"]: float(row["duration_s"]) for row in rows}

    def integrity_check(self) -> str:
        return str(self._connection().execute("PRAGMA integrity_check").fetchone()[0])


def _run(row: sqlite3.Row) -> RunRecord:
    try:
        return _parse_run(row)
    except (ValueError, TypeError, KeyError) as exc:
        raise EvidenceError(f"runs row {row['id']} is malformed ({type(exc).__name__}: {exc}); pv never writes "
                            "such a row: the database was edited or crafted, so move it away or delete that row"
                            ) from exc


def _parse_run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], started_at=row["started_at"], finished_at=row["finished_at"], command=row["command"],
        git_sha=row["git_sha"], host=row["host"], versions=json.loads(row["versions"] or "{}"),
        plugins=json.loads(row["plugins"] or "{}"), seed=row["seed"], level=row["level"],
        counts=json.loads(row["counts"]) if row["counts"] else None, exit_code=row["exit_code"],
        code_version=row["code_version"] or "", origin=row["origin"], shard=row["shard"],
        conformance=json.loads(row["conformance"]) if row["conformance"] else None,
    )


def _stored(row: sqlite3.Row) -> StoredResult:
    try:
        return _parse_stored(row)
    except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
        raise EvidenceError(f"results row {row['id']} is malformed ({type(exc).__name__}: {exc}); pv never writes "
                            "such a row: the database was edited or crafted, so move it away or delete that row"
                            ) from exc


def _parse_stored(row: sqlite3.Row) -> StoredResult:
    result = Result(
        contract_id=row["contract_id"], contract_file=row["contract_file"],
        contract_version=row["contract_version"], falsifier_id=row["falsifier_id"],
        claim_hash=row["claim_hash"], required_level=Level(row["required_level"]),
        level=Level(row["level"]) if row["level"] else None, outcome=Outcome(row["outcome"]),
        message=row["message"], measured=json.loads(row["measured"] or "{}"),
        thresholds=json.loads(row["thresholds"] or "[]"),
        counterexample=json.loads(row["counterexample"]) if row["counterexample"] is not None else None,
        traceback=row["traceback"], duration_s=row["duration_s"], seed=row["seed"],
        engines=json.loads(row["engines"] or "{}"), plugin=row["plugin"], contract_sha256=row["contract_sha256"],
        fingerprint=row["fingerprint"], inputs=json.loads(row["inputs"] or "{}"), reused_from=row["reused_from"],
        source=row["source"], provenance=json.loads(row["provenance"] or "{}"), tree_state=row["tree_state"],
        tree_root=row["tree_root"],
    )
    return StoredResult(row["id"], row["run_id"], row["recorded_at"], row["code_version"] or "", result)


def _ignore_folder(folder: Path) -> None:
    """Drop a `.gitignore` of `*` into `.pv/` so evidence is never committed, even without our .gitignore."""
    marker = folder / ".gitignore"
    if marker.exists():
        return
    write_text_atomic(marker, "# created by pv: evidence is produced by `pv run`, never committed\n*\n")
