"""The architecture schema: does a model's structure agree with its own declared architecture?

One check for both forms a model takes here, a checkpoint directory (config.json + safetensors)
and a GGUF file, used by `apr qa` (gate ``QA-ARCH-SCHEMA``) and by `apr export` (config rules,
before anything is written). Each rule is a method of :class:`Schema`, so a deliberately broken
engine can get exactly one rule wrong:

* config: required dimensions present and positive; ``hidden_size % num_heads == 0`` when the
  head width is derived (an explicit ``head_dim`` may differ from hidden/heads, as in Qwen3 or
  Gemma); ``num_heads % num_kv_heads == 0``; ``rms_norm_eps > 0``; MoE ``experts_per_tok <= experts``;
  out-of-range sizes are warnings, not violations (unusual is not wrong);
* attention: per layer q/k/v/o exist with ``[out, in]`` shapes ``[H*d, h]``, ``[KV*d, h]``,
  ``[KV*d, h]``, ``[h, H*d]`` (o is q transposed);
* FFN: gate and up ``[ff, h]``, down their transpose ``[h, ff]``;
* norms: every layer has its own attention and FFN norm of shape ``[h]``, plus the final norm;
* embedding: ``[vocab, h]``; an output head of the same shape, or tied embeddings;
* RoPE: a declared rope type must be known (llama.cpp enum: 0 = NORM, 2 = NEOX) and be the one the
  architecture's graph applies (llama: NORM, qwen2: NEOX); scaled RoPE is refused; freq base > 0;
* tensor count: ``|actual - expected| <= COUNT_TOLERANCE`` (formats may add a few extras).

Shapes are compared in PyTorch ``[out, in]`` order, GGUF tensor names (checkpoint names are mapped).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.exporter import layout

COUNT_TOLERANCE = 5
ROPE_NORM, ROPE_NEOX = 0, 2
ROPE_TYPE_OF_ARCH = {"llama": ROPE_NORM, "qwen2": ROPE_NEOX}
BOUNDS = {"hidden_size": (64, 65536), "num_layers": (1, 512), "vocab_size": (1, 1_000_000)}
Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class Violation:
    rule: str  # head-dim | gqa-group | attention-shape | ffn-shape | norm-per-layer | embedding-shape | ...
    item: str  # the field, key or tensor at fault
    message: str
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        detail = f" (expected {self.expected}, found {self.actual})" if self.expected is not None else ""
        return f"{self.item}: {self.message}{detail} <{self.rule}>"


@dataclass
class Dims:
    """The architecture a model declares (None where it declares nothing)."""

    source: str
    arch: str | None
    hidden_size: int | None
    num_layers: int | None
    num_heads: int | None
    num_kv_heads: int | None
    vocab_size: int | None
    intermediate_size: int | None
    head_dim: int | None = None  # explicit only
    rms_norm_eps: float | None = None
    rope_theta: float | None = None
    rope_type: Any = None  # declared integer rope type (GGUF `{arch}.rope.type`), if any
    rope_scaling: Any = None  # declared scaling type, if any
    tied: bool = False
    attention_bias: bool = False
    num_experts: int | None = None
    experts_per_tok: int | None = None
    warnings: list[str] = field(default_factory=list)

    def derived_head_dim(self) -> int | None:
        if self.head_dim:
            return self.head_dim
        if self.hidden_size and self.num_heads:
            return self.hidden_size // self.num_heads
        return None


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def dims_from_config(config: Mapping[str, Any], source: str = "config.json") -> Dims:
    arch: str | None
    try:
        arch = layout.gguf_arch_for(config)
    except layout.LayoutError:
        arch = None
    heads = _int(config.get("num_attention_heads"))
    rope = config.get("rope_parameters") if isinstance(config.get("rope_parameters"), Mapping) else config.get("rope_scaling")
    scaling = (rope.get("rope_type") or rope.get("type")) if isinstance(rope, Mapping) else None
    theta = config.get("rope_theta", (rope or {}).get("rope_theta") if isinstance(rope, Mapping) else None)
    return Dims(
        source=source, arch=arch, hidden_size=_int(config.get("hidden_size")),
        num_layers=_int(config.get("num_hidden_layers")), num_heads=heads,
        # HF's own default: no num_key_value_heads means one KV head per query head (MHA).
        num_kv_heads=_int(config.get("num_key_value_heads", heads)), vocab_size=_int(config.get("vocab_size")),
        intermediate_size=_int(config.get("intermediate_size")), head_dim=_int(config.get("head_dim")),
        rms_norm_eps=_float(config.get("rms_norm_eps")), rope_theta=_float(theta),
        rope_scaling=None if scaling in (None, "default") else scaling,
        tied=bool(config.get("tie_word_embeddings", False)),
        attention_bias=arch == "qwen2" or bool(config.get("attention_bias", False)),
        num_experts=_int(config.get("num_local_experts", config.get("num_experts"))),
        experts_per_tok=_int(config.get("num_experts_per_tok")),
    )


def dims_from_gguf(values: Mapping[str, Any], tensors: Shapes, source: str = "GGUF") -> Dims:
    arch = values.get("general.architecture")
    arch = arch if isinstance(arch, str) else None
    a = arch or "?"
    heads = _int(values.get(f"{a}.attention.head_count"))
    tokens = values.get("tokenizer.ggml.tokens")
    vocab = _int(values.get(f"{a}.vocab_size")) or (len(tokens) if isinstance(tokens, list) else None)
    scaling = values.get(f"{a}.rope.scaling.type")
    return Dims(
        source=source, arch=arch, hidden_size=_int(values.get(f"{a}.embedding_length")),
        num_layers=_int(values.get(f"{a}.block_count")), num_heads=heads,
        num_kv_heads=_int(values.get(f"{a}.attention.head_count_kv", heads)), vocab_size=vocab,
        intermediate_size=_int(values.get(f"{a}.feed_forward_length")),
        head_dim=_int(values.get(f"{a}.attention.key_length")),
        rms_norm_eps=_float(values.get(f"{a}.attention.layer_norm_rms_epsilon")),
        rope_theta=_float(values.get(f"{a}.rope.freq_base")), rope_type=values.get(f"{a}.rope.type"),
        rope_scaling=None if scaling in (None, "none") else scaling,
        tied="output.weight" not in tensors, attention_bias="blk.0.attn_q.bias" in tensors,
        num_experts=_int(values.get(f"{a}.expert_count")), experts_per_tok=_int(values.get(f"{a}.expert_used_count")),
    )


def gguf_names(hf_shapes: Shapes) -> dict[str, tuple[int, ...]]:
    """Checkpoint (HF) names -> GGUF names; a name with no GGUF counterpart is kept as is (an orphan)."""
    out = {}
    for name, shape in hf_shapes.items():
        try:
            out[layout.hf_to_gguf_name(name)] = shape
        except layout.LayoutError:
            out[name] = shape
    return out


class Schema:
    """The rules; :meth:`check` runs them all. Override one method to get one rule wrong."""

    def check(self, dims: Dims, shapes: Shapes | None) -> list[Violation]:
        found = self.config(dims)
        found += self.rope(dims)
        if shapes is None or any(v.rule in ("required-field", "head-dim", "gqa-group") for v in found):
            return found  # tensor rules need a consistent config to compare against
        return found + self.attention(dims, shapes) + self.ffn(dims, shapes) + self.norms(dims, shapes) \
            + self.embedding(dims, shapes) + self.tensor_count(dims, shapes)

    # --- config ----------------------------------------------------------------------------------

    def config(self, d: Dims) -> list[Violation]:
        out = []
        for name in ("hidden_size", "num_layers", "num_heads", "vocab_size"):
            value = getattr(d, name)
            if value is None or value <= 0:
                out.append(Violation("required-field", name, "must be declared and > 0", "> 0", value))
        for name, (lo, hi) in BOUNDS.items():
            value = getattr(d, name)
            if value is not None and value > 0 and not lo <= value <= hi:
                d.warnings.append(f"{name}={value} is outside the usual range [{lo}, {hi}]")
        if out:
            return out
        out += self.head_dim_rule(d)
        out += self.gqa_rule(d)
        if d.rms_norm_eps is not None and not d.rms_norm_eps > 0:
            out.append(Violation("rms-eps", "rms_norm_eps", "must be > 0 (RMSNorm divides by sqrt(mean + eps))",
                                 "> 0", d.rms_norm_eps))
        if d.num_experts and (not d.experts_per_tok or d.experts_per_tok > d.num_experts):
            out.append(Violation("moe", "num_experts_per_tok", "must be in [1, num_experts]",
                                 f"1..{d.num_experts}", d.experts_per_tok))
        return out

    def head_dim_rule(self, d: Dims) -> list[Violation]:
        assert d.hidden_size and d.num_heads
        if d.head_dim is None and d.hidden_size % d.num_heads:
            return [Violation("head-dim", "hidden_size", f"{d.hidden_size} is not divisible by num_heads={d.num_heads}: "
                              "the derived head width would be truncated", f"a multiple of {d.num_heads}", d.hidden_size)]
        return []

    def gqa_rule(self, d: Dims) -> list[Violation]:
        assert d.num_heads
        kv = d.num_kv_heads
        if kv is None or kv <= 0 or d.num_heads % kv:
            return [Violation("gqa-group", "num_kv_heads", f"num_heads={d.num_heads} is not a whole multiple of "
                              f"num_kv_heads={kv}: query heads cannot be grouped over the KV heads",
                              f"a divisor of {d.num_heads}", kv)]
        return []

    def rope(self, d: Dims) -> list[Violation]:
        out = []
        if d.rope_type is not None:
            rope_type = _int(d.rope_type)
            want = ROPE_TYPE_OF_ARCH.get(d.arch or "")
            if rope_type not in (ROPE_NORM, ROPE_NEOX):
                out.append(Violation("rope-type", f"{d.arch}.rope.type", "unknown rope type (0 = NORM adjacent pairs, "
                                     "2 = NEOX split halves)", "0 or 2", d.rope_type))
            elif want is not None and rope_type != want:
                out.append(Violation("rope-type", f"{d.arch}.rope.type", f"the {d.arch} graph applies rope type {want}",
                                     want, rope_type))
        if d.rope_scaling is not None:
            out.append(Violation("rope-type", "rope scaling", "scaled RoPE is not supported (only unscaled)",
                                 "none", d.rope_scaling))
        if d.rope_theta is not None and not (math.isfinite(d.rope_theta) and d.rope_theta > 0):
            out.append(Violation("rope-type", "rope_theta", "must be finite and > 0", "> 0", d.rope_theta))
        return out

    # --- tensors ---------------------------------------------------------------------------------

    def attention(self, d: Dims, shapes: Shapes) -> list[Violation]:
        h, hd = d.hidden_size or 0, d.derived_head_dim() or 0
        q_rows, kv_rows = (d.num_heads or 0) * hd, (d.num_kv_heads or 0) * hd
        want = {"attn_q.weight": (q_rows, h), "attn_k.weight": (kv_rows, h), "attn_v.weight": (kv_rows, h),
                "attn_output.weight": (h, q_rows)}
        out = []
        for i in range(d.num_layers or 0):
            out += _expect(shapes, "attention-shape", {f"blk.{i}.{k}": v for k, v in want.items()})
            q, o = shapes.get(f"blk.{i}.attn_q.weight"), shapes.get(f"blk.{i}.attn_output.weight")
            if q is not None and o is not None and tuple(reversed(q)) != o:
                out.append(Violation("attention-shape", f"blk.{i}.attn_output.weight", "must be attn_q transposed",
                                     list(reversed(q)), list(o)))
        return out

    def ffn(self, d: Dims, shapes: Shapes) -> list[Violation]:
        h, f = d.hidden_size or 0, d.intermediate_size
        out = []
        for i in range(d.num_layers or 0):
            b = f"blk.{i}."
            gate = shapes.get(b + "ffn_gate.weight")
            ff = f if f else (gate[0] if gate else 0)
            out += _expect(shapes, "ffn-shape", {b + "ffn_gate.weight": (ff, h), b + "ffn_up.weight": (ff, h),
                                                 b + "ffn_down.weight": (h, ff)})
        return out

    def norms(self, d: Dims, shapes: Shapes) -> list[Violation]:
        h = d.hidden_size or 0
        want = {"output_norm.weight": (h,)}
        for i in range(d.num_layers or 0):
            want[f"blk.{i}.attn_norm.weight"] = (h,)
            want[f"blk.{i}.ffn_norm.weight"] = (h,)
        return _expect(shapes, "norm-per-layer", want)

    def embedding(self, d: Dims, shapes: Shapes) -> list[Violation]:
        want = (d.vocab_size or 0, d.hidden_size or 0)
        out = _expect(shapes, "embedding-shape", {"token_embd.weight": want})
        if "output.weight" in shapes or not d.tied:
            out += _expect(shapes, "embedding-shape", {"output.weight": want})
        return out

    def expected_count(self, d: Dims) -> int:
        per_layer = 4 + 3 + 2 + (3 if d.attention_bias else 0) + (1 if d.attention_bias and d.arch == "llama" else 0)
        return 1 + (d.num_layers or 0) * per_layer + 1 + (0 if d.tied else 1)

    def tensor_count(self, d: Dims, shapes: Shapes) -> list[Violation]:
        expected, actual = self.expected_count(d), len(shapes)
        if abs(actual - expected) > COUNT_TOLERANCE:
            return [Violation("tensor-count", "tensors", f"{actual} tensors, {expected} expected for this config "
                              f"(tolerance ±{COUNT_TOLERANCE})", expected, actual)]
        return []

    # --- entry points ----------------------------------------------------------------------------

    def check_path(self, target: Path) -> tuple[Dims, list[Violation]]:
        """Check a checkpoint directory or a GGUF file (raises ValueError when it cannot be read at all)."""
        target = Path(target)
        if target.is_dir():
            from engines.exporter.infer import checkpoint_shapes

            config_path = target / "config.json"
            try:
                config = json.loads(config_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"{config_path}: cannot read the architecture ({exc})") from exc
            dims = dims_from_config(config, str(config_path))
            return dims, self.check(dims, gguf_names(checkpoint_shapes(target)))
        from engines.exporter.readback import read_gguf

        info = read_gguf(target)
        shapes = {name: shape for name, (shape, _) in info.tensors.items()}
        dims = dims_from_gguf(info.values, shapes, str(target))
        return dims, self.check(dims, shapes)


def _expect(shapes: Shapes, rule: str, want: Mapping[str, tuple[int, ...]]) -> list[Violation]:
    out = []
    for name, shape in want.items():
        found = shapes.get(name)
        if found is None:
            out.append(Violation(rule, name, "missing tensor", list(shape), None))
        elif tuple(found) != tuple(shape):
            out.append(Violation(rule, name, "wrong shape", list(shape), list(found)))
    return out
