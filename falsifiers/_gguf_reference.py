"""An independent reference for llama/qwen2 GGUF files: tensor names, shapes and a minimal writer.

Written from llama.cpp's own naming (gguf-py's ``MODEL_TENSOR`` names and ``convert_hf_to_gguf``),
NOT from ``engines.exporter.layout`` or the exporter's writer: a defect shared by the exporter and
its oracle could never be falsified. The writer uses only ``gguf.GGUFWriter`` and the checkpoint's
own files (config.json, model.safetensors, tokenizer.json); whether its output is right is judged
by llama.cpp loading it, not by us.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# HF name -> GGUF name. "{i}" is the layer; a per-layer name appears once per layer.
HF_TO_GGUF: dict[str, str] = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{i}.input_layernorm.weight": "blk.{i}.attn_norm.weight",
    "model.layers.{i}.self_attn.q_proj.weight": "blk.{i}.attn_q.weight",
    "model.layers.{i}.self_attn.q_proj.bias": "blk.{i}.attn_q.bias",
    "model.layers.{i}.self_attn.k_proj.weight": "blk.{i}.attn_k.weight",
    "model.layers.{i}.self_attn.k_proj.bias": "blk.{i}.attn_k.bias",
    "model.layers.{i}.self_attn.v_proj.weight": "blk.{i}.attn_v.weight",
    "model.layers.{i}.self_attn.v_proj.bias": "blk.{i}.attn_v.bias",
    "model.layers.{i}.self_attn.o_proj.weight": "blk.{i}.attn_output.weight",
    "model.layers.{i}.self_attn.o_proj.bias": "blk.{i}.attn_output.bias",
    "model.layers.{i}.post_attention_layernorm.weight": "blk.{i}.ffn_norm.weight",
    "model.layers.{i}.mlp.gate_proj.weight": "blk.{i}.ffn_gate.weight",
    "model.layers.{i}.mlp.up_proj.weight": "blk.{i}.ffn_up.weight",
    "model.layers.{i}.mlp.down_proj.weight": "blk.{i}.ffn_down.weight",
}


def hf_tensor_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor of an HF Llama/Qwen2 decoder with ``config``, in PyTorch [out, in] order.

    The rules are transformers' modeling code: q_proj has heads*head_dim rows, k/v kv_heads*head_dim;
    Qwen2 always has q/k/v biases and no o_proj bias; Llama's ``attention_bias`` adds all four;
    lm_head exists only when the embeddings are untied (HF's default for both is untied).
    """
    h, f, v = int(config["hidden_size"]), int(config["intermediate_size"]), int(config["vocab_size"])
    heads, kv = int(config["num_attention_heads"]), int(config["num_key_value_heads"])
    d = int(config.get("head_dim") or h // heads)
    qwen2 = config.get("model_type") == "qwen2"
    q_bias = qwen2 or bool(config.get("attention_bias"))
    o_bias = (not qwen2) and bool(config.get("attention_bias"))
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not config.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = (v, h)
    for i in range(int(config["num_hidden_layers"])):
        p = f"model.layers.{i}."
        shapes |= {p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                   p + "self_attn.q_proj.weight": (heads * d, h), p + "self_attn.k_proj.weight": (kv * d, h),
                   p + "self_attn.v_proj.weight": (kv * d, h), p + "self_attn.o_proj.weight": (h, heads * d),
                   p + "mlp.gate_proj.weight": (f, h), p + "mlp.up_proj.weight": (f, h), p + "mlp.down_proj.weight": (h, f)}
        if q_bias:
            shapes |= {p + "self_attn.q_proj.bias": (heads * d,), p + "self_attn.k_proj.bias": (kv * d,),
                       p + "self_attn.v_proj.bias": (kv * d,)}
        if o_bias:
            shapes[p + "self_attn.o_proj.bias"] = (h,)
    return shapes


def gguf_name(hf: str) -> str:
    """The llama.cpp name of one HF tensor (KeyError: no counterpart in the llama/qwen2 layout)."""
    parts = hf.split(".")
    if hf.startswith("model.layers.") and parts[2].isdigit():
        return HF_TO_GGUF[".".join([*parts[:2], "{i}", *parts[3:]])].format(i=parts[2])
    return HF_TO_GGUF[hf]


def gguf_tensor_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {gguf_name(n): s for n, s in hf_tensor_shapes(config).items()}


def write_reference_gguf(ckpt: Path, out: Path, arch: str) -> Path:
    """An F32 GGUF of ``ckpt`` as llama.cpp's converter lays it out, for files an exporter may not write.

    ``arch`` is written as given (e.g. qwen2 for a model llama.cpp's qwen2 graph cannot load): the
    point is a file whose content is known. q/k rows are permuted for ``llama`` (row 2i+j of a head
    holds HF row j*d/2+i), never for qwen2. Tokenizer: tokenizer.json's ids, placeholders typed
    UNUSED (5), special added tokens CONTROL (3), pre-tokenizer ``qwen2`` (the fixture's regex).
    """
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    from falsifiers._export_support import gguf_rows_for_llama, tokenizer_ids

    config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    heads, kv, h = int(config["num_attention_heads"]), int(config["num_key_value_heads"]), int(config["hidden_size"])
    d = int(config.get("head_dim") or h // heads)
    w = gguf.GGUFWriter(str(out), arch)
    for key, value in (("context_length", config["max_position_embeddings"]), ("embedding_length", h),
                       ("block_count", config["num_hidden_layers"]), ("feed_forward_length", config["intermediate_size"]),
                       ("attention.head_count", heads), ("attention.head_count_kv", kv),
                       ("attention.key_length", d), ("attention.value_length", d), ("rope.dimension_count", d)):
        w.add_uint32(f"{arch}.{key}", int(value))
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", float(config["rms_norm_eps"]))
    w.add_float32(f"{arch}.rope.freq_base", float(config["rope_theta"]))
    ids = tokenizer_ids(ckpt)
    rows = int(config["vocab_size"])
    tokens = [ids[i][0] if i in ids else f"[PAD{i}]" for i in range(rows)]
    types = [(3 if ids[i][1] else 1) if i in ids else 5 for i in range(rows)]
    merges = json.loads((ckpt / "tokenizer.json").read_text(encoding="utf-8"))["model"]["merges"]
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", types)
    w.add_array("tokenizer.ggml.merges", [m if isinstance(m, str) else " ".join(m) for m in merges])
    w.add_uint32("tokenizer.ggml.eos_token_id", int(config["eos_token_id"]))
    for name, array in sorted(load_file(str(ckpt / "model.safetensors")).items()):
        a = np.ascontiguousarray(array, dtype=np.float32)
        g = gguf_name(name)
        if arch == "llama" and (".attn_q." in g or ".attn_k." in g):
            a = np.ascontiguousarray(gguf_rows_for_llama(a, heads if ".attn_q." in g else kv))
        w.add_tensor(g, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out
