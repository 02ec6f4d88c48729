"""Checkpoint directories: atomic writes, strict reads with errors that name what and where, HF loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from engines.trainer.checkpoint import (
    CheckpointError,
    is_complete,
    load_checkpoint,
    save_checkpoint,
)
from engines.trainer.config import ConfigError, tiny
from engines.trainer.model import build_model


@pytest.fixture
def ckpt(tmp_path: Path, corpus: dict[str, Path]) -> Path:
    cfg = tiny().replace(vocab_size=2001, hidden_size=64, num_hidden_layers=2, intermediate_size=96, eos_token_id=0)
    return save_checkpoint(tmp_path / "ck", cfg, build_model(cfg, seed=2).state_dict(), corpus["tokenizer"],
                           {"step": 7, "seed": 2})


def test_round_trip_and_layout(ckpt: Path) -> None:
    assert sorted(p.name for p in ckpt.iterdir()) == ["apr_checkpoint.json", "config.json", "model.safetensors",
                                                     "tokenizer.json", "tokenizer_config.json"]
    assert not list(ckpt.parent.glob(".ck.tmp-*"))  # staging dir renamed away
    loaded = load_checkpoint(ckpt)
    assert loaded.meta["step"] == 7 and loaded.meta["format_version"] == 1 and loaded.meta["tokenizer_sha256"]
    assert "lm_head.weight" not in load_file(str(ckpt / "model.safetensors"))  # tied: HF convention
    ids = torch.randint(0, 2001, (1, 12))
    torch.testing.assert_close(loaded.model()(ids), build_model(loaded.config, seed=2)(ids))
    assert json.loads((ckpt / "tokenizer_config.json").read_text())["eos_token"] == "<|endoftext|>"


def test_transformers_loads_it(ckpt: Path) -> None:
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(ckpt)
    assert type(hf).__name__ == "Qwen2ForCausalLM"
    ids = torch.randint(0, 2001, (1, 12))
    with torch.no_grad():
        diff = (hf(ids).logits - load_checkpoint(ckpt).model()(ids)).abs().max().item()
    assert diff <= 1e-5
    assert AutoTokenizer.from_pretrained(ckpt)("def f(): pass")["input_ids"]


def _rewrite(ckpt: Path, change: object) -> None:
    state = load_file(str(ckpt / "model.safetensors"))
    change(state)  # type: ignore[operator]
    save_file(state, str(ckpt / "model.safetensors"))


def test_missing_tensor_is_named(ckpt: Path) -> None:
    _rewrite(ckpt, lambda s: s.pop("model.layers.1.mlp.up_proj.weight"))
    with pytest.raises(CheckpointError, match=r"'model\.layers\.1\.mlp\.up_proj\.weight' is missing") as err:
        load_checkpoint(ckpt)
    assert str(ckpt) in err.value.message


def test_wrong_shape_is_named(ckpt: Path) -> None:
    _rewrite(ckpt, lambda s: s.update({"model.norm.weight": torch.ones(65)}))
    with pytest.raises(CheckpointError, match=r"model\.norm\.weight.*\[65\].*\[64\]"):
        load_checkpoint(ckpt)


def test_unexpected_tensor_is_named(ckpt: Path) -> None:
    _rewrite(ckpt, lambda s: s.update({"model.layers.0.self_attn.o_proj.bias": torch.zeros(64)}))
    with pytest.raises(CheckpointError, match=r"o_proj\.bias"):
        load_checkpoint(ckpt)


def test_missing_tokenizer_and_missing_config_field(ckpt: Path) -> None:
    (ckpt / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match=r"tokenizer\.json is missing"):
        load_checkpoint(ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    del config["rms_norm_eps"]
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="rms_norm_eps") as err:
        load_checkpoint(ckpt, require_tokenizer=False)
    assert "config.json" in err.value.message


def test_truncated_weights_refused(ckpt: Path) -> None:
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read safetensors"):
        load_checkpoint(ckpt)


def test_saving_into_an_existing_dir_replaces_files_and_commits_last(ckpt: Path) -> None:
    (ckpt / "checkpoints").mkdir()  # a training --output keeps its other files
    cfg = load_checkpoint(ckpt).config
    save_checkpoint(ckpt, cfg, build_model(cfg, seed=9).state_dict(), ckpt / "tokenizer.json", {"step": 8})
    assert (ckpt / "checkpoints").is_dir() and is_complete(ckpt)
    assert load_checkpoint(ckpt).meta["step"] == 8


def test_wrong_state_dict_is_refused_before_writing(tmp_path: Path, corpus: dict[str, Path]) -> None:
    cfg = tiny().replace(vocab_size=2001)
    state = build_model(cfg).state_dict()
    del state["model.norm.weight"]
    with pytest.raises(CheckpointError, match=r"model\.norm\.weight"):
        save_checkpoint(tmp_path / "bad", cfg, state, corpus["tokenizer"], {})
    assert not (tmp_path / "bad").exists()
