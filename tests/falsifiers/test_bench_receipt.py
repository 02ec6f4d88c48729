"""F-BENCH-001..004 (apr-bench-receipt-v1): HELD on the real `apr bench`, FALSIFIED on one broken exporter each;
plus the receipt rules and `apr bench --check` directly (boundaries: 1 sample, n = len +- 1, 13/14 cases)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.cli import main as apr
from engines.exporter import receipt as rc

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
CONTRACT = SHARED / "apr-bench-receipt-v1.yaml"


@pytest.mark.parametrize(("num", "mutant", "says"), [
    ("001", "broken-bench-class-not-required", "compute_class removed: ACCEPTED"),
    ("002", "broken-bench-arms-cross-class", "a cross-class ratio armed a gate"),
    ("003", "broken-bench-summary-only", "samples_ms = []"),
    ("004", "broken-bench-case-table-shrunk", "13 cases, below the floor 14"),
])
def test_held_on_real_bench_falsified_on_mutant(num: str, mutant: str, says: str, tmp_path: Path) -> None:
    contract = CONTRACT if CONTRACT.is_file() else None
    (tmp_path / "real").mkdir()
    (tmp_path / "broken").mkdir()
    good = run_falsifier("F-BENCH-" + num, workspace=tmp_path / "real", contract_file=contract)
    assert good.outcome is Outcome.HELD, good.message
    bad = run_falsifier("F-BENCH-" + num, engines={"exporter": mutant}, workspace=tmp_path / "broken", contract_file=contract)
    assert bad.outcome is Outcome.FALSIFIED, bad.message
    assert says in bad.message, bad.message


def test_case_table_sorts_as_declared_and_has_both_verdicts() -> None:
    validator = rc.ReceiptValidator()
    cases = validator.cases()
    assert len(cases) >= rc.CASE_FLOOR == 14
    assert {c.expected for c in cases} == {rc.GREEN, rc.RED}
    assert rc.self_test(validator.validate, cases).ok


def test_self_test_floor_boundary() -> None:
    validator = rc.ReceiptValidator()
    cases = validator.cases()
    assert not rc.self_test(validator.validate, cases[:13]).ok  # 13: below the floor
    assert rc.self_test(validator.validate, cases[:14]).ok  # 14: on it
    assert rc.self_test(validator.validate, cases[:15]).ok


def test_sample_rules_boundaries() -> None:
    v = rc.ReceiptValidator()
    base = rc.base_receipt()
    one = json.loads(json.dumps(base))
    one["decode"].update(samples_ms=[88.1], n=1, median_tokens_per_s=round(32 / 0.0881, 3))
    assert v.validate(one) == []  # a single sample is allowed (nothing to be constant against)
    for n in (2, 4):  # len = 3: one below and one above
        r = json.loads(json.dumps(base))
        r["decode"]["n"] = n
        assert any("n = " in p for p in v.validate(r)), n
    r = json.loads(json.dumps(base))
    r["decode"]["median_tokens_per_s"] = round(r["decode"]["median_tokens_per_s"] + 0.002, 3)  # beyond rounding
    assert any("median" in p for p in v.validate(r))


def test_compute_class_is_the_path_taken() -> None:
    assert rc.compute_class("cpu", ["cpu", "cuda"]) == "cpu"  # a CUDA build that ran on the CPU is cpu
    assert rc.compute_class("cuda", ["cpu"]) == "unknown"  # cannot have taken a path it lacks
    assert rc.compute_class("cuda", ["cpu", "cuda"]) == "cuda"
    assert rc.compute_class("mps", ["cpu", "metal"]) == "metal"


def test_compare_never_arms_a_cross_class_threshold() -> None:
    ours = rc.base_receipt()
    theirs = json.loads(json.dumps(ours))
    theirs["provenance"] = {"compute_class": "cuda", "feature_set": ["cpu", "cuda"]}
    cross = rc.compare(ours, theirs, 0.5)
    assert cross["comparability"] == rc.CROSS_CLASS and "threshold" not in cross and cross["notes"]
    same = rc.compare(ours, ours, 0.5)
    assert same["comparability"] == rc.SAME_CLASS and same["threshold"]["passed"] is True


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(rc.base_receipt()), encoding="utf-8")
    broken = rc.base_receipt()
    del broken["provenance"]["compute_class"]
    bad.write_text(json.dumps(broken), encoding="utf-8")
    assert apr(["bench", "--check", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    assert apr(["bench", "--check", str(good), str(bad), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["receipts"][str(bad)]["valid"] is False and out["self_test"]["ok"] is True
    assert apr(["bench", "--check", str(tmp_path / "missing.json")]) == 2
    assert apr(["bench"]) == 2  # neither a target nor --check
