"""Hyper-parameters a checkpoint's config.json leaves out, recovered from its tensor names and shapes.

A checkpoint written by an older tool, or converted by hand, may carry the weights but not every
dimension GGUF needs. Rather than fail (or worse, guess a default), `apr export` derives what
the tensors determine unambiguously:

* ``num_hidden_layers`` = max N over ``model.layers.N.*`` / ``blk.N.*`` names, plus one
  (layers are numbered from 0; a gap in the numbering does not shrink the model);
* ``vocab_size`` / ``hidden_size`` = rows / columns of the token embedding;
* ``intermediate_size`` = rows of layer 0's gate (or up) projection;
* ``num_attention_heads`` / ``num_key_value_heads`` = q / k projection rows divided by the head
  width, when the width is known (``head_dim`` in the config, or rows / heads when one head count
  is given). Without a head width the split of q rows into heads is ambiguous: left missing, so
  the caller reports the field by name.

Explicit config values always win; only absent (or null) fields are filled. Shapes come from the
safetensors headers, so no tensor data is read. Imports nothing heavy at module level.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

LAYER_NAME = re.compile(r"^(?:blk|model\.layers)\.(\d+)\.")
EMBED = ("model.embed_tokens.weight", "token_embd.weight")
GATE = ("model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "blk.0.ffn_gate.weight",
        "blk.0.ffn_up.weight")
Q_PROJ = ("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight")
K_PROJ = ("model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight")
INFERABLE = ("num_hidden_layers", "vocab_size", "hidden_size", "intermediate_size", "num_attention_heads",
             "num_key_value_heads")


def infer_num_layers(names: Iterable[str]) -> int | None:
    """max N + 1 over ``blk.N.*`` / ``model.layers.N.*`` names; None when no name is a layer tensor."""
    indices = [int(m.group(1)) for m in map(LAYER_NAME.match, names) if m]
    return max(indices) + 1 if indices else None


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors header (8-byte little-endian length + JSON), no data read."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
    except (struct.error, ValueError, MemoryError) as exc:  # short file, bad JSON, absurd length
        raise ValueError(f"{path} has no readable safetensors header ({type(exc).__name__}: {exc})") from exc
    return {name: tuple(int(d) for d in info["shape"]) for name, info in header.items() if name != "__metadata__"}


def checkpoint_shapes(ckpt: Path) -> dict[str, tuple[int, ...]]:
    from engines.exporter.gguf_writer import safetensors_files

    shapes: dict[str, tuple[int, ...]] = {}
    for path in safetensors_files(ckpt):
        shapes.update(safetensors_shapes(path))
    return shapes


def _first(shapes: Mapping[str, tuple[int, ...]], names: tuple[str, ...]) -> tuple[int, ...] | None:
    return next((shapes[n] for n in names if n in shapes and len(shapes[n]) == 2), None)


def _given(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def infer_dims(config: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]], *,
               layers_of: Callable[[Iterable[str]], int | None] = infer_num_layers) -> dict[str, int]:
    """The values of the absent :data:`INFERABLE` fields that ``shapes`` determine (explicit ones untouched)."""
    out: dict[str, int] = {}

    def missing(key: str) -> bool:
        return config.get(key) is None

    if missing("num_hidden_layers"):
        layers = layers_of(list(shapes))
        if layers is not None:
            out["num_hidden_layers"] = layers
    embed = _first(shapes, EMBED)
    if embed is not None:
        if missing("vocab_size"):
            out["vocab_size"] = embed[0]
        if missing("hidden_size"):
            out["hidden_size"] = embed[1]
    gate = _first(shapes, GATE)
    if gate is not None and missing("intermediate_size"):
        out["intermediate_size"] = gate[0]
    q, k = _first(shapes, Q_PROJ), _first(shapes, K_PROJ)
    heads, kv_heads = _given(config, "num_attention_heads"), _given(config, "num_key_value_heads")
    head_dim = _given(config, "head_dim")
    if head_dim is None and q is not None and heads is not None and q[0] % heads == 0:
        head_dim = q[0] // heads
    if head_dim is None and k is not None and kv_heads is not None and k[0] % kv_heads == 0:
        head_dim = k[0] // kv_heads
    if head_dim:
        if missing("num_attention_heads") and q is not None and q[0] % head_dim == 0:
            out["num_attention_heads"] = q[0] // head_dim
        if missing("num_key_value_heads") and k is not None and k[0] % head_dim == 0:
            out["num_key_value_heads"] = k[0] // head_dim
    return out
