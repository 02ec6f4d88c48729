"""The evidence database's schema, as numbered forward migrations (``PRAGMA user_version``).

``MIGRATIONS[n]`` takes a database from version n-1 to n; :class:`apr_contracts.evidence.EvidenceStore`
applies the missing ones when it opens a database, and refuses one written by a newer pv.
"""

from __future__ import annotations

from apr_contracts.outcomes import Outcome

SCHEMA_VERSION = 7

# Forward migrations: MIGRATIONS[n] takes a database from version n-1 to n.
# Statements are listed one by one (not executescript) so they run inside the
# migration's transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            command TEXT NOT NULL DEFAULT '',
            git_sha TEXT,
            host TEXT,
            versions TEXT NOT NULL DEFAULT '{}',
            plugins TEXT NOT NULL DEFAULT '{}',
            seed INTEGER,
            level TEXT,
            counts TEXT,
            exit_code INTEGER
        )""",
        f"""CREATE TABLE results (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            recorded_at TEXT NOT NULL,
            contract_id TEXT NOT NULL,
            contract_file TEXT NOT NULL DEFAULT '',
            contract_version TEXT,
            claim_hash TEXT NOT NULL,
            falsifier_id TEXT NOT NULL,
            required_level TEXT NOT NULL,
            level TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ({", ".join(repr(o.value) for o in Outcome)})),
            message TEXT NOT NULL DEFAULT '',
            measured TEXT NOT NULL DEFAULT '{{}}',
            thresholds TEXT NOT NULL DEFAULT '[]',
            counterexample TEXT,
            traceback TEXT NOT NULL DEFAULT '',
            duration_s REAL NOT NULL DEFAULT 0,
            seed INTEGER NOT NULL DEFAULT 0,
            engines TEXT NOT NULL DEFAULT '{{}}',
            plugin TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX results_by_claim ON results (contract_id, falsifier_id, claim_hash, id)",
    ),
    # v2: the code version (git sha + package/engine versions) a run used, for FLAKY
    # detection, plus an index to read one run's results quickly (`pv diff`).
    2: (
        "ALTER TABLE runs ADD COLUMN code_version TEXT",
        "UPDATE runs SET code_version = COALESCE(git_sha, '') || '|' || versions",
        "CREATE INDEX results_by_run ON results (run_id, id)",
    ),
    # v3: the sha256 of the whole contract file each result was produced from (audit trail;
    # staleness still follows the per-falsifier claim hash).
    3: ("ALTER TABLE results ADD COLUMN contract_sha256 TEXT NOT NULL DEFAULT ''",),
    # v4: incremental runs and merged databases. Per result, the fingerprint of what executed it,
    # the files/distributions its subprocesses loaded, and the run it was reused from; per run,
    # where it came from when `pv evidence merge` copied it from another database.
    4: (
        "ALTER TABLE results ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE results ADD COLUMN reused_from INTEGER",
        "ALTER TABLE runs ADD COLUMN origin TEXT",
        "ALTER TABLE runs ADD COLUMN shard TEXT",
    ),
    # v5: the OUT_OF_SCOPE outcome. SQLite cannot change a CHECK constraint in place, so the
    # results table is rebuilt with the same columns in the same order and its indexes recreated.
    5: (
        f"""CREATE TABLE results_v5 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            recorded_at TEXT NOT NULL,
            contract_id TEXT NOT NULL,
            contract_file TEXT NOT NULL DEFAULT '',
            contract_version TEXT,
            claim_hash TEXT NOT NULL,
            falsifier_id TEXT NOT NULL,
            required_level TEXT NOT NULL,
            level TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ({", ".join(repr(o.value) for o in Outcome)})),
            message TEXT NOT NULL DEFAULT '',
            measured TEXT NOT NULL DEFAULT '{{}}',
            thresholds TEXT NOT NULL DEFAULT '[]',
            counterexample TEXT,
            traceback TEXT NOT NULL DEFAULT '',
            duration_s REAL NOT NULL DEFAULT 0,
            seed INTEGER NOT NULL DEFAULT 0,
            engines TEXT NOT NULL DEFAULT '{{}}',
            plugin TEXT NOT NULL DEFAULT '',
            contract_sha256 TEXT NOT NULL DEFAULT '',
            fingerprint TEXT NOT NULL DEFAULT '',
            inputs TEXT NOT NULL DEFAULT '{{}}',
            reused_from INTEGER
        )""",
        "INSERT INTO results_v5 SELECT * FROM results",
        "DROP TABLE results",
        "ALTER TABLE results_v5 RENAME TO results",
        "CREATE INDEX results_by_claim ON results (contract_id, falsifier_id, claim_hash, id)",
        "CREATE INDEX results_by_run ON results (run_id, id)",
    ),
    # v6: conformance runs. A run with a non-default engine (`pv run --engine KIND=NAME`) records
    # which engines it swapped, as JSON; NULL for a run of the default engines. Readers of current
    # evidence (status, scoreboard, ship, diff's `latest`) skip conformance runs.
    6: ("ALTER TABLE runs ADD COLUMN conformance TEXT",),
    # v7: evidence from tests a team already runs (`pv evidence import`, `pv run
    # --allow-test-commands`, `pytest --pv-evidence`): where a result came from, what it read
    # (JSON: source file sha256, test names, outcomes, durations) and the project tree it was
    # produced on ("git:<sha>:<sha256 of git diff HEAD>", or "commit:<sha>" when pinned), which
    # makes it stale once the tree changes. Plugin results keep '' / '{}' / NULL.
    7: (
        "ALTER TABLE results ADD COLUMN source TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN provenance TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE results ADD COLUMN tree_state TEXT",
        "ALTER TABLE results ADD COLUMN tree_root TEXT",
    ),
}
