"""FALSIFY-ACT-001..011 (activation-kernel-v1): FALSIFIED against a deliberately broken trainer engine, HELD
against the real one; the claims' boundaries (the 4-ULP bound, the 1e-4 bound, ±0, subnormals) on the dot
and one step each side, with test-local engines that are off by an exact amount."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.engine import TorchTrainer
from falsifiers.aprender.activation_kernel import TINY, f32, ulp_distance

ACT = "FALSIFY-ACT-"
REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
CONTRACT = SHARED / "activation-kernel-v1.yaml"

MUTANT_FOR = {
    "001": "broken-gelu-table-offset",
    "002": "broken-gelu-tanh-coef",
    "003": "broken-silu-sigmoid-gate",
    "004": "broken-relu-mask-multiply",
    "005": "broken-gelu-textbook-f32",
    "006": "broken-relu-sign-flip",
    "007": "broken-relu-as-leaky",
    "008": "broken-leaky-max-trick",
    "009": "broken-leaky-default-slope",
    "010": "broken-gelu-poly-erf",
    "011": "broken-gelu-tanh-no-half",
}


def _run(num: str, engine: Any, tmp_path: Path, name: str) -> Any:
    return run_falsifier(ACT + num, engines={"trainer": engine}, workspace=tmp_path / name)


@pytest.mark.parametrize("num", sorted(MUTANT_FOR))
def test_falsified_by_its_mutant_and_held_by_the_real_engine(num: str, tmp_path: Path) -> None:
    broken = _run(num, MUTANT_FOR[num], tmp_path, "broken")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    real = _run(num, "torch", tmp_path, "real")
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


# --- FALSIFY-ACT-005: the 4-ULP bound (strict) on the dot and one step each side -------------------


class SiluOffByUlps(TorchTrainer):
    """The real SiLU moved exactly ``k`` float32 steps up (nextafter towards +inf, k times)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def silu(self, x: Any) -> Any:
        y = super().silu(x)
        for _ in range(self.k):
            y = torch.nextafter(y, torch.full_like(y, math.inf))
        return y


@pytest.mark.parametrize(("k", "outcome"), [(3, Outcome.HELD), (4, Outcome.FALSIFIED), (5, Outcome.FALSIFIED)])
def test_act_005_ulp_bound_is_strict(k: int, outcome: Outcome, tmp_path: Path) -> None:
    got = _run("005", SiluOffByUlps(k), tmp_path, f"k{k}")
    assert got.outcome is outcome, got.message
    assert got.measured["max_ulp_silu"] == k  # the distance really is k where the output is finite


def test_ulp_distance_treats_signed_zeros_as_one_point() -> None:
    assert ulp_distance(0.0, -0.0) == 0
    assert ulp_distance(-TINY, TINY) == 2 and ulp_distance(0.0, TINY) == 1
    assert ulp_distance(1.0, math.nextafter(1.0, 2.0)) == 0  # below float32 resolution
    assert ulp_distance(float("nan"), 0.0) == math.inf


# --- FALSIFY-ACT-002: the 1e-4 bound, one step each side ----------------------------------------


class TanhGeluOffset(TorchTrainer):
    """The real tanh GELU plus a constant ``delta`` (float32 output: measured error within 1e-6 of delta)."""

    def __init__(self, delta: float) -> None:
        self.delta = delta

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        y = super().gelu(x, approximate=approximate)
        return y + self.delta if approximate == "tanh" else y


@pytest.mark.parametrize(("delta", "outcome"), [(0.97e-4, Outcome.HELD), (1.03e-4, Outcome.FALSIFIED)])
def test_act_002_bound_either_side(delta: float, outcome: Outcome, tmp_path: Path) -> None:
    got = _run("002", TanhGeluOffset(delta), tmp_path, f"d{delta}")
    assert got.outcome is outcome, got.message


def test_act_002_reports_the_erf_gap_it_does_not_claim(tmp_path: Path) -> None:
    """The tanh formula is ~4.7e-4 from the exact erf GELU: more than the 1e-4 bound, hence the reading."""
    got = _run("002", "torch", tmp_path, "gap")
    assert 4.5e-4 < got.measured["tanh_vs_erf_gap"] < 4.8e-4
    assert got.measured["max_abs_error"] < 1e-6


# --- the kernels at the claims' boundary points ---------------------------------------------------


def _t(*xs: float) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float32)


def test_relu_signed_zero_and_subnormals() -> None:
    y = TorchTrainer().relu(_t(-0.0, 0.0, -TINY, TINY, -1.0))
    assert y.tolist() == [0.0, 0.0, 0.0, TINY, 0.0]
    assert all(math.copysign(1.0, v) > 0 for v in y.tolist())  # +0.0 everywhere, never -0.0
    assert torch.isnan(TorchTrainer().relu(_t(math.nan))).all()  # NaN is not hidden


@pytest.mark.parametrize("alpha", [0.0, 0.01, 1.0, 2.0, -0.5])
def test_leaky_relu_at_the_branch_edge(alpha: float) -> None:
    a = f32(alpha)
    y = TorchTrainer().leaky_relu(_t(0.0, -0.0, TINY, -TINY, -2.0), negative_slope=a).tolist()
    assert y[:3] == [0.0, 0.0, TINY]  # x >= 0: identity (the -0.0 == 0 and the smallest subnormal)
    assert y[3:] == [f32(a * -TINY), f32(a * -2.0)]  # x < 0: a*x, the first underflowing to ±0


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.1"])
def test_leaky_relu_refuses_a_non_finite_slope(bad: Any) -> None:
    with pytest.raises(ValueError, match="negative_slope"):
        TorchTrainer().leaky_relu(_t(1.0), negative_slope=bad)


def test_gelu_and_silu_at_zero_and_one_step_each_side() -> None:
    engine = TorchTrainer()
    for kernel in (engine.gelu, lambda t: engine.gelu(t, approximate="tanh"), engine.silu):
        y = kernel(_t(-1e-3, -0.0, 0.0, 1e-3)).tolist()
        assert y[1] == 0.0 and y[2] == 0.0
        assert y[0] < 0.0 < y[3]


@pytest.mark.skipif(not CONTRACT.is_file(), reason=f"{CONTRACT} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(CONTRACT), "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert results == {ACT + num: "HELD" for num in MUTANT_FOR}, results
    assert code == 0
