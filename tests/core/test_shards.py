"""`pv run --shard I/N` and `pv evidence merge`: sharded runs joined give one run's scoreboard."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Level
from apr_contracts.runner import Job
from apr_contracts.scheduling import parse_shard, partition
from tests.core.test_runner import project  # noqa: F401 - the fake plugin project fixture

# The fake project's falsifiers that finish quickly (its hang/crash ones are deselected).
QUICK = "not HANGS and not CRASHES and not EXITS"


def _job(fid: str, level: Level = Level.ALGORITHM) -> Job:
    entry = SimpleNamespace(id=fid, level=level.value)
    return Job(contract=SimpleNamespace(id="c"), entry=entry, claim_hash="h", spec=None, seed=0)


def test_partition_is_disjoint_complete_balanced_and_order_independent() -> None:
    jobs = [_job(f"F-{n:02d}") for n in range(23)]
    durations = {f"F-{n:02d}": float(1 + (n * 7) % 11) for n in range(23)}
    shards = partition(jobs, 3, durations)
    ids = [j.falsifier_id for shard in shards for j in shard]
    assert sorted(ids) == sorted(j.falsifier_id for j in jobs)  # each job in exactly one shard
    loads = [sum(durations[j.falsifier_id] for j in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(durations.values())  # longest-first bound
    shuffled = jobs[:]
    random.Random(1).shuffle(shuffled)
    again = partition(shuffled, 3, durations)
    assert [[j.falsifier_id for j in s] for s in again] == [[j.falsifier_id for j in s] for s in shards]


def test_partition_without_durations_estimates_by_level() -> None:
    jobs = [_job("LIVE", Level.LIVE), *(_job(f"A-{n}") for n in range(4))]
    first, second = partition(jobs, 2, {})
    assert [j.falsifier_id for j in first] == ["LIVE"]  # 60 s estimated vs 4 x 1 s
    assert len(second) == 4


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", ""])
def test_bad_shard_spec_is_a_usage_error(text: str) -> None:
    with pytest.raises(ValueError, match="I/N"):
        parse_shard(text)


def test_bad_shard_flag_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert pv(["run", str(project / "contracts"), "-p", "fakeplug", "--shard", "3/2",
               "--evidence", str(project / "x.sqlite")]) == 2
    assert "--shard expects I/N" in capsys.readouterr().err


def _scoreboard(root: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    pv(["scoreboard", str(root / "contracts"), "-p", "fakeplug", "--evidence", str(db), "--format", "json"])
    board = json.loads(capsys.readouterr().out)
    return {
        c["id"]: (c["derived_status"], sorted((f["id"], f["outcome"]) for f in c["falsifiers"]))
        for c in board["contracts"]
    }


def _run(root: Path, db: Path, *extra: str) -> int:
    return pv(["run", str(root / "contracts"), "-p", "fakeplug", "-k", QUICK, "--level", "all",
               "--evidence", str(db), "--format", "json", "--timeout", "10", *extra])


def test_two_shards_merged_equal_one_full_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    full = project / "full.sqlite"
    _run(project, full)
    capsys.readouterr()
    one, two = project / "shard-1.sqlite", project / "shard-2.sqlite"
    _run(project, one, "--shard", "1/2")
    ran_one = {r["falsifier_id"] for r in json.loads(capsys.readouterr().out)["results"]}
    _run(project, two, "--shard", "2/2")
    ran_two = {r["falsifier_id"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert ran_one and ran_two and not ran_one & ran_two

    before = hashlib.sha256(one.read_bytes()).hexdigest()
    merged = project / "merged.sqlite"
    assert pv(["evidence", "merge", str(one), str(two), "-o", str(merged)]) == 0
    assert "2 runs" in capsys.readouterr().out
    assert hashlib.sha256(one.read_bytes()).hexdigest() == before  # inputs are never modified
    assert _scoreboard(project, merged, capsys) == _scoreboard(project, full, capsys)

    # Merging again (a merged database with one of its own inputs) copies no run twice.
    again = project / "again.sqlite"
    assert pv(["evidence", "merge", str(merged), str(two), "-o", str(again), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["runs"], report["duplicate_runs"]) == (2, 1)
    assert _scoreboard(project, again, capsys) == _scoreboard(project, full, capsys)


def test_sharded_runs_into_one_database_keep_the_partition(
    project: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    db = project / "ev.sqlite"
    collected = []
    for shard in ("1/2", "2/2"):
        pv(["run", str(project / "contracts"), "-p", "fakeplug", "-k", QUICK, "--level", "all",
            "--evidence", str(db), "--shard", shard, "--collect-only", "--format", "json"])
        collected.append({r["falsifier"] for r in json.loads(capsys.readouterr().out)["falsifiers"]})
        _run(project, db, "--shard", shard)
        capsys.readouterr()
    # Shard 2 partitioned as shard 1 did, although shard 1 had recorded durations meanwhile.
    assert not collected[0] & collected[1]
    pv(["run", str(project / "contracts"), "-p", "fakeplug", "-k", QUICK, "--level", "all",
        "--evidence", str(db), "--collect-only", "--format", "json"])
    everything = {r["falsifier"] for r in json.loads(capsys.readouterr().out)["falsifiers"]}
    assert collected[0] | collected[1] == everything


def test_merge_reports_conflicting_outcomes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    good, bad = project / "good.sqlite", project / "bad.sqlite"
    _run(project, good, "-k", "FALSIFY-FAKE-HOLD")
    _run(project, bad, "-k", "FALSIFY-FAKE-HOLD", "--engine", "adder=broken-off-by-one", "--count-as-evidence")
    capsys.readouterr()
    merged = project / "merged.sqlite"
    # Different engines are different code versions only through the recorded engines, so this is
    # a conflict at one code version (same git sha and packages): reported, merged, exit 1.
    assert pv(["evidence", "merge", str(good), str(bad), "-o", str(merged)]) == 1
    out = capsys.readouterr().out
    assert "conflict: FALSIFY-FAKE-HOLD" in out
    assert "HELD (run #1) in" in out and "FALSIFIED (run #1) in" in out
    assert merged.is_file()


def test_merge_refuses_missing_inputs_and_existing_output(
    project: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    db = project / "ev.sqlite"
    _run(project, db, "-k", "FALSIFY-FAKE-HOLD")
    capsys.readouterr()
    assert pv(["evidence", "merge", str(project / "nope.sqlite"), "-o", str(project / "m.sqlite")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (project / "m.sqlite").write_text("precious")
    assert pv(["evidence", "merge", str(db), "-o", str(project / "m.sqlite")]) == 2
    assert "--force" in capsys.readouterr().err
    assert (project / "m.sqlite").read_text() == "precious"
    not_db = project / "notes.sqlite"
    not_db.write_text("not a database at all")
    assert pv(["evidence", "merge", str(not_db), "-o", str(project / "m2.sqlite")]) == 2
    assert not (project / "m2.sqlite").exists()


def test_merge_refuses_one_database_named_twice(project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    db = project / "ev.sqlite"
    _run(project, db, "-k", "FALSIFY-FAKE-HOLD")
    capsys.readouterr()
    assert pv(["evidence", "merge", str(db), str(project / "." / "ev.sqlite"), "-o", str(project / "m.sqlite")]) == 2
    assert "is named twice" in capsys.readouterr().err
    assert not (project / "m.sqlite").exists()


def test_a_crafted_row_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    import sqlite3

    db = project / "ev.sqlite"
    _run(project, db, "-k", "FALSIFY-FAKE-HOLD")
    capsys.readouterr()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE results SET measured = '{not json'")
    conn.commit()
    conn.close()
    assert pv(["evidence", "merge", str(db), "-o", str(project / "m.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "results row 1 is malformed" in err and "Traceback" not in err
    assert pv(["scoreboard", "--evidence", str(db), "--no-plugins", str(project)]) in (2,)
    assert "malformed" in capsys.readouterr().err
