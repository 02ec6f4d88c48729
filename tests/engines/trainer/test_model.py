"""The decoder against its oracles: repeated-KV attention, and transformers' Qwen2/Llama with the same weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from engines.trainer.config import ArchConfig, tiny
from engines.trainer.model import (
    build_model,
    gqa_attention,
    next_token_loss,
    reference_mha_attention,
)

torch.set_num_threads(2)


@pytest.mark.parametrize("heads,kv", [(4, 4), (8, 2), (14, 2), (16, 2)])
def test_gqa_equals_repeated_kv_attention(heads: int, kv: int) -> None:
    gen = torch.Generator().manual_seed(heads * 10 + kv)
    q = torch.randn(2, heads, 19, 32, generator=gen)
    k, v = torch.randn(2, kv, 19, 32, generator=gen), torch.randn(2, kv, 19, 32, generator=gen)
    torch.testing.assert_close(gqa_attention(q, k, v), reference_mha_attention(q, k, v), atol=1e-5, rtol=1e-5)


def test_grouping_is_interleaved_not_tiled() -> None:
    """Query head h reads KV head h // ratio: making KV head 0 special only moves heads 0..ratio-1."""
    q = torch.randn(1, 4, 5, 8)
    k, v = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    base = gqa_attention(q, k, v)
    v2 = v.clone()
    v2[:, 0] += 10.0
    moved = (gqa_attention(q, k, v2) - base).abs().amax(dim=(0, 2, 3))
    assert moved[:2].min() > 1.0 and moved[2:].max() < 1e-6


def _randomize(model: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(torch.randn(p.shape, generator=gen) * 0.3)


CASES = {
    "qwen2-tied-7to1": tiny().replace(vocab_size=500, hidden_size=112, num_attention_heads=14, num_kv_heads=2),
    "llama-untied-bias": tiny().replace(family="llama", vocab_size=500, qkv_bias=True, tie_word_embeddings=False),
    "llama-tied-mha": tiny().replace(family="llama", vocab_size=500, qkv_bias=False, num_kv_heads=4),
    "qwen2-8to1": tiny().replace(vocab_size=300, hidden_size=128, num_attention_heads=8, num_kv_heads=1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_logits_match_transformers(name: str, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg: ArchConfig = CASES[name]
    ours = build_model(cfg, seed=3)
    _randomize(ours)
    hf_cfg = {k: v for k, v in cfg.to_hf_config().items() if k != "architectures"}
    hf = AutoModelForCausalLM.from_config(AutoConfig.for_model(**hf_cfg), attn_implementation="sdpa")
    result = hf.load_state_dict(ours.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    ids = torch.randint(0, cfg.vocab_size, (2, 41), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(ids) - hf(ids).logits).abs().max().item()
    assert diff <= 1e-5, f"{name}: max |Δlogit| {diff}"


def test_tied_head_shares_storage_and_loss_is_next_token() -> None:
    model = build_model(tiny().replace(vocab_size=50), seed=0)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert "lm_head.weight" not in model.hf_state_dict()
    ids = torch.randint(0, 50, (1, 9))
    loss = next_token_loss(model(ids), ids)
    assert abs(loss.item() - torch.log(torch.tensor(50.0)).item()) < 0.5  # near-uniform at init


def test_init_is_seeded() -> None:
    a, b = build_model(tiny().replace(vocab_size=64), seed=5), build_model(tiny().replace(vocab_size=64), seed=5)
    c = build_model(tiny().replace(vocab_size=64), seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.model.embed_tokens.weight, c.model.embed_tokens.weight)


def test_hf_offline_is_set() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
