"""Exact parameter inventory of a decoder from its config, without allocating a single weight.

:func:`parameter_shapes` lists every tensor a checkpoint of ``config`` must hold, under its
Hugging Face name (``lm_head.weight`` only when the embeddings are untied: a tied head is the
same tensor, counted once). :func:`count_parameters` sums them; Qwen2.5-0.5B gives
494,032,768, the number the Chinchilla gate uses as N.

No heavy imports.
"""

from __future__ import annotations

from math import prod

from engines.trainer.config import ArchConfig


def parameter_shapes(config: ArchConfig) -> dict[str, tuple[int, ...]]:
    """HF name -> shape (PyTorch ``[out, in]`` order) of every stored tensor of ``config``."""
    h, f, d = config.hidden_size, config.intermediate_size, config.dim_per_head
    q_rows, kv_rows = config.num_attention_heads * d, config.num_kv_heads * d
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (config.vocab_size, h)}
    for i in range(config.num_hidden_layers):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "self_attn.q_proj.weight"] = (q_rows, h)
        shapes[p + "self_attn.k_proj.weight"] = (kv_rows, h)
        shapes[p + "self_attn.v_proj.weight"] = (kv_rows, h)
        if config.qkv_bias:
            shapes[p + "self_attn.q_proj.bias"] = (q_rows,)
            shapes[p + "self_attn.k_proj.bias"] = (kv_rows,)
            shapes[p + "self_attn.v_proj.bias"] = (kv_rows,)
        shapes[p + "self_attn.o_proj.weight"] = (h, q_rows)
        if config.o_proj_bias:
            shapes[p + "self_attn.o_proj.bias"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
        shapes[p + "mlp.gate_proj.weight"] = (f, h)
        shapes[p + "mlp.up_proj.weight"] = (f, h)
        shapes[p + "mlp.down_proj.weight"] = (h, f)
    shapes["model.norm.weight"] = (h,)
    if not config.tie_word_embeddings:
        shapes["lm_head.weight"] = (config.vocab_size, h)
    return shapes


def count_parameters(config: ArchConfig) -> int:
    """N: the number of distinct trainable parameters (a tied head counted once)."""
    return sum(prod(shape) for shape in parameter_shapes(config).values())


def count_non_embedding(config: ArchConfig) -> int:
    """N without the token embedding (and untied head): reported beside N, never used by the gate."""
    n = count_parameters(config) - config.vocab_size * config.hidden_size
    if not config.tie_word_embeddings:
        n -= config.vocab_size * config.hidden_size
    return n
