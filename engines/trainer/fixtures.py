"""Fixtures for trainer tests, falsifiers and benches, built offline in a caller's folder.

* :func:`encode_shards` — documents -> ``shard-00000.bin`` (uint32 LE, EOS after each
  document) + a ``manifest.json`` in the encode-corpus shape (``shards[].file/tokens``, ``eos_id``).
* :func:`stdlib_shards` — the standard library's ``.py`` files (disjoint slices by file for
  train / validation) encoded with a given tokenizer.
* :func:`qwen_init_dir` — a *config-only* Qwen2.5-0.5B init directory: the published
  ``config.json`` + the real Qwen2.5 tokenizer (151,665 ids), no weights (none exist offline):
  enough for ``--preflight-only``, which never reads weights.
* :func:`encoder_init_dir` — a BERT-family config that nevertheless carries every decoder field
  (only a family check can refuse it), with a corrupt weights file beside it.
* :func:`tiny_checkpoint` — a real tiny checkpoint (random weights) written by ``save_checkpoint``.

Heavy imports inside the functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Qwen/Qwen2.5-0.5B config.json as published (values; our own serialization).
QWEN2_5_0_5B_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896,
    "initializer_range": 0.02, "intermediate_size": 4864, "max_position_embeddings": 32768,
    "max_window_layers": 24, "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": True,
    "torch_dtype": "bfloat16", "use_cache": True, "use_sliding_window": False, "vocab_size": 151936,
}


def encode_shards(dest: Path, tokenizer_json: Path, texts: Iterable[str], *, eos_id: int | None = None) -> Path:
    """Encode ``texts`` into ``dest/shard-00000.bin`` + ``dest/manifest.json``; returns ``dest``."""
    import numpy as np

    from engines.tokenizer.load import load_tokenizer

    tok = load_tokenizer(tokenizer_json)
    eos = tok.eos_id if eos_id is None else eos_id
    parts = []
    for ids in tok.encode_batch(list(texts)):
        parts.append(np.asarray([*ids, *([eos] if eos is not None else [])], dtype="<u4"))
    array = np.concatenate(parts) if parts else np.zeros(0, dtype="<u4")
    dest.mkdir(parents=True, exist_ok=True)
    array.tofile(dest / "shard-00000.bin")
    manifest = {"dtype": "uint32-le", "eos_id": eos, "vocab_size": tok.vocab_size, "tokens": int(array.size),
                "documents": len(parts), "shards": [{"file": "shard-00000.bin", "tokens": int(array.size)}]}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return dest


def stdlib_texts(start: int, count: int, *, max_chars: int | None = None) -> list[str]:
    """Standard-library sources number ``start``..``start+count`` (a stable order), optionally cut."""
    from engines.tokenizer.fixtures import iter_stdlib_documents

    docs = [text for _, text in iter_stdlib_documents(start + count)][start:]
    return [d[:max_chars] if max_chars else d for d in docs]


def stdlib_shards(dest: Path, tokenizer_json: Path, *, start: int, count: int,
                  max_chars: int | None = None) -> Path:
    return encode_shards(dest, tokenizer_json, stdlib_texts(start, count, max_chars=max_chars))


def small_tokenizer(dest: Path) -> Path:
    """A real 2k BPE trained on standard-library code (cached by the tokenizer fixtures)."""
    from engines.tokenizer.fixtures import stdlib_bpe_tokenizer_json

    return stdlib_bpe_tokenizer_json(dest)


def tokenizer_size(tokenizer_json: Path) -> int:
    from engines.tokenizer.load import load_tokenizer

    return int(load_tokenizer(tokenizer_json).vocab_size)


def qwen_init_dir(dest: Path, *, config: dict[str, Any] | None = None) -> Path:
    """Config-only Qwen2.5-0.5B init dir (config.json + real Qwen2.5 tokenizer.json), no weights."""
    from engines.tokenizer.fixtures import qwen2_tokenizer_json

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps(config or QWEN2_5_0_5B_CONFIG, indent=2) + "\n", encoding="utf-8")
    qwen2_tokenizer_json(dest / "tokenizer.json")
    return dest


def encoder_init_dir(dest: Path) -> Path:
    """A BERT-family init dir whose config has every decoder field; its weights file is garbage."""
    dest.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 2048, "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-12, "tie_word_embeddings": True,
        "attention_bias": True, "hidden_act": "silu", "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    }
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    # Not safetensors at all: a trainer that reads weights before checking the family fails differently.
    (dest / "model.safetensors").write_bytes(b"\x00not-safetensors\x00" * 8)
    return dest


def tiny_checkpoint(dest: Path, tokenizer_json: Path, *, seed: int = 1, family: str = "qwen2",
                    **changes: Any) -> Path:
    """A tiny real checkpoint (hidden 64, 2 layers, 4/2 heads) matching the tokenizer's size."""
    import torch

    from engines.trainer.checkpoint import save_checkpoint
    from engines.trainer.config import tiny
    from engines.trainer.model import build_model

    cfg = tiny().replace(family=family, vocab_size=tokenizer_size(tokenizer_json), hidden_size=64,
                         num_hidden_layers=2, intermediate_size=128, qkv_bias=family == "qwen2", **changes)
    model = build_model(cfg, seed=seed)
    with torch.no_grad():  # non-trivial norms so a dropped init is visible in the loss
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)) * 0.2)
    return save_checkpoint(dest, cfg, model.state_dict(), tokenizer_json, {"step": 0, "seed": seed})
