"""FALSIFY-PRETRAIN-VAL-SHARD-001..004 (reference contract apr-pretrain-val-shard-v1): FALSIFIED against a broken
held-out set, HELD against the real trainer; the engine's held-out rules at their boundaries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.errors import AprError
from engines.trainer.engine import TorchTrainer
from engines.trainer.validation import ID_EMPTY, window_count

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
VAL = "FALSIFY-PRETRAIN-VAL-SHARD-"


@pytest.mark.parametrize(("falsifier_id", "mutant"), [
    (VAL + "001", "broken-val-shards-still-split"),
    (VAL + "002", "broken-val-wraps"),
    (VAL + "003", "broken-val-empty-fallback"),
    (VAL + "004", "broken-legacy-every-16"),
])
def test_falsified_by_the_mutant_and_held_by_the_real_engine(tmp_path: Path, falsifier_id: str, mutant: str) -> None:
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def _shard(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.arange(1, n + 1, dtype="<u4").tofile(folder / "shard-00000.bin")
    return folder


@pytest.mark.parametrize(("tokens", "windows"), [(16, None), (17, 1), (18, 1), (32, 1), (33, 2), (16 * 40 + 1, 8)])
def test_val_windows_at_the_boundaries(tmp_path: Path, tokens: int, windows: int | None) -> None:
    """seq 16, --val-tokens 8 windows: seq ids refused (naming the folder and the id), seq + 1 is one window,
    2·seq + 1 two; a long shard is capped at 8 windows; never more windows than the stream holds."""
    engine = TorchTrainer()
    folder = _shard(tmp_path / "v", tokens)
    if windows is None:
        with pytest.raises(AprError) as err:
            engine.open_val_shards([str(folder)], 16)
        assert err.value.falsifier == ID_EMPTY and str(folder) in str(err.value) and err.value.exit_code == 1
        return
    val = engine.open_val_shards([str(folder)], 16)
    held = engine.held_out(val, val, seq_length=16, max_tokens=8 * 16, eos_id=None)
    assert held.windows.shape == (windows, 17) == (window_count(tokens, 16, 8 * 16), 17)
    assert held.windows[0, 0] == 1 and held.windows[-1, -1] == 16 * windows + 1  # consecutive, no repeats


def test_empty_folder_and_zero_byte_shard_are_refused(tmp_path: Path) -> None:
    engine = TorchTrainer()
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", _shard(tmp_path / "zero", 0)):
        with pytest.raises(AprError) as err:
            engine.open_val_shards([str(folder)], 8)
        assert err.value.falsifier == ID_EMPTY and str(folder) in err.value.message
    with pytest.raises(AprError) as missing:  # a missing path stays the usage error every input gets (exit 2)
        engine.open_val_shards([str(tmp_path / "nope")], 8)
    assert missing.value.exit_code == 2 and "no such file or folder" in missing.value.message


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(SHARED / "apr-pretrain-val-shard-v1.yaml"), "--level", "all",
               "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert results == {f"{VAL}00{n}": "HELD" for n in range(1, 5)}, results
    assert code == 0
