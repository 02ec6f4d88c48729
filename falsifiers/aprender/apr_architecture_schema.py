"""Falsifiers of the reference contract apr-architecture-schema-v1 (FALSIFY-ARCH-*): a model's tensors agree with its architecture.

Read as: the architecture schema check behind `apr qa` (gate QA-ARCH-SCHEMA, engines/exporter/schema.py,
reached through the exporter engine's ``check_schema``) reports every structural defect of a model,
named with the field or tensor at fault and expected vs found. Each falsifier writes a small valid
model (config.json + safetensors of zeros, or a GGUF for the RoPE claim), breaks one thing the way
the contract describes, and checks that exactly that rule fires; the unbroken model and the cases
one step either side of a boundary must not fire it. Shapes are in PyTorch ``[out, in]`` order (the
contract writes ``[in, out]``): its ``Q=[hidden, hidden+1]`` is our q of ``hidden+1`` rows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

# 4 layers so that "layer 3" exists; head_dim derived (64 / 4 = 16); GQA 4 query heads over 2 KV heads.
BASE: dict[str, Any] = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 128, "hidden_size": 64,
    "intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0, "tie_word_embeddings": True,
}


def hf_shapes(config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every HF tensor (with its shape) a model with ``config`` has, from falsifiers/_gguf_reference.py.

    Not the exporter's layout table: the schema check under test is the exporter's, and an
    oracle built from the same table would share any defect in it.
    """
    from falsifiers._gguf_reference import hf_tensor_shapes

    return hf_tensor_shapes(dict(config))


def write_model(dest: Path, config: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> Path:
    """A checkpoint directory: config.json + model.safetensors of zeros (the schema reads shapes only)."""
    import numpy as np
    from safetensors.numpy import save_file

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps(dict(config)), encoding="utf-8")
    save_file({n: np.zeros(s, dtype=np.float32) for n, s in shapes.items()}, str(dest / "model.safetensors"))
    return dest


def model(ctx: RunContext, name: str, *, config: Mapping[str, Any] | None = None, drop: tuple[str, ...] = (),
          reshape: Mapping[str, tuple[int, ...]] | None = None, extra: int = 0) -> Path:
    cfg = {**BASE, **(config or {})}
    shapes = {n: s for n, s in hf_shapes(cfg).items() if n not in drop}
    shapes.update(reshape or {})
    shapes.update({f"extra.{i}.weight": (4,) for i in range(extra)})
    return write_model(ctx.workspace / name, cfg, shapes)


def write_gguf(path: Path, arch: str, values: Mapping[str, Any], config: Mapping[str, Any]) -> Path:
    """A GGUF with the given metadata and zero tensors laid out for ``config`` (GGUF names)."""
    import gguf
    import numpy as np

    from falsifiers._gguf_reference import gguf_tensor_shapes

    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in values.items():
        if isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_float32(key, float(value))
    for name, shape in gguf_tensor_shapes(dict(config)).items():
        writer.add_tensor(name, np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def fired(ctx: RunContext, path: Path, rule: str) -> list[Any]:
    """The violations of ``rule`` the engine reports for ``path``."""
    _dims, violations = ctx.engine("exporter").check_schema(path)
    return [v for v in violations if v.rule == rule]


def judge(ctx: RunContext, rule: str, cases: list[tuple[str, Path, str | None]]) -> Verdict:
    """cases: (label, model, the item that must be named, or None: the rule must stay silent)."""
    wrong, seen = [], {}
    for label, path, item in cases:
        got = fired(ctx, path, rule)
        seen[label] = [str(v) for v in got]
        if item is None and got:
            wrong.append(f"{label}: reported {got[0]} on a model without that defect")
        elif item is not None and not any(v.item == item for v in got):
            wrong.append(f"{label}: no {rule} violation naming {item} (got {[str(v) for v in got] or 'none'})")
    if wrong:
        return ctx.falsified("; ".join(wrong), counterexample=wrong[0], measured=seen)
    bad = next(v for v in seen.values() if v)
    return ctx.held(f"every crafted defect reported, clean cases silent; e.g. {bad[0]}", measured=seen)


@falsifier("FALSIFY-ARCH-001", level="algorithm", engines=["exporter"])
def head_dim_divides_hidden(ctx: RunContext) -> Verdict:
    """hidden_size not divisible by num_heads (769 / 12) is refused; 768 and an explicit head_dim are not.

    Read as: when head_dim is derived, hidden % heads must be 0; an explicit head_dim (Qwen3, Gemma)
    may legitimately differ from hidden/heads, so 769 with head_dim=64 stays valid.
    """
    gqa = {"num_attention_heads": 12, "num_key_value_heads": 4, "num_hidden_layers": 1, "intermediate_size": 32}
    cases = [(f"hidden={h}", model(ctx, f"arch001-{h}", config={**gqa, "hidden_size": h}),
              None if h % 12 == 0 else "hidden_size") for h in (767, 768, 769)]
    cases.append(("hidden=769 head_dim=64 (explicit)",
                  model(ctx, "arch001-explicit", config={**gqa, "hidden_size": 769, "head_dim": 64}), None))
    return judge(ctx, "head-dim", cases)


@falsifier("FALSIFY-ARCH-002", level="algorithm", engines=["exporter"])
def gqa_group_size_integer(ctx: RunContext) -> Verdict:
    """12 query heads over 5 KV heads is refused; 4 and 6 (one step either side) are whole groups."""
    base = {"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 1, "intermediate_size": 32}
    return judge(ctx, "gqa-group", [(f"kv={kv}", model(ctx, f"arch002-{kv}", config={**base, "num_key_value_heads": kv}),
                                     None if 12 % kv == 0 else "num_kv_heads") for kv in (4, 5, 6)])


@falsifier("FALSIFY-ARCH-003", level="algorithm", engines=["exporter"])
def attention_shapes_match_config(ctx: RunContext) -> Verdict:
    """A q projection one row too many, or one input column too many, is reported by tensor name."""
    q, h = "model.layers.0.self_attn.q_proj.weight", BASE["hidden_size"]
    return judge(ctx, "attention-shape", [
        ("valid", model(ctx, "arch003-ok"), None),
        ("q rows hidden+1", model(ctx, "arch003-rows", reshape={q: (h + 1, h)}), "blk.0.attn_q.weight"),
        ("q input hidden+1", model(ctx, "arch003-cols", reshape={q: (h, h + 1)}), "blk.0.attn_q.weight"),
    ])


@falsifier("FALSIFY-ARCH-004", level="algorithm", engines=["exporter"])
def ffn_down_is_transposed(ctx: RunContext) -> Verdict:
    """A down projection with gate's orientation ([ff, h] instead of [h, ff]) is reported."""
    down = "model.layers.1.mlp.down_proj.weight"
    return judge(ctx, "ffn-shape", [
        ("valid", model(ctx, "arch004-ok"), None),
        ("down not transposed", model(ctx, "arch004-down", reshape={down: (BASE["intermediate_size"], BASE["hidden_size"])}),
         "blk.1.ffn_down.weight"),
    ])


@falsifier("FALSIFY-ARCH-005", level="algorithm", engines=["exporter"])
def norm_tensors_per_layer(ctx: RunContext) -> Verdict:
    """Layer 3 without its FFN norm is reported as such (a per-layer count, not a total)."""
    return judge(ctx, "norm-per-layer", [
        ("valid", model(ctx, "arch005-ok"), None),
        ("layer 3 lacks ffn_norm", model(ctx, "arch005-drop", drop=("model.layers.3.post_attention_layernorm.weight",)),
         "blk.3.ffn_norm.weight"),
    ])


@falsifier("FALSIFY-ARCH-006", level="algorithm", engines=["exporter"])
def embedding_rows_equal_vocab(ctx: RunContext) -> Verdict:
    """An embedding of vocab-1 (or vocab+1) rows is reported; exactly vocab rows is not."""
    emb, v, h = "model.embed_tokens.weight", BASE["vocab_size"], BASE["hidden_size"]
    return judge(ctx, "embedding-shape", [
        (f"rows={rows}", model(ctx, f"arch006-{rows}", reshape={emb: (rows, h)}), None if rows == v else "token_embd.weight")
        for rows in (v - 1, v, v + 1)
    ])


@falsifier("FALSIFY-ARCH-007", level="algorithm", engines=["exporter"])
def rope_type_valid(ctx: RunContext) -> Verdict:
    """A GGUF declaring rope type 3 (or 1) is refused; 0 on llama and 2 on qwen2 are accepted.

    Read as: the rope type in the GGUF metadata (``{arch}.rope.type``, llama.cpp's enum 0 = NORM,
    2 = NEOX) must be known and be the one the architecture's graph applies.
    """
    cases = []
    for arch, rope_type in (("llama", None), ("llama", 0), ("llama", 1), ("llama", 3), ("qwen2", 2), ("qwen2", 3)):
        cfg = {**BASE, "model_type": arch, "architectures": None}
        values: dict[str, Any] = {f"{arch}.embedding_length": BASE["hidden_size"], f"{arch}.block_count": BASE["num_hidden_layers"],
                                  f"{arch}.attention.head_count": BASE["num_attention_heads"],
                                  f"{arch}.attention.head_count_kv": BASE["num_key_value_heads"],
                                  f"{arch}.feed_forward_length": BASE["intermediate_size"], f"{arch}.vocab_size": BASE["vocab_size"],
                                  f"{arch}.rope.freq_base": BASE["rope_theta"]}
        if rope_type is not None:
            values[f"{arch}.rope.type"] = rope_type
        path = write_gguf(ctx.workspace / f"arch007-{arch}-{rope_type}.gguf", arch, values, cfg)
        cases.append((f"{arch} rope.type={rope_type}", path, None if rope_type in (None, 0 if arch == "llama" else 2)
                      else f"{arch}.rope.type"))
    return judge(ctx, "rope-type", cases)


@falsifier("FALSIFY-ARCH-008", level="algorithm", engines=["exporter"])
def tensor_count_within_tolerance(ctx: RunContext) -> Verdict:
    """10 missing tensors are reported; 5 missing (the tolerance) are not, 6 are; 6 surplus are too."""
    names = sorted(hf_shapes(BASE))  # a stable order; which tensors go does not matter to the count
    cases: list[tuple[str, Path, str | None]] = [
        (f"{k} missing", model(ctx, f"arch008-minus{k}", drop=tuple(names[:k])), None if k <= 5 else "tensors")
        for k in (0, 5, 6, 10)
    ]
    cases.append(("6 surplus", model(ctx, "arch008-plus6", extra=6), "tensors"))
    return judge(ctx, "tensor-count", cases)


CONTRACT = "apr-architecture-schema-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
