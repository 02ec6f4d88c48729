"""Building the scoreboard: current-hash evidence, stale, flaky, drift, history, --fail-on."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from apr_contracts.evidence import EvidenceStore
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.scoreboard import build_scoreboard
from apr_contracts.status import Status
from tests.core.pv_fixtures import all_held, demo_yaml, record_run, result, write_contract

IDS = ["FALSIFY-DEMO-001", "FALSIFY-DEMO-002", "FALSIFY-DEMO-003"]


def _board(contract, store, registered=None, builtin=()):  # type: ignore[no-untyped-def]
    return build_scoreboard([contract], store, registered, builtin_plugins=builtin)


def test_without_evidence_everything_is_pending(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    board = _board(contract, None, {("demo-adder-v1", "FALSIFY-DEMO-001"): object()})
    (row,) = board.contracts
    assert row.derived_status is Status.PROPOSED
    assert [f.label for f in row.falsifiers] == ["PENDING", "NOT_BOUND", "NOT_BOUND"]
    assert row.counts == {"held": 0, "falsified": 0, "error": 0, "unbound": 2, "skipped": 0, "out_of_scope": 0,
                          "pending": 1, "stale": 0}
    assert row.last_run is None and board.evidence_path is None


def test_all_held_with_live_thresholds_is_discharged(tmp_path: Path) -> None:
    contract = write_contract(tmp_path / "c", demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    run_id = record_run(store, all_held(contract))
    (row,) = _board(contract, store).contracts
    assert row.derived_status is Status.DISCHARGED
    assert row.levels_reached == ["algorithm", "integration", "live"]
    assert row.counts["held"] == 3 and row.last_run == run_id
    live = row.falsifiers[2]
    assert live.measured == {"seconds": 1.0} and live.thresholds == [{"metric": "seconds", "op": "<=", "value": 2.0}]


def test_editing_a_claim_makes_only_its_evidence_stale(tmp_path: Path) -> None:
    old = write_contract(tmp_path / "old", demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, all_held(old))

    reworded_status = write_contract(tmp_path / "meta", demo_yaml(status="DISCHARGED"))
    (row,) = _board(reworded_status, store).contracts
    assert row.derived_status is Status.DISCHARGED and not any(f.stale for f in row.falsifiers)
    assert row.drift == []  # declared DISCHARGED and the evidence agrees

    new = write_contract(tmp_path / "new", demo_yaml(prediction="add(a, 0) == a for every 64-bit a."))
    (row,) = _board(new, store).contracts
    stale = {f.id: f.stale for f in row.falsifiers}
    assert stale == {"FALSIFY-DEMO-001": True, "FALSIFY-DEMO-002": False, "FALSIFY-DEMO-003": False}
    assert row.falsifiers[0].label == "STALE" and row.falsifiers[0].outcome is None
    assert row.derived_status is Status.PARTIAL_ALGORITHM_LEVEL  # stale evidence does not count
    assert [h.current for h in row.falsifiers[0].history] == [False]
    assert "FALSIFY-DEMO-001 (stale)" in row.reason


def test_flaky_only_at_the_same_code_version_and_engines(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, [result(contract, IDS[0], Outcome.HELD)], git_sha="a1")
    record_run(store, [result(contract, IDS[0], Outcome.FALSIFIED, engines={"adder": "broken"})], git_sha="a1")
    record_run(store, [result(contract, IDS[1], Outcome.HELD)], git_sha="a1")
    record_run(store, [result(contract, IDS[1], Outcome.FALSIFIED)], git_sha="b2")  # new code: a regression
    record_run(store, [result(contract, IDS[2], Outcome.HELD, measured={"seconds": 1})], git_sha="a1")
    record_run(store, [result(contract, IDS[2], Outcome.FALSIFIED, measured={"seconds": 3})], git_sha="a1")
    record_run(store, [result(contract, IDS[2], Outcome.HELD, measured={"seconds": 1})], git_sha="a1")
    (row,) = _board(contract, store).contracts
    assert [f.flaky for f in row.falsifiers] == [False, False, True]
    assert row.falsifiers[2].outcome is Outcome.HELD  # the latest still decides, FLAKY is a flag


def test_no_flaky_verdict_from_uncommitted_code(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    for sha in ("a1-dirty", None):  # edited working tree / not a git checkout: the code is not pinned
        record_run(store, [result(contract, IDS[0], Outcome.HELD)], git_sha=sha)
        record_run(store, [result(contract, IDS[0], Outcome.FALSIFIED)], git_sha=sha)
    record_run(store, [result(contract, IDS[1], Outcome.HELD)], git_sha="a1", version="0.1.0")
    record_run(store, [result(contract, IDS[1], Outcome.FALSIFIED)], git_sha="a1", version="0.2.0")
    (row,) = _board(contract, store).contracts
    assert [f.flaky for f in row.falsifiers[:2]] == [False, False]


def test_error_after_falsified_keeps_the_counterexample(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    first = record_run(store, [result(contract, IDS[0], Outcome.FALSIFIED, message="add(7, 0) == 8")])
    record_run(store, [result(contract, IDS[0], Outcome.ERROR, message="RuntimeError: disk full")])
    (row,) = _board(contract, store).contracts
    f = row.falsifiers[0]
    assert (f.outcome, f.latest_outcome, f.run_id) == (Outcome.FALSIFIED, Outcome.ERROR, first)
    assert "add(7, 0) == 8" in f.message and "disk full" in f.message
    assert row.derived_status is Status.FALSIFIED


def test_level_below_required_is_shown_and_not_counted(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, [result(contract, IDS[0], Outcome.HELD),
                       result(contract, IDS[1], Outcome.HELD, level=Level.ALGORITHM)])
    (row,) = _board(contract, store).contracts
    assert [f.held_at_level for f in row.falsifiers[:2]] == [True, False]
    assert row.derived_status is Status.PARTIAL_ALGORITHM_LEVEL
    assert "held at algorithm < required integration" in row.reason


def test_drift_declared_summary_unbound_and_orphans(tmp_path: Path) -> None:
    summary = "verification_summary:\n  total_obligations: 3\n  tested: 3\n  status: functional\n"
    contract = write_contract(tmp_path, demo_yaml(status="FUNCTIONAL", summary=summary))
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, [result(contract, IDS[0], Outcome.HELD)])
    ours, theirs = SimpleNamespace(plugin="builtin-family"), SimpleNamespace(plugin="their-plugin")
    registered = {
        ("demo-adder-v1", IDS[0]): theirs,
        ("demo-adder-v1", "FALSIFY-NOWHERE-001"): theirs,  # the loaded contract declares no such id
        ("other-v1", "FALSIFY-OTHER-001"): theirs,  # the project's own plugin, for a contract not loaded
        ("reference-v1", "FALSIFY-REF-001"): ours,  # a built-in family whose contract is not loaded: silent
        ("other-v1", IDS[1]): theirs,  # the same id for another contract does not bind this one
    }
    board = _board(contract, store, registered, builtin=["builtin-family"])
    (row,) = board.contracts
    assert row.derived_status is Status.PARTIAL_ALGORITHM_LEVEL
    assert row.drift == [
        "declares status FUNCTIONAL, evidence says PARTIAL_ALGORITHM_LEVEL",
        "verification_summary.tested is 3, but 1 falsifier(s) HELD in the evidence",
        "verification_summary.status is 'functional', evidence says PARTIAL_ALGORITHM_LEVEL",
        "no implementation registered for FALSIFY-DEMO-002, FALSIFY-DEMO-003",
    ]
    assert board.orphans == [
        "FALSIFY-DEMO-002 (for other-v1, which is not among the loaded contracts)",
        "FALSIFY-NOWHERE-001 (for demo-adder-v1, which declares no such falsifier)",
        "FALSIFY-OTHER-001 (for other-v1, which is not among the loaded contracts)",
    ]
    assert [f.bound for f in row.falsifiers] == [True, False, False]
    reasons = board.fail_reasons(["drift"])
    assert len(reasons) == 7 and reasons[-1] == ("implementation FALSIFY-OTHER-001 (for other-v1, which is not among "
                                                "the loaded contracts) binds no loaded contract entry")


def test_declared_word_outside_the_ladder_is_drift(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml(status="ACTIVE"))
    (row,) = _board(contract, None).contracts
    assert row.drift == ["declares status ACTIVE, evidence says PROPOSED ('ACTIVE' is not a status pv derives)"]


def test_fail_on_conditions(tmp_path: Path) -> None:
    contract = write_contract(tmp_path / "a", demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, [result(contract, IDS[0], Outcome.FALSIFIED), result(contract, IDS[1], Outcome.ERROR),
                       result(contract, IDS[2], Outcome.HELD, measured={"seconds": 1})])
    edited = write_contract(tmp_path / "b", demo_yaml(threshold=1.5))  # FALSIFY-DEMO-003's evidence goes stale
    board = _board(edited, store)
    assert board.fail_reasons([]) == []
    assert board.fail_reasons(["falsified"]) == ["demo-adder-v1: FALSIFY-DEMO-001 is FALSIFIED"]
    assert board.fail_reasons(["error"]) == ["demo-adder-v1: FALSIFY-DEMO-002 is ERROR"]
    assert board.fail_reasons(["stale"]) == [
        "demo-adder-v1: FALSIFY-DEMO-003 has only stale evidence (its claim changed since)"]
    assert board.fail_reasons(["drift"]) == []


def test_status_history_follows_the_runs(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    r1 = record_run(store, [result(contract, IDS[0], Outcome.HELD)])
    r2 = record_run(store, [result(contract, IDS[1], Outcome.HELD)])
    r3 = record_run(store, [result(contract, IDS[2], Outcome.FALSIFIED, measured={"seconds": 9})])
    r4 = record_run(store, [result(contract, IDS[2], Outcome.HELD, measured={"seconds": 1})])
    (row,) = _board(contract, store).contracts
    assert row.status_history == [(r1, Status.PARTIAL_ALGORITHM_LEVEL), (r2, Status.FUNCTIONAL),
                                  (r3, Status.FALSIFIED), (r4, Status.DISCHARGED)]


def test_json_shape_matches_design(tmp_path: Path) -> None:
    contract = write_contract(tmp_path, demo_yaml())
    store = EvidenceStore(tmp_path / "e.sqlite")
    record_run(store, all_held(contract))
    data = _board(contract, store).to_dict()
    assert data["version"] == 1
    (c,) = data["contracts"]
    assert {"id", "file", "version", "declared_status", "derived_status", "falsifiers"} <= set(c)
    assert (c["id"], c["version"], c["declared_status"], c["derived_status"]) == (
        "demo-adder-v1", "1.2.0", None, "DISCHARGED")
    assert c["file"].endswith("demo-adder-v1.yaml")
    f = c["falsifiers"][2]
    assert {"id", "level", "outcome", "measured", "thresholds", "stale", "flaky"} <= set(f)
    assert (f["id"], f["level"], f["outcome"], f["measured"], f["stale"], f["flaky"]) == (
        "FALSIFY-DEMO-003", "live", "HELD", {"seconds": 1.0}, False, False)
    assert f["thresholds"] == [{"metric": "seconds", "op": "<=", "value": 2.0}]


def test_drift_names_test_nodes_that_do_not_exist(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.pv]\nstrict = true\n")
    (root / "tests" / "test_adder.py").write_text("def test_demo():\n    assert 1 + 0 == 1\n")
    text = demo_yaml().replace("tests/core/test_scoreboard.py::test_demo", "tests/test_adder.py::test_demo", 2)
    contract = write_contract(root / "contracts", text)
    (row,) = _board(contract, None).contracts
    # 001 and 002 now name a real node; 003 still names one that is not in this project
    assert [d for d in row.drift if "test: node" in d] == [
        "FALSIFY-DEMO-003: its test: node does not exist: test file tests/core/test_scoreboard.py does not exist "
        f"(looked under {root})"]
    # outside a [tool.pv] project nothing is checked (other projects' contracts name Rust tests and prose)
    (row,) = _board(write_contract(tmp_path / "loose", text), None).contracts
    assert not [d for d in row.drift if "test: node" in d]
