"""The SQLite evidence store: round trip, WAL, concurrent writers, schema versioning and migration."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.evidence import (
    MIGRATIONS,
    SCHEMA_VERSION,
    EvidenceError,
    EvidenceStore,
    code_version,
    default_evidence_path,
)
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.results import Result


def _result(i: int = 0, outcome: Outcome = Outcome.HELD, **extra: object) -> Result:
    data: dict = dict(
        contract_id="c-v1", contract_file="contracts/c-v1.yaml", contract_version="1.0.0",
        falsifier_id=f"FALSIFY-C-{i:03d}", claim_hash="h" * 64, required_level=Level.INTEGRATION,
        level=Level.INTEGRATION, outcome=outcome, message=f"result {i}",
    )
    data.update(extra)
    return Result(**data)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / ".pv" / "evidence.sqlite")
    run_id = store.begin_run(command=["pv", "run", "-k", "C"], git_sha="deadbeef", host="ci-1",
                             versions={"apr-contracts": "0.1.0", "torch": "2.13.0"},
                             plugins={"falsifiers.tokenizer": "0.1.0"}, seed=7, level=Level.INTEGRATION)
    original = _result(
        1, Outcome.FALSIFIED, measured={"loss": 4.5, "nan": float("nan"), "name": "x"},
        thresholds=[{"metric": "loss", "op": "<=", "value": 4.0}], counterexample={"ids": [1, 2]},
        traceback="Traceback...", duration_s=0.25, seed=42, engines={"tokenizer": "broken-x"}, plugin="p",
    )
    row_id = store.record(run_id, original)
    store.end_run(run_id, counts={"FALSIFIED": 1}, exit_code=1)

    (stored,) = store.results_for("c-v1")
    assert stored.id == row_id and stored.run_id == run_id
    got = stored.result
    assert got.measured["nan"] == "nan"  # stored as standard JSON, not a bare NaN
    expected = original.to_dict() | {"measured": {"loss": 4.5, "nan": "nan", "name": "x"}}
    assert got.to_dict() == expected
    run = store.run(run_id)
    assert run is not None
    assert (run.command, run.git_sha, run.host, run.seed, run.level) == ("pv run -k C", "deadbeef", "ci-1", 7,
                                                                         "integration")
    assert run.versions == {"apr-contracts": "0.1.0", "torch": "2.13.0"}
    assert run.counts == {"FALSIFIED": 1} and run.exit_code == 1 and run.finished_at
    assert run.code_version == stored.code_version == code_version("deadbeef", run.versions)


def test_latest_and_filters(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "e.sqlite")
    r1 = store.begin_run(command="pv run")
    store.record_many(r1, [_result(1, Outcome.HELD), _result(2, Outcome.ERROR)])
    r2 = store.begin_run(command="pv run")
    store.record_many(r2, [_result(1, Outcome.FALSIFIED), _result(1, Outcome.HELD, claim_hash="n" * 64)])
    latest = store.latest("c-v1", "FALSIFY-C-001", "h" * 64)
    assert latest is not None and latest.outcome is Outcome.FALSIFIED and latest.run_id == r2
    assert store.latest("c-v1", "FALSIFY-C-009", "h" * 64) is None
    assert [s.outcome for s in store.results_for("c-v1", "FALSIFY-C-001")] == [
        Outcome.HELD, Outcome.FALSIFIED, Outcome.HELD]
    assert len(store.results_for(run_id=r1)) == 2
    assert len(store.results_for(contract_ids=["c-v1", "other"])) == 4
    assert store.results_for(contract_ids=["other"]) == []
    assert [r.id for r in store.runs()] == [r1, r2] and [r.id for r in store.runs(limit=1)] == [r2]


def test_wal_mode_and_gitignore(tmp_path: Path) -> None:
    path = tmp_path / "proj" / ".pv" / "evidence.sqlite"
    EvidenceStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    elsewhere = tmp_path / "mine" / "evidence.sqlite"
    EvidenceStore(elsewhere).close()
    assert not (elsewhere.parent / ".gitignore").exists()


def test_record_into_unknown_run_is_refused(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "e.sqlite")
    with pytest.raises(EvidenceError, match="run 99 does not exist"):
        store.record(99, _result())
    assert store.results_for() == []  # the failed write left nothing behind


def _writer(path: str, worker: int, count: int, ready: Any, go: Any) -> None:
    ready.release()
    go.wait(60)  # every worker starts at once: schema creation and the inserts really race
    store = EvidenceStore(path, timeout=120)
    run_id = store.begin_run(command=f"worker {worker}")
    for i in range(count):
        store.record(run_id, _result(i, contract_id=f"w{worker}"))
    store.end_run(run_id, counts={"HELD": count}, exit_code=0)
    store.close()


def test_concurrent_writers_do_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"  # created by the workers themselves: schema creation races too
    workers, count = 4, 60
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Semaphore(0), ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(path), w, count, ready, go)) for w in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=60)
    go.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    store = EvidenceStore(path)
    assert store.integrity_check() == "ok"
    everything = store.results_for()
    assert len(everything) == workers * count
    assert len({s.id for s in everything}) == workers * count
    for w in range(workers):  # each writer's rows are in its own order
        mine = [s.result.falsifier_id for s in everything if s.result.contract_id == f"w{w}"]
        assert mine == [f"FALSIFY-C-{i:03d}" for i in range(count)]
    assert sorted(r.command for r in store.runs()) == [f"worker {w}" for w in range(workers)]
    assert all(r.finished_at for r in store.runs())


def test_migrates_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (started_at, command, git_sha, versions) VALUES ('t', 'pv run', 'abc', '{}')")
    conn.execute(
        "INSERT INTO results (run_id, recorded_at, contract_id, claim_hash, falsifier_id, required_level, outcome)"
        " VALUES (1, 't', 'c-v1', 'h', 'FALSIFY-C-001', 'algorithm', 'HELD')"
    )
    conn.commit()
    conn.close()

    store = EvidenceStore(path)
    assert store.schema_version == SCHEMA_VERSION == max(MIGRATIONS)
    migrated = store.results_for("c-v1")[0].result
    assert migrated.contract_sha256 == ""  # v3 column, defaulted
    assert (migrated.fingerprint, migrated.inputs, migrated.reused_from) == ("", {}, None)  # v4: never reused
    assert store.runs()[0].origin is None and store.runs()[0].shard is None
    assert store.runs()[0].conformance is None  # v6: an old run was a run of the default engines
    (stored,) = store.results_for("c-v1")
    assert stored.outcome is Outcome.HELD and stored.code_version == "abc|{}"
    assert store.runs()[0].code_version == code_version("abc", {})  # migrated value == what new runs write
    run_id = store.begin_run(command="pv run")  # and the migrated database takes new writes
    store.record(run_id, _result())
    assert len(store.results_for()) == 2


def test_refuses_newer_schema_foreign_sqlite_and_garbage(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite"
    EvidenceStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(EvidenceError, match="newer pv"):
        EvidenceStore(newer)

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE something (x)")
    with pytest.raises(EvidenceError, match="not a pv evidence database"):
        EvidenceStore(foreign)

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(EvidenceError, match="not an SQLite evidence database"):
        EvidenceStore(garbage)

    with pytest.raises(EvidenceError, match="run `pv run` first"):
        EvidenceStore(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_default_evidence_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    (project / "contracts" / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert default_evidence_path(project / "contracts" / "sub") == project.resolve() / ".pv" / "evidence.sqlite"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "c.yaml").write_text("{}")
    assert default_evidence_path(repo / "c.yaml") == repo.resolve() / ".pv" / "evidence.sqlite"
    loose = tmp_path / "loose"
    loose.mkdir()
    monkeypatch.chdir(loose)
    if not any((p / "pyproject.toml").exists() or (p / ".git").exists() for p in (loose, *loose.parents)):
        assert default_evidence_path(loose) == loose / ".pv" / "evidence.sqlite"


def test_counterexample_that_is_not_json_is_kept_as_text(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "e.sqlite")
    run_id = store.begin_run(command="pv run")
    store.record(run_id, _result(counterexample={"bytes": b"\x00\x01", "set": {1}}))
    (stored,) = store.results_for()
    assert json.dumps(stored.result.counterexample)  # readable back as JSON
    assert "\\x00\\x01" in stored.result.counterexample["bytes"]
