"""gqa-kernel-v1 (FALSIFY-GQ-*): each falsifier FALSIFIED against its mutant, HELD against the real trainer;
the head-ratio boundary (MQA, 7:1, uneven) on the dot; the GPU comparisons exercised on CPU."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from apr_contracts.api import RunContext
from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.engine import TorchTrainer
from engines.trainer.gqa import HeadRatioError, check_heads, kv_head_index
from engines.trainer.mutants.pos_gqa import GQAMaskAfterSoftmax, GQAPow2GroupRound
from falsifiers.aprender.gqa_kernel import (
    GPU_COSINE,
    POW2,
    QWEN_7B,
    check_mapping,
    device_cosine,
    observed_kv_map,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
GQ = "FALSIFY-GQ-"


@pytest.mark.parametrize(("number", "mutant"), [
    ("001", "broken-gqa-mask-after-softmax"),
    ("002", "broken-gqa-mha-path-uncausal"),
    ("003", "broken-gqa-dropout-in-eval"),
    ("004", "broken-gqa-no-ratio-check"),
    ("005", "broken-gqa-bf16-scores"),
    ("006", "broken-gqa-mqa-fold"),
])
def test_falsified_by_its_mutant_and_held_by_the_real_engine(tmp_path: Path, number: str, mutant: str) -> None:
    broken = run_falsifier(GQ + number, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(GQ + number, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def test_the_mha_fast_path_defect_is_invisible_to_grouped_ratios(tmp_path: Path) -> None:
    """Why GQ-002 needs KV == H: the uncausal MHA path leaves a 4:1 model's attention untouched."""
    from engines.trainer.mutants.pos_gqa import GQAMhaPathNotCausal

    q, k, v = torch.randn(1, 8, 5, 4), torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    assert torch.equal(GQAMhaPathNotCausal().gqa_attention(q, k, v), TorchTrainer().gqa_attention(q, k, v))


@pytest.mark.parametrize(("heads", "kv", "ok"), [
    (8, 1, True), (8, 8, True), (7, 1, True), (28, 4, True),  # MQA, MHA, 7:1, Qwen2.5-7B
    (8, 3, False), (6, 4, False), (4, 8, False), (8, 0, False),
])
def test_head_ratio_boundary(heads: int, kv: int, ok: bool) -> None:
    if ok:
        assert check_heads(heads, kv) == heads // kv
        assert kv_head_index(heads - 1, heads, kv) == kv - 1  # the last query head reads the last KV head
        return
    with pytest.raises(HeadRatioError) as err:
        if kv == 0:  # no tensor has zero heads; the check itself refuses it
            check_heads(heads, kv)
        else:
            TorchTrainer().gqa_attention(torch.zeros(1, heads, 2, 4), torch.zeros(1, kv, 2, 4), torch.zeros(1, kv, 2, 4))
    assert str(heads) in err.value.message and str(kv) in err.value.message and err.value.exit_code == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: these run for real")
@pytest.mark.parametrize("number", ["007", "008", "009"])
def test_gpu_claims_are_skipped_without_cuda(tmp_path: Path, number: str) -> None:
    got = run_falsifier(GQ + number, workspace=tmp_path)
    assert got.outcome is Outcome.SKIPPED and "CUDA" in got.message


def test_gpu_parity_comparison_on_cpu() -> None:
    """GQ-007/008's comparison, run on CPU: the real engine passes both shapes; rounding the group to a power
    of two breaks 7:1 only; masking after the softmax breaks 4:1 too."""
    real, pow2, masked = TorchTrainer(), GQAPow2GroupRound(), GQAMaskAfterSoftmax()
    assert device_cosine(real, *QWEN_7B, "cpu", seed=0) > 0.9999
    assert device_cosine(real, *POW2, "cpu", seed=0) > 0.9999
    assert device_cosine(pow2, *QWEN_7B, "cpu", seed=0) < GPU_COSINE
    assert device_cosine(pow2, *POW2, "cpu", seed=0) > 0.9999
    assert device_cosine(masked, *POW2, "cpu", seed=0) < GPU_COSINE


def test_head_mapping_observed_on_cpu(tmp_path: Path) -> None:
    """GQ-009's check, run on CPU: q * KV // H observed through the kernel; the power-of-two mutant fails at 7:1."""
    assert observed_kv_map(TorchTrainer(), 28, 4, "cpu", seed=0) == [q // 7 for q in range(28)]
    assert observed_kv_map(GQAPow2GroupRound(), 28, 4, "cpu", seed=0)[7] == 0  # head 7 should read KV head 1

    def ctx(engine: TorchTrainer) -> RunContext:
        return RunContext(GQ + "009", tmp_path, 0, Level.ALGORITHM, _engines={"trainer": lambda: engine})

    assert check_mapping(ctx(TorchTrainer()), "cpu").outcome is Outcome.HELD
    broken = check_mapping(ctx(GQAPow2GroupRound()), "cpu")
    assert broken.outcome is Outcome.FALSIFIED and "H=28, KV=4" in broken.message


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(SHARED / "gqa-kernel-v1.yaml"), "--level", "all", "--evidence",
               str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert code == 0
    gpu = "HELD" if torch.cuda.is_available() else "SKIPPED"
    assert results == {**{f"{GQ}00{n}": "HELD" for n in range(1, 7)}, **{f"{GQ}00{n}": gpu for n in (7, 8, 9)}}
