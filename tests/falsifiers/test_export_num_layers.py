"""FALSIFY-EXPORT-NUM-LAYERS-001..003 and FALSIFY-EXPORT-INFER-METADATA-001 (apr-export-num-layers-v1): HELD on the
real exporter, FALSIFIED on a broken one per claim; the layer-count boundaries (gap, single layer, 9/10, none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

BROKEN = {
    "FALSIFY-EXPORT-NUM-LAYERS-001": "broken-infer-layers-distinct",
    "FALSIFY-EXPORT-NUM-LAYERS-002": "broken-export-expects-num-layers",
    "FALSIFY-EXPORT-NUM-LAYERS-003": "broken-export-defaults-missing",
    "FALSIFY-EXPORT-INFER-METADATA-001": "broken-infer-kv-as-heads",
}


@pytest.mark.parametrize("fid", sorted(BROKEN))
def test_held_on_the_real_engine(tmp_path: Path, fid: str) -> None:
    got = run_falsifier(fid, workspace=tmp_path)
    assert got.outcome is Outcome.HELD, got.message


@pytest.mark.parametrize(("fid", "mutant"), sorted(BROKEN.items()))
def test_falsified_on_the_broken_engine(tmp_path: Path, fid: str, mutant: str) -> None:
    got = run_falsifier(fid, engines={"exporter": mutant}, workspace=tmp_path)
    assert got.outcome is Outcome.FALSIFIED, got.message


@pytest.mark.parametrize(("names", "want"), [
    (["blk.0.a", "blk.5.a", "blk.27.a"], 28),  # a gap does not shrink the model
    (["blk.0.a"], 1),  # a single layer
    (["blk.1.a"], 2),  # one step up, layer 0 absent from the list
    (["blk.9.a", "blk.10.a"], 11),  # numeric max, not the string max "9"
    (["token_embd.weight"], None),
])
def test_infer_num_layers_boundaries(names: list[str], want: int | None) -> None:
    from engines.exporter.infer import infer_num_layers

    assert infer_num_layers(names) == want


def test_infer_dims_leaves_ambiguous_heads_missing() -> None:
    """No head_dim and no head count: q rows cannot be split into heads, so nothing is guessed."""
    from engines.exporter.infer import infer_dims

    shapes = {"model.layers.0.self_attn.q_proj.weight": (64, 64), "model.layers.0.self_attn.k_proj.weight": (32, 64)}
    assert "num_attention_heads" not in infer_dims({}, shapes)
    assert infer_dims({"head_dim": 16}, shapes)["num_key_value_heads"] == 2
    assert "num_attention_heads" not in infer_dims({"num_attention_heads": 4, "head_dim": 16}, shapes)  # explicit wins
