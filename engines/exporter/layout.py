"""GGUF <-> Hugging Face layout: architecture names, hyper-parameter keys, tensor names, q/k permutation.

This module is the single source of truth for what a GGUF file written by `apr export` must
contain. Three consumers share it and must never keep their own copy:

* the exporter's read-back self-check (``engines.exporter.readback``),
* the `apr qa` gate "the GGUF reads back with every required key",
* `apr import` (GGUF -> checkpoint, trainer engine), which uses the inverse maps.

It imports nothing heavy: the permutation helpers only call methods of the arrays they are given
(numpy or torch), so `pv validate` can import the plugin that imports this file.

Facts this table encodes were measured against llama.cpp (llama-cpp-python 0.3.36) by dropping
one key or tensor at a time: some keys are *required* (llama.cpp refuses to load without them), others are
*silent* (llama.cpp loads without them and computes wrong answers: rope freq base falls back
to 10,000, ``tokenizer.ggml.pre`` falls back to "default" tokenization, missing qkv biases are
simply not applied). We treat both as mandatory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class LayoutError(ValueError):
    """A config or tensor cannot be mapped between Hugging Face and GGUF layouts."""


# --- architecture names ---------------------------------------------------------------------------

# GGUF `general.architecture` values we write, keyed by HF `model_type`. HF *class* names
# (LlamaForCausalLM) are never valid here: llama.cpp refuses them ("unknown model architecture").
GGUF_ARCH_BY_MODEL_TYPE: dict[str, str] = {"qwen2": "qwen2", "llama": "llama"}
HF_CLASS_BY_ARCH: dict[str, str] = {"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM"}
MODEL_TYPE_BY_ARCH: dict[str, str] = {arch: mt for mt, arch in GGUF_ARCH_BY_MODEL_TYPE.items()}
ARCH_BY_HF_CLASS: dict[str, str] = {cls: arch for arch, cls in HF_CLASS_BY_ARCH.items()}
SUPPORTED_ARCHS: tuple[str, ...] = tuple(HF_CLASS_BY_ARCH)


def gguf_arch_for(config: Mapping[str, Any]) -> str:
    """The GGUF architecture name for an HF config dict (``model_type`` first, then ``architectures``)."""
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type in GGUF_ARCH_BY_MODEL_TYPE:
        return GGUF_ARCH_BY_MODEL_TYPE[model_type]
    for cls in config.get("architectures") or ():
        if cls in ARCH_BY_HF_CLASS:
            return ARCH_BY_HF_CLASS[cls]
    raise LayoutError(
        f"unknown architecture: model_type={model_type!r}, architectures={config.get('architectures')!r}; "
        f"the GGUF exporter supports HF model_type {sorted(GGUF_ARCH_BY_MODEL_TYPE)} "
        f"(classes {sorted(ARCH_BY_HF_CLASS)})"
    )


# --- hyper-parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HParams:
    """The decoder hyper-parameters the GGUF needs, normalised from an HF config (no silent defaults)."""

    arch: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int
    rms_norm_eps: float
    rope_theta: float
    tie_word_embeddings: bool
    attention_bias: bool
    head_dim: int

    @property
    def q_rows(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_rows(self) -> int:
        return self.num_key_value_heads * self.head_dim


_REQUIRED_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
    "rms_norm_eps",
)


def rope_theta_of(config: Mapping[str, Any]) -> float:
    """Rope base from either the transformers 4.x key or 5.x ``rope_parameters``; refuse scaled rope."""
    params = config.get("rope_parameters")
    if isinstance(params, Mapping):
        rope_type = params.get("rope_type", "default")
        if rope_type not in ("default", None):
            raise LayoutError(f"rope_parameters.rope_type={rope_type!r} is not supported (only unscaled RoPE)")
        if params.get("rope_theta") is not None:
            return float(params["rope_theta"])
    scaling = config.get("rope_scaling")
    if scaling and (scaling.get("rope_type") or scaling.get("type")) not in ("default", None):
        raise LayoutError(f"rope_scaling={scaling!r} is not supported (only unscaled RoPE)")
    if config.get("rope_theta") is not None:
        return float(config["rope_theta"])
    raise LayoutError(
        "config has neither rope_theta nor rope_parameters.rope_theta; refusing to guess "
        "(llama.cpp would silently use 10000, which computes wrong logits for most models)"
    )


def hparams_from_config(config: Mapping[str, Any]) -> HParams:
    """Normalise an HF config dict. Raises :class:`LayoutError` naming every missing field."""
    arch = gguf_arch_for(config)
    missing = [f for f in _REQUIRED_CONFIG_FIELDS if config.get(f) is None]
    if missing:
        raise LayoutError(f"config.json lacks {', '.join(missing)} (needed for the {arch} GGUF metadata)")
    if config.get("mlp_bias"):
        raise LayoutError("mlp_bias=true is not supported by the llama/qwen2 GGUF layout written here")
    # llama.cpp's llama/qwen2 graphs hard-code SiLU in the FFN: a GELU/ReLU model would load and
    # silently compute different logits, so refuse it (absent means HF's class default, silu).
    act = config.get("hidden_act", "silu")
    if act not in ("silu", "swish"):
        raise LayoutError(f"hidden_act={act!r}: the {arch} GGUF architecture runs SiLU (SwiGLU) in the FFN; "
                          "this model would load in llama.cpp and compute wrong logits. Export only silu models.")
    n_head = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    head_dim = int(config.get("head_dim") or hidden // n_head)
    # qwen2 always has q/k/v biases; llama has them only when `attention_bias` says so.
    attention_bias = True if arch == "qwen2" else bool(config.get("attention_bias", False))
    # HF's own class default is False for both Qwen2Config and LlamaConfig.
    tie = bool(config.get("tie_word_embeddings", False))
    return HParams(
        arch=arch,
        vocab_size=int(config["vocab_size"]),
        hidden_size=hidden,
        intermediate_size=int(config["intermediate_size"]),
        num_hidden_layers=int(config["num_hidden_layers"]),
        num_attention_heads=n_head,
        num_key_value_heads=int(config["num_key_value_heads"]),
        max_position_embeddings=int(config["max_position_embeddings"]),
        rms_norm_eps=float(config["rms_norm_eps"]),
        rope_theta=rope_theta_of(config),
        tie_word_embeddings=tie,
        attention_bias=attention_bias,
        head_dim=head_dim,
    )


# --- the ONE table of keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """One GGUF metadata key that `apr export` always writes and the read-back/qa always checks.

    ``key`` may contain ``{arch}``. ``field`` is the HParams attribute whose value the key must
    carry (None for tokenizer keys, checked elsewhere). ``silent`` marks keys llama.cpp does not
    require but computes wrong answers without. ``when`` names an HParams predicate for
    conditional keys.
    """

    key: str
    kind: str  # "str" | "int" | "float" | "str[]" | "int[]" | "bool"
    field: str | None = None
    silent: bool = False
    why: str = ""
    when: str | None = None

    def name(self, arch: str) -> str:
        return self.key.format(arch=arch)


REQUIRED_KEYS: tuple[KeySpec, ...] = (
    KeySpec("general.architecture", "str", "arch", why="llama.cpp picks the graph from it; must be qwen2/llama, never an HF class name"),
    KeySpec("{arch}.context_length", "int", "max_position_embeddings", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.embedding_length", "int", "hidden_size", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.block_count", "int", "num_hidden_layers", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.feed_forward_length", "int", "intermediate_size", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.attention.head_count", "int", "num_attention_heads", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.attention.head_count_kv", "int", "num_key_value_heads", why="GQA ratio; without it llama.cpp assumes MHA"),
    KeySpec("{arch}.attention.layer_norm_rms_epsilon", "float", "rms_norm_eps", why="llama.cpp refuses to load without it"),
    KeySpec("{arch}.rope.freq_base", "float", "rope_theta", silent=True, why="absent => llama.cpp silently uses 10000"),
    KeySpec("{arch}.attention.key_length", "int", "head_dim", why="head_dim differs from hidden/heads", when="custom_head_dim"),
    KeySpec("{arch}.attention.value_length", "int", "head_dim", why="head_dim differs from hidden/heads", when="custom_head_dim"),
    KeySpec("tokenizer.ggml.model", "str", why="'gpt2' = byte-level BPE; llama.cpp refuses to load without it"),
    KeySpec("tokenizer.ggml.pre", "str", silent=True, why="absent => llama.cpp silently pre-tokenizes with 'default' (different ids)"),
    KeySpec("tokenizer.ggml.tokens", "str[]", why="one entry per embedding row"),
    KeySpec("tokenizer.ggml.token_type", "int[]", why="CONTROL for added tokens, UNUSED for padding rows"),
    KeySpec("tokenizer.ggml.merges", "str[]", why="llama.cpp refuses a gpt2 tokenizer without merges"),
    KeySpec("tokenizer.ggml.eos_token_id", "int", why="generation stops on it"),
)

# Keys written when the tokenizer defines them (checked when present, not required).
OPTIONAL_KEYS: tuple[str, ...] = (
    "general.name",
    "general.file_type",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.chat_template",
)


def custom_head_dim(hp: HParams) -> bool:
    return hp.head_dim * hp.num_attention_heads != hp.hidden_size


_PREDICATES = {"custom_head_dim": custom_head_dim}


def required_keys(hp: HParams) -> list[tuple[KeySpec, str]]:
    """(spec, concrete key) pairs that a GGUF for ``hp`` must carry."""
    out = []
    for spec in REQUIRED_KEYS:
        if spec.when is None or _PREDICATES[spec.when](hp):
            out.append((spec, spec.name(hp.arch)))
    return out


def hparams_value(hp: HParams, spec: KeySpec) -> Any:
    return None if spec.field is None else getattr(hp, spec.field)


def values_match(expected: Any, found: Any) -> bool:
    """Key value comparison: floats are stored as f32 in GGUF, so compare at f32 precision."""
    if isinstance(expected, float):
        try:
            return math.isclose(float(found), expected, rel_tol=1e-6, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return bool(found == expected)


# --- tensors --------------------------------------------------------------------------------------

GLOBAL_TENSORS: dict[str, str] = {  # GGUF -> HF
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
BLOCK_TENSORS: dict[str, str] = {  # GGUF suffix after "blk.N." -> HF suffix after "model.layers.N."
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_output.bias": "self_attn.o_proj.bias",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_HF_BLOCK = {hf: g for g, hf in BLOCK_TENSORS.items()}
_HF_GLOBAL = {hf: g for g, hf in GLOBAL_TENSORS.items()}


def gguf_to_hf_name(name: str) -> str:
    if name in GLOBAL_TENSORS:
        return GLOBAL_TENSORS[name]
    parts = name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in BLOCK_TENSORS:
        return f"model.layers.{parts[1]}.{BLOCK_TENSORS[parts[2]]}"
    raise LayoutError(f"GGUF tensor {name!r} has no Hugging Face counterpart in the llama/qwen2 layout")


def hf_to_gguf_name(name: str) -> str:
    if name in _HF_GLOBAL:
        return _HF_GLOBAL[name]
    prefix = "model.layers."
    if name.startswith(prefix):
        layer, _, rest = name[len(prefix) :].partition(".")
        if layer.isdigit() and rest in _HF_BLOCK:
            return f"blk.{layer}.{_HF_BLOCK[rest]}"
    raise LayoutError(f"HF tensor {name!r} has no GGUF counterpart in the llama/qwen2 layout")


def expected_tensors(hp: HParams) -> dict[str, tuple[int, ...]]:
    """Every GGUF tensor a model with ``hp`` has, with its shape in PyTorch ``[out, in]`` order."""
    h, f = hp.hidden_size, hp.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (hp.vocab_size, h),
        "output_norm.weight": (h,),
    }
    if not hp.tie_word_embeddings:
        shapes["output.weight"] = (hp.vocab_size, h)
    for i in range(hp.num_hidden_layers):
        b = f"blk.{i}."
        shapes[b + "attn_norm.weight"] = (h,)
        shapes[b + "attn_q.weight"] = (hp.q_rows, h)
        shapes[b + "attn_k.weight"] = (hp.kv_rows, h)
        shapes[b + "attn_v.weight"] = (hp.kv_rows, h)
        if hp.attention_bias:
            # Silent if missing: llama.cpp loads the model and simply skips the bias add.
            shapes[b + "attn_q.bias"] = (hp.q_rows,)
            shapes[b + "attn_k.bias"] = (hp.kv_rows,)
            shapes[b + "attn_v.bias"] = (hp.kv_rows,)
        shapes[b + "attn_output.weight"] = (h, hp.q_rows)
        if hp.attention_bias and hp.arch == "llama":
            shapes[b + "attn_output.bias"] = (h,)  # HF Llama's attention_bias also covers o_proj
        shapes[b + "ffn_norm.weight"] = (h,)
        shapes[b + "ffn_gate.weight"] = (f, h)
        shapes[b + "ffn_up.weight"] = (f, h)
        shapes[b + "ffn_down.weight"] = (h, f)
    return shapes


def expected_hf_tensors(hp: HParams) -> dict[str, tuple[int, ...]]:
    """The same inventory with HF names (``lm_head.weight`` only when untied)."""
    return {gguf_to_hf_name(n): s for n, s in expected_tensors(hp).items()}


# --- q/k permutation (llama arch only) ------------------------------------------------------------


def permute(w: Any, n_head: int) -> Any:
    """HF -> GGUF for the ``llama`` arch (same as llama.cpp's convert_hf_to_gguf).

    HF applies RoPE with ``rotate_half`` (pairs i and i+d/2); llama.cpp's llama graph pairs
    adjacent rows (2i, 2i+1). Works for 2-D weights and 1-D biases, numpy or torch.
    """
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise LayoutError(f"cannot permute {tuple(w.shape)} for {n_head} heads: rows not divisible by 2*heads")
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w: Any, n_head: int) -> Any:
    """GGUF -> HF, the exact inverse of :func:`permute`."""
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise LayoutError(f"cannot unpermute {tuple(w.shape)} for {n_head} heads: rows not divisible by 2*heads")
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_heads(arch: str, gguf_name: str, hp: HParams) -> int | None:
    """How many heads to (un)permute ``gguf_name`` with, or None when it stays as is.

    Only the ``llama`` arch needs it; ``qwen2`` uses the same rotate_half RoPE as HF.
    """
    if arch != "llama":
        return None
    suffix = gguf_name.split(".", 2)[-1] if gguf_name.startswith("blk.") else ""
    if suffix in ("attn_q.weight", "attn_q.bias"):
        return hp.num_attention_heads
    if suffix in ("attn_k.weight", "attn_k.bias"):
        return hp.num_key_value_heads
    return None


def hf_tensor_to_gguf(hf_name: str, w: Any, hp: HParams) -> tuple[str, Any]:
    """(GGUF name, array) for one HF tensor, permuted when the arch requires it."""
    name = hf_to_gguf_name(hf_name)
    heads = permute_heads(hp.arch, name, hp)
    return name, (permute(w, heads) if heads else w)


def gguf_tensor_to_hf(gguf_name: str, w: Any, hp: HParams) -> tuple[str, Any]:
    """(HF name, array) for one GGUF tensor (already dequantized), un-permuted when needed."""
    heads = permute_heads(hp.arch, gguf_name, hp)
    return gguf_to_hf_name(gguf_name), (unpermute(w, heads) if heads else w)


# --- GGUF metadata -> HF config (for `apr import`) ------------------------------------------------


def hf_config_from_gguf_values(arch: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """An HF config dict from GGUF key values (``values``: key -> python value), no silent defaults.

    ``vocab_size`` comes from the token list length; ``tie_word_embeddings`` from whether
    ``output.weight`` exists, which the caller knows: pass it as ``values['__tied__']``. For the
    ``llama`` arch the caller sets ``attention_bias`` from whether ``blk.0.attn_q.bias`` exists.
    """
    if arch not in SUPPORTED_ARCHS:
        raise LayoutError(f"GGUF architecture {arch!r} is not supported; expected one of {SUPPORTED_ARCHS}")
    config: dict[str, Any] = {
        "architectures": [HF_CLASS_BY_ARCH[arch]],
        "model_type": MODEL_TYPE_BY_ARCH[arch],
        "hidden_act": "silu",
    }
    missing = []
    for spec in REQUIRED_KEYS:
        if spec.field in (None, "arch", "head_dim"):
            continue
        key = spec.name(arch)
        if key not in values:
            missing.append(key)
            continue
        value = values[key]
        config[spec.field] = float(value) if spec.kind == "float" else int(value)
    if missing:
        raise LayoutError(f"GGUF lacks {', '.join(missing)}; refusing to invent these hyper-parameters")
    if f"{arch}.attention.key_length" in values:
        config["head_dim"] = int(values[f"{arch}.attention.key_length"])
    if "tokenizer.ggml.tokens" in values:
        config["vocab_size"] = len(values["tokenizer.ggml.tokens"])
    if "__tied__" in values:
        config["tie_word_embeddings"] = bool(values["__tied__"])
    return config
