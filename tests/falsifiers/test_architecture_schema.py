"""FALSIFY-ARCH-001..008 (apr-architecture-schema-v1): HELD on the real exporter's schema check, FALSIFIED on
a broken one per rule; boundaries (767/768/769, kv 4/5/6, vocab±1, 5/6 missing tensors) on the dot."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

ARCH = "FALSIFY-ARCH-"
BROKEN = {
    "001": "broken-schema-floor-head-dim",
    "002": "broken-schema-gqa-bound",
    "003": "broken-schema-attn-rows-only",
    "004": "broken-schema-ffn-sorted-dims",
    "005": "broken-schema-norm-total",
    "006": "broken-schema-embed-cols-only",
    "007": "broken-schema-rope-default",
    "008": "broken-schema-count-one-sided",
}


@pytest.mark.parametrize("num", sorted(BROKEN))
def test_held_on_the_real_engine(tmp_path: Path, num: str) -> None:
    got = run_falsifier(ARCH + num, workspace=tmp_path)
    assert got.outcome is Outcome.HELD, got.message


@pytest.mark.parametrize(("num", "mutant"), sorted(BROKEN.items()))
def test_falsified_on_the_broken_rule(tmp_path: Path, num: str, mutant: str) -> None:
    got = run_falsifier(ARCH + num, engines={"exporter": mutant}, workspace=tmp_path)
    assert got.outcome is Outcome.FALSIFIED, got.message


@pytest.mark.parametrize(("num", "silent", "reported"), [
    ("001", ["hidden=768", "hidden=769 head_dim=64 (explicit)"], ["hidden=767", "hidden=769"]),
    ("002", ["kv=4", "kv=6"], ["kv=5"]),
    ("006", ["rows=128"], ["rows=127", "rows=129"]),
    ("007", ["llama rope.type=None", "llama rope.type=0", "qwen2 rope.type=2"], ["llama rope.type=1", "llama rope.type=3", "qwen2 rope.type=3"]),
    ("008", ["0 missing", "5 missing"], ["6 missing", "10 missing", "6 surplus"]),
])
def test_boundaries_case_by_case(tmp_path: Path, num: str, silent: list[str], reported: list[str]) -> None:
    """The boundary itself and one step each side, as the real engine judged them."""
    got = run_falsifier(ARCH + num, workspace=tmp_path)
    assert got.outcome is Outcome.HELD, got.message
    assert all(got.measured[label] == [] for label in silent), got.measured
    assert all(got.measured[label] for label in reported), got.measured


def test_qa_reports_the_schema_gate(tmp_path: Path) -> None:
    """The rules surface in `apr qa` as gate QA-ARCH-SCHEMA, each violation named with expected vs found."""
    from safetensors.numpy import load_file, save_file

    from engines.exporter import qa
    from engines.exporter.engine import GGUFExporter
    from engines.exporter.fixtures import tiny_checkpoint

    ckpt = tiny_checkpoint(tmp_path / "ck", "qwen2")
    engine = GGUFExporter()
    assert engine.qa_gates.schema_gate(ckpt).status == qa.PASS
    state = load_file(str(ckpt / "model.safetensors"))
    down = "model.layers.1.mlp.down_proj.weight"
    state[down] = state[down].T.copy()
    save_file(state, str(ckpt / "model.safetensors"))
    gate = engine.qa_gates.schema_gate(ckpt)
    assert gate.status == qa.FAIL
    assert "blk.1.ffn_down.weight" in gate.reason and "expected [64, 172], found [172, 64]" in gate.reason
