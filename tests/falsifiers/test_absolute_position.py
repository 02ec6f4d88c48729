"""absolute-position-v1 (FALSIFY-AP-*): each falsifier FALSIFIED against its mutant, HELD against the real trainer;
the position bound tested on the dot (max-1 accepted, max and max+1 refused)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.engine import TorchTrainer
from engines.trainer.positions import AbsolutePositionEmbedding, PositionError, sinusoidal_table

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
AP = "FALSIFY-AP-"


@pytest.mark.parametrize(("number", "mutant"), [
    ("001", "broken-pe-seq-first-broadcast"),
    ("002", "broken-pe-add-layernorm"),
    ("003", "broken-pe-wraps-position"),
    ("004", "broken-pe-add-fp16"),
    ("005", "broken-pe-scaled-by-sqrt-d"),
    ("006", "broken-pe-concat-layout"),
    ("007", "broken-pe-freq-exponent"),
])
def test_falsified_by_its_mutant_and_held_by_the_real_engine(tmp_path: Path, number: str, mutant: str) -> None:
    broken = run_falsifier(AP + number, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(AP + number, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


@pytest.mark.parametrize(("position", "accepted"), [(3, True), (4, True), (5, False), (6, False), (-1, False)])
def test_the_position_bound_on_the_dot(position: int, accepted: bool) -> None:
    table, token = sinusoidal_table(5, 4), torch.randn(1, 4)
    if accepted:
        out = TorchTrainer().add_positions(token, table, torch.tensor([position]))
        assert torch.equal(out[0], token[0] + table[position])
    else:
        with pytest.raises(PositionError, match=rf"position {position} is outside the position table \[0, 5\)"):
            TorchTrainer().add_positions(token, table, torch.tensor([position]))


def test_a_sequence_as_long_as_the_table_fits_and_one_longer_is_refused() -> None:
    table = sinusoidal_table(8, 6)
    assert TorchTrainer().add_positions(torch.zeros(8, 6), table).shape == (8, 6)
    with pytest.raises(PositionError, match="position 8 is outside"):
        TorchTrainer().add_positions(torch.zeros(9, 6), table)


class _Clamps(TorchTrainer):
    """Clamps out-of-range positions to the table's edge: the contract allows this too."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        return super().add_positions(token_embed, pos_table, positions.clamp(0, pos_table.shape[0] - 1))


class _RefusesLastRow(TorchTrainer):
    """Off by one on the valid side: refuses position max-1."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        if positions is not None and bool((positions >= pos_table.shape[0] - 1).any()):
            raise PositionError("position out of range")
        return super().add_positions(token_embed, pos_table, positions)


def test_ap_003_accepts_clamping_and_catches_refusing_the_last_row(tmp_path: Path) -> None:
    clamps = run_falsifier(AP + "003", engines={"trainer": _Clamps()}, workspace=tmp_path / "c")
    assert clamps.outcome is Outcome.HELD, clamps.message
    strict = run_falsifier(AP + "003", engines={"trainer": _RefusesLastRow()}, workspace=tmp_path / "s")
    assert strict.outcome is Outcome.FALSIFIED, strict.message


def test_finite_boundary_half_max_plus_half_max_is_the_largest_float() -> None:
    half = torch.finfo(torch.float32).max / 2
    out = TorchTrainer().add_positions(torch.full((1, 2), half), torch.full((1, 2), half))
    assert bool(torch.isfinite(out).all()) and float(out[0, 0]) == torch.finfo(torch.float32).max


def test_sinusoid_known_values_and_range() -> None:
    engine = TorchTrainer()
    assert engine.sinusoidal_positions(torch.tensor([0]), 2).tolist() == [[0.0, 1.0]]
    pe = engine.sinusoidal_positions(torch.tensor([1.0, 1e6 + 0.5]), 8)
    assert float(pe.abs().max()) <= 1.0
    # Column 2 is sin(pos * 10000^(-2/8)) = sin(0.1) at pos 1.
    assert abs(float(pe[0, 2]) - 0.09983341664682815) < 1e-7


def test_odd_width_empty_input_and_unknown_token_are_refused_clearly() -> None:
    with pytest.raises(PositionError, match="even, positive width; got d = 5"):
        sinusoidal_table(4, 5)
    layer = AbsolutePositionEmbedding(vocab_size=10, dim=4, max_positions=3)
    assert layer(torch.tensor([[1, 2, 3]])).shape == (1, 3, 4)
    with pytest.raises(PositionError, match="outside the position table"):
        layer(torch.tensor([[1, 2, 3, 4]]))
    with pytest.raises(PositionError, match="outside the vocabulary"):
        layer(torch.tensor([[10]]))
    with pytest.raises(PositionError, match="empty input"):
        layer(torch.zeros(1, 0, dtype=torch.long))


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(SHARED / "absolute-position-v1.yaml"), "--level", "all", "--evidence",
               str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert code == 0
    assert results == {f"{AP}00{n}": "HELD" for n in range(1, 8)}
