"""FALSIFY-COSINE-001..006 (reference contract entrenar/cosine-lr-schedule-v1): FALSIFIED against a broken
schedule, HELD against the real trainer; the schedule module itself at its boundaries."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.schedule import factor

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
COS = "FALSIFY-COSINE-"


@pytest.mark.parametrize(("falsifier_id", "mutant"), [
    (COS + "001", "broken-cosine-from-step-0"),
    (COS + "001", "broken-cosine-full-period"),
    (COS + "002", "broken-lr-horizon-dropped"),
    (COS + "003", "broken-cosine-full-period"),
    (COS + "004", "broken-unknown-horizon-defaulted"),
    (COS + "005", "broken-lr-first-group-only"),
    (COS + "006", "broken-horizon-micro-steps"),
])
def test_falsified_by_the_mutant_and_held_by_the_real_engine(tmp_path: Path, falsifier_id: str, mutant: str) -> None:
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def test_the_existing_warmup_mutant_is_not_what_these_catch(tmp_path: Path) -> None:
    """broken-warmup-int-div only breaks warm-up; the decay claims (002) still hold under it."""
    got = run_falsifier(COS + "002", engines={"trainer": "broken-warmup-int-div"}, workspace=tmp_path)
    assert got.outcome is Outcome.HELD, got.message


def test_schedule_boundaries() -> None:
    # Warm-up: the last warm-up step and the first decay step are both the peak; one step earlier is not.
    assert factor(98, warmup=100, total=1000, min_ratio=0.0) == pytest.approx(0.99)
    assert factor(99, warmup=100, total=1000, min_ratio=0.0) == 1.0
    assert factor(100, warmup=100, total=1000, min_ratio=0.0) == 1.0
    # Horizon: at total the floor is reached, before it not yet, past it the floor holds.
    assert 0.0 < factor(999, warmup=100, total=1000, min_ratio=0.0) < 1e-4
    assert factor(1000, warmup=100, total=1000, min_ratio=0.0) == 0.0
    assert factor(1001, warmup=100, total=1000, min_ratio=0.1) == pytest.approx(0.1)
    # No horizon: constant after warm-up, however far.
    assert factor(10**9, warmup=100, total=None, min_ratio=0.1) == 1.0
    # No warm-up: step 0 is the peak; warm-up == horizon does not divide by zero.
    assert factor(0, warmup=0, total=10, min_ratio=0.0) == 1.0
    assert math.isfinite(factor(10, warmup=10, total=10, min_ratio=0.0))


def test_cli_constant_schedule_keeps_the_peak(tmp_path: Path) -> None:
    """`apr pretrain --lr-schedule constant`: no horizon, every post-warm-up step at --lr."""
    from apr_contracts.api import Level, RunContext
    from falsifiers._tiny_pretrain import must_succeed, pretrain

    ctx = RunContext("test", tmp_path, 0, Level.INTEGRATION, _engines={"trainer": _real_trainer})
    run = must_succeed(pretrain(ctx, "const", "--num-steps", "6", "--batch-size", "1", "--seq-length", "16",
                                "--lr", "1e-3", "--warmup-steps", "2", "--lr-schedule", "constant",
                                "--eval-every", "100", "--val-tokens", "32"), "constant run")
    assert run.report["result"]["schedule"]["horizon"] is None
    assert [r["lr"] for r in run.steps] == [5e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]


def _real_trainer() -> object:
    from engines.trainer.engine import TorchTrainer

    return TorchTrainer()


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(SHARED / "entrenar" / "cosine-lr-schedule-v1.yaml"), "--level", "all",
               "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert results == {f"{COS}00{n}": "HELD" for n in range(1, 7)}, results
    assert code == 0
