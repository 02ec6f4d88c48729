"""The store of `pv mutants` results: a SQLite file of its own, never the release evidence.

A falsifier FALSIFIED by a mutant is the framework working, not a claim falling, so these results
must never reach the evidence database a release is judged on. One row per (pair, execution);
a later run reuses the newest row whose claim hash and fingerprint are unchanged, as `pv run` does.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.evidence import utc_now

SCHEMA_VERSION = 1
DEFAULT_NAME = "mutants.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pair_result (
    id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    falsifier_id TEXT NOT NULL,
    claim_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    mutant TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL,
    duration_s REAL NOT NULL,
    inputs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pair_lookup ON pair_result (contract_id, falsifier_id, claim_hash, fingerprint);
"""


class MutantStoreError(Exception):
    """The mutants store cannot be used (a newer schema, or not a mutants store)."""


def store_path(evidence: Path) -> Path:
    """Beside the evidence database, under a name of its own: ``.pv/evidence.sqlite`` ->
    ``.pv/mutants.db``; ``ci/run.sqlite`` -> ``ci/run.mutants.db``."""
    if evidence.name == "evidence.sqlite":
        return evidence.with_name(DEFAULT_NAME)
    return evidence.with_name(f"{evidence.stem}.{DEFAULT_NAME}")


@dataclass(frozen=True)
class StoredPair:
    outcome: str
    message: str
    duration_s: float
    inputs: dict[str, Any]


class MutantStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Results arrive from the runner's threads; one connection, serialised by a lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60.0, check_same_thread=False)
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise MutantStoreError(f"{path} was written by a newer pv (schema {version} > {SCHEMA_VERSION}); "
                                   "upgrade pv or pass another --evidence location")
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "pair_result" not in tables:
            raise MutantStoreError(f"{path} is an SQLite file but not a `pv mutants` store (tables: "
                                   f"{', '.join(sorted(tables))}); it is never overwritten, so move it or "
                                   "pass another --evidence location")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.commit()

    def record(self, contract_id: str, falsifier_id: str, claim_hash: str, kind: str, mutant: str,
               fingerprint: str, outcome: str, message: str, duration_s: float, inputs: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO pair_result (recorded_at, contract_id, falsifier_id, claim_hash, kind, mutant, "
                "fingerprint, outcome, message, duration_s, inputs) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (utc_now(), contract_id, falsifier_id, claim_hash, kind, mutant, fingerprint, outcome,
                 message, duration_s, json.dumps(inputs, sort_keys=True, default=str)))
            self._db.commit()

    def newest(self, contract_id: str, falsifier_id: str, claim_hash: str, fingerprint: str) -> StoredPair | None:
        with self._lock:
            row = self._db.execute(
                "SELECT outcome, message, duration_s, inputs FROM pair_result WHERE contract_id=? AND "
                "falsifier_id=? AND claim_hash=? AND fingerprint=? ORDER BY id DESC LIMIT 1",
                (contract_id, falsifier_id, claim_hash, fingerprint)).fetchone()
        if row is None:
            return None
        return StoredPair(row[0], row[1], float(row[2]), json.loads(row[3] or "{}"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
