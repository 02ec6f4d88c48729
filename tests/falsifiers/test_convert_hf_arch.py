"""FALSIFY-CONVERT-HF-ARCH-001..004 (apr-convert-hf-arch-v1): HELD on the real trainer's `apr import`, FALSIFIED on a
broken one per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

HF_ARCH = "FALSIFY-CONVERT-HF-ARCH-"
BROKEN = {
    "001": "broken-import-drops-hf-arch",
    "002": "broken-import-guesses-hf-arch",
    "003": "broken-import-last-hf-arch",
    "004": "broken-import-slug-as-hf-class",
}


@pytest.mark.parametrize("num", sorted(BROKEN))
def test_held_on_the_real_engine(tmp_path: Path, num: str) -> None:
    got = run_falsifier(HF_ARCH + num, workspace=tmp_path)
    assert got.outcome is Outcome.HELD, got.message


@pytest.mark.parametrize(("num", "mutant"), sorted(BROKEN.items()))
def test_falsified_on_the_broken_import(tmp_path: Path, num: str, mutant: str) -> None:
    got = run_falsifier(HF_ARCH + num, engines={"trainer": mutant}, workspace=tmp_path)
    assert got.outcome is Outcome.FALSIFIED, got.message


def test_synthesizer_rule_and_exceptions() -> None:
    from engines.trainer.importer import hf_architecture_from_config, synthesize_hf_architecture

    assert synthesize_hf_architecture("qwen2.5") == "Qwen2ForCausalLM"  # a version suffix, not "Qwen2.5..."
    assert synthesize_hf_architecture("Gemma2") == "Gemma2ForCausalLM"
    assert hf_architecture_from_config({"architectures": [7, "LlamaForCausalLM"]}) is None  # non-string first entry
    assert hf_architecture_from_config({"architectures": "LlamaForCausalLM"}) is None  # not a list


def test_inspect_shows_the_recorded_class(tmp_path: Path) -> None:
    """`apr inspect --format json` shows hf_architecture under meta (the user-facing read of the record)."""
    import json
    import subprocess
    import sys

    from engines.exporter.fixtures import tiny_checkpoint
    from engines.trainer.engine import TorchTrainer

    TorchTrainer().import_model(tiny_checkpoint(tmp_path / "hf", "llama"), tmp_path / "out")
    proc = subprocess.run([sys.executable, "-m", "engines.cli", "inspect", str(tmp_path / "out"), "--format", "json"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["meta"]["hf_architecture"] == "LlamaForCausalLM"
