"""FALSIFY-AS-001..003 (alibi-slopes-v1): FALSIFIED against a deliberately broken trainer engine, HELD against
the real one; the boundaries (the 1e-7 head-0 tolerance, a slope of exactly 1 or 0, head counts just below,
at and above a power of two) checked on the dot and one step each side."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.engine import TorchTrainer
from falsifiers.aprender.alibi_slopes import ggml_slope

AS = "FALSIFY-AS-"
REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
CONTRACT = SHARED / "alibi-slopes-v1.yaml"

MUTANT_FOR = {"001": "broken-alibi-no-offset", "002": "broken-alibi-interleave-offset",
              "003": "broken-alibi-naive-geometric"}


def _run(num: str, engine: Any, tmp_path: Path, name: str) -> Any:
    return run_falsifier(AS + num, engines={"trainer": engine}, workspace=tmp_path / name)


@pytest.mark.parametrize("num", sorted(MUTANT_FOR))
def test_falsified_by_its_mutant_and_held_by_the_real_engine(num: str, tmp_path: Path) -> None:
    broken = _run(num, MUTANT_FOR[num], tmp_path, "broken")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    real = _run(num, "torch", tmp_path, "real")
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


class Head0Shifted(TorchTrainer):
    """Real slopes with head 0 of 8 heads moved by ``delta``."""

    def __init__(self, delta: float) -> None:
        self.delta = delta

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        got = super().alibi_slopes(n_heads, max_bias=max_bias)
        return [got[0] + self.delta, *got[1:]] if n_heads == 8 else got


@pytest.mark.parametrize(("delta", "outcome"), [
    (0.0, Outcome.HELD), (0.9e-7, Outcome.HELD), (-0.9e-7, Outcome.HELD),
    (1.1e-7, Outcome.FALSIFIED), (-1.1e-7, Outcome.FALSIFIED),  # 1e-7 itself is not representable around 0.5
])
def test_as_001_head0_tolerance_either_side(delta: float, outcome: Outcome, tmp_path: Path) -> None:
    assert _run("001", Head0Shifted(delta), tmp_path, f"d{delta}").outcome is outcome


class OneSlopeSetTo(TorchTrainer):
    """Real slopes with the last head of 12 set to ``value``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        got = super().alibi_slopes(n_heads, max_bias=max_bias)
        return [*got[:-1], self.value] if n_heads == 12 else got


@pytest.mark.parametrize(("value", "outcome"), [
    (1.0, Outcome.FALSIFIED), (math.nextafter(1.0, 0.0), Outcome.HELD),  # the upper bound, open
    (0.0, Outcome.FALSIFIED), (5e-324, Outcome.HELD),  # the lower bound, open
])
def test_as_002_open_interval_on_the_dot(value: float, outcome: Outcome, tmp_path: Path) -> None:
    assert _run("002", OneSlopeSetTo(value), tmp_path, f"v{value}").outcome is outcome


def test_as_003_catches_a_slope_2e_13_off_the_ggml_rule_past_a_power_of_two(tmp_path: Path) -> None:
    """A slope a thousand float64 steps off (2e-13 relative, above the 1e-13 tolerance) on head 8 of 9."""
    class Off(TorchTrainer):
        def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
            got = super().alibi_slopes(n_heads, max_bias=max_bias)
            if n_heads == 9:
                got[8] *= 1 + 2e-13
            return got

    assert _run("003", Off(), tmp_path, "off").outcome is Outcome.FALSIFIED


@pytest.mark.parametrize(("n", "want"), [
    (1, [2.0 ** -8]),
    (2, [2.0 ** -4, 2.0 ** -8]),
    (3, [2.0 ** -4, 2.0 ** -8, 2.0 ** -2]),  # head 2 interleaves the n=4 sequence: 2^(-8/4)
    (7, [2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8, 2.0 ** -1, 2.0 ** -3, 2.0 ** -5]),
    (8, [2.0 ** -(h + 1) for h in range(8)]),
    (9, [2.0 ** -(h + 1) for h in range(8)] + [2.0 ** -0.5]),
])
def test_engine_slopes_below_at_and_above_a_power_of_two(n: int, want: list[float]) -> None:
    got = TorchTrainer().alibi_slopes(n)
    assert got == pytest.approx(want, rel=1e-15, abs=0)
    assert got == pytest.approx([ggml_slope(n, h) for h in range(n)], rel=1e-15, abs=0)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_engine_refuses_a_head_count_that_is_not_a_positive_int(bad: Any) -> None:
    with pytest.raises(ValueError, match="n_heads"):
        TorchTrainer().alibi_slopes(bad)


@pytest.mark.parametrize("bad", [0.0, -8.0, math.inf, math.nan])
def test_engine_refuses_an_unusable_max_bias(bad: float) -> None:
    with pytest.raises(ValueError, match="max_bias"):
        TorchTrainer().alibi_slopes(8, max_bias=bad)


def test_bias_is_minus_slope_times_distance() -> None:
    import torch

    bias = TorchTrainer().alibi_bias(2, 3, dtype=torch.float64)
    assert bias.tolist() == [[[0.0, -0.0625, -0.125], [-0.0625, 0.0, -0.0625], [-0.125, -0.0625, 0.0]],
                             [[0.0, -2.0 ** -8, -2.0 ** -7], [-2.0 ** -8, 0.0, -2.0 ** -8],
                              [-2.0 ** -7, -2.0 ** -8, 0.0]]]
    assert math.copysign(1.0, float(bias[0, 0, 0])) > 0  # the diagonal is +0.0
    with pytest.raises(ValueError, match="sequence length"):
        TorchTrainer().alibi_bias(2, 0)


@pytest.mark.skipif(not CONTRACT.is_file(), reason=f"{CONTRACT} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(CONTRACT), "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert results == {AS + num: "HELD" for num in MUTANT_FOR}, results
    assert code == 0
