"""Architecture configuration of the decoder: one pydantic model, presets, and strict extraction.

:class:`ArchConfig` describes a Llama/Qwen2-family decoder (GQA, RoPE, RMSNorm, SwiGLU,
optional q/k/v bias, optional tied embeddings). Three ways to get one:

* a preset by name (:func:`preset`): ``tiny``, ``default`` (from scratch: GPT-2 vocab,
  GQA 4:1), ``qwen2-0.5b`` (the published Qwen2.5-0.5B shape);
* an HF ``config.json`` (:func:`from_hf_config` / :func:`from_config_file`), e.g. the one in an
  init checkpoint. Every architecture field is read from it: a missing one is a
  :class:`ConfigError` naming the field and the file, never a silent default (the bug this
  guards against: a 0.5B Qwen init silently trained with rope θ 10,000 or MHA);
* :func:`ArchConfig.to_hf_config` goes back to an HF config dict that ``transformers`` loads.

Anything that is not a decoder of a supported family (an encoder such as BERT, a T5, a
sliding-window or scaled-RoPE variant) is refused here, before any weight file is opened.

No heavy imports: pydantic and the standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engines.errors import AprError
from engines.trainer.activations import ACTIVATIONS
from engines.trainer.activations import check_name as check_activation

Family = Literal["qwen2", "llama"]

# Falsifier ids cited in error messages (see contracts/apr-pretrain-arch-polymorphic-v1.yaml).
ID_EXTRACT = "FALSIFY-APR-PRETRAIN-ARCH-003"
ID_ENCODER = "FALSIFY-APR-PRETRAIN-ARCH-007"

HF_CLASS: dict[str, str] = {"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM"}
FAMILY_BY_CLASS: dict[str, Family] = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama"}

# model_type / class-name fragments of encoder or encoder-decoder models: refused by name so
# the message says *why* ("an encoder cannot initialise a decoder") instead of a field error.
ENCODER_MODEL_TYPES = frozenset(
    {"bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra", "deberta", "deberta-v2",
     "mpnet", "camembert", "ernie", "t5", "mt5", "bart", "mbart", "marian", "pegasus", "whisper",
     "modernbert", "nomic_bert", "xlnet", "longformer", "funnel", "layoutlm"}
)
ENCODER_CLASS_HINTS = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification",
                       "ForQuestionAnswering", "ForConditionalGeneration", "EncoderModel", "BertModel")


_ENCODER_FAMILIES = frozenset(t.replace("-", "").replace("_", "") for t in ENCODER_MODEL_TYPES)


def _class_family(class_name: str) -> str:
    """"RobertaModel" -> "roberta", "XLMRobertaForMaskedLM" -> "xlmroberta": the family a class names."""
    return re.sub(r"(For[A-Z]\w*|LMHeadModel|Model)$", "", class_name).lower()


class ConfigError(AprError):
    """An architecture that cannot be built: names the field / file / falsifier id."""


class ArchConfig(BaseModel):
    """A decoder architecture. Field names follow the issue; :meth:`to_hf_config` maps to HF names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family: Family
    vocab_size: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    intermediate_size: int = Field(gt=0)
    num_hidden_layers: int = Field(gt=0)
    max_position_embeddings: int = Field(gt=0)
    rope_theta: float = Field(gt=0)
    rms_norm_eps: float = Field(gt=0)
    tie_word_embeddings: bool
    qkv_bias: bool
    # The MLP's gate activation, by its HF name (engines/trainer/activations.py); every published
    # Llama/Qwen2 uses silu (SwiGLU), the others serve configs that name them.
    hidden_act: str = "silu"
    head_dim: int | None = None  # None: hidden_size // num_attention_heads (HF's rule)
    # Special token ids travel with config.json (HF puts them there); not architecture.
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None

    @model_validator(mode="after")
    def _shapes_fit(self) -> ArchConfig:
        check_activation(self.hidden_act)  # ActivationError is a ValueError: pydantic reports it
        if self.head_dim is None and self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads} (set head_dim explicitly)"
            )
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError(
                f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                f"num_kv_heads {self.num_kv_heads}: GQA needs whole query groups"
            )
        if self.dim_per_head % 2:
            raise ValueError(f"head dimension {self.dim_per_head} is odd; RoPE rotates pairs")
        return self

    @property
    def dim_per_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.num_attention_heads

    @property
    def o_proj_bias(self) -> bool:
        """HF Llama's ``attention_bias`` covers q, k, v *and* o; Qwen2 biases only q, k, v."""
        return self.qkv_bias and self.family == "llama"

    @property
    def gqa_ratio(self) -> int:
        return self.num_attention_heads // self.num_kv_heads

    @property
    def hf_class(self) -> str:
        return HF_CLASS[self.family]

    def replace(self, **changes: Any) -> ArchConfig:
        """A validated copy with ``changes`` applied."""
        return ArchConfig(**{**self.model_dump(), **changes})

    def to_hf_config(self, *, torch_dtype: str = "float32") -> dict[str, Any]:
        """The HF ``config.json`` dict (transformers 4.x and 5.x both read it)."""
        config: dict[str, Any] = {
            "architectures": [self.hf_class],
            "model_type": self.family,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.dim_per_head,
            "max_position_embeddings": self.max_position_embeddings,
            "rope_theta": self.rope_theta,
            # transformers 5 reads the base from rope_parameters; 4.x from rope_theta.
            "rope_parameters": {"rope_theta": self.rope_theta, "rope_type": "default"},
            "rope_scaling": None,
            "rms_norm_eps": self.rms_norm_eps,
            "tie_word_embeddings": self.tie_word_embeddings,
            "hidden_act": self.hidden_act,
            "attention_dropout": 0.0,
            "initializer_range": 0.02,
            "use_cache": True,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "pad_token_id": self.pad_token_id,
            "torch_dtype": torch_dtype,
            "dtype": torch_dtype,
        }
        if self.family == "llama":
            config["attention_bias"] = self.qkv_bias
            config["mlp_bias"] = False
        else:
            config["use_sliding_window"] = False
            config["sliding_window"] = None
            config["max_window_layers"] = self.num_hidden_layers
        return config


# --- presets ---------------------------------------------------------------------------------------


def qwen2_0_5b() -> ArchConfig:
    """Qwen2.5-0.5B as published (config.json of Qwen/Qwen2.5-0.5B): 494,032,768 parameters."""
    return ArchConfig(
        family="qwen2", vocab_size=151_936, hidden_size=896, num_attention_heads=14, num_kv_heads=2,
        intermediate_size=4864, num_hidden_layers=24, max_position_embeddings=32_768,
        rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, qkv_bias=True,
        bos_token_id=151_643, eos_token_id=151_643,
    )


def default_scratch() -> ArchConfig:
    """From-scratch default: GPT-2 vocab (50,257), GQA 4:1, ~380M parameters (Llama layout)."""
    return ArchConfig(
        family="llama", vocab_size=50_257, hidden_size=1024, num_attention_heads=16, num_kv_heads=4,
        intermediate_size=3584, num_hidden_layers=24, max_position_embeddings=2048,
        rope_theta=10_000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, qkv_bias=False,
        bos_token_id=50_256, eos_token_id=50_256,
    )


def tiny() -> ArchConfig:
    """A Qwen2-like toy for tests and benches: hidden 128, 4 layers, 4 heads / 2 KV heads, FFN 384."""
    return ArchConfig(
        family="qwen2", vocab_size=8192, hidden_size=128, num_attention_heads=4, num_kv_heads=2,
        intermediate_size=384, num_hidden_layers=4, max_position_embeddings=2048,
        rope_theta=10_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, qkv_bias=True,
    )


PRESETS: dict[str, Callable[[], ArchConfig]] = {
    "tiny": tiny,
    "default": default_scratch,
    "qwen2-0.5b": qwen2_0_5b,
}


def preset(name: str) -> ArchConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown architecture preset {name!r}",
            hint=f"use one of {', '.join(sorted(PRESETS))}, or pass an HF config.json path",
            exit_code=2,
        ) from None


# --- strict extraction from an HF config ----------------------------------------------------------

# (our field, HF key) read for every family; any missing one is an error.
_REQUIRED: tuple[tuple[str, str], ...] = (
    ("vocab_size", "vocab_size"),
    ("hidden_size", "hidden_size"),
    ("num_attention_heads", "num_attention_heads"),
    ("num_kv_heads", "num_key_value_heads"),
    ("intermediate_size", "intermediate_size"),
    ("num_hidden_layers", "num_hidden_layers"),
    ("max_position_embeddings", "max_position_embeddings"),
    ("rms_norm_eps", "rms_norm_eps"),
    ("tie_word_embeddings", "tie_word_embeddings"),
)


def family_of(config: Mapping[str, Any], *, source: str = "config.json") -> Family:
    """The decoder family of an HF config, or a :class:`ConfigError` (encoders named as such)."""
    model_type = config.get("model_type")
    listed = [c for c in config.get("architectures") or () if isinstance(c, str)]
    described = f"model_type={model_type!r}, architectures={listed!r}"
    # HF convention: architectures[0] is the class the weights belong to; later entries name other
    # heads the same weights can serve (e.g. ...ForSequenceClassification), not this checkpoint.
    classes = listed[:1]
    is_encoder = (isinstance(model_type, str) and model_type.lower() in ENCODER_MODEL_TYPES) or any(
        hint in c for c in classes for hint in ENCODER_CLASS_HINTS
    ) or any(_class_family(c) in _ENCODER_FAMILIES for c in classes) or bool(config.get("is_encoder_decoder"))
    if is_encoder:
        raise ConfigError(
            f"{source}: {described} is an encoder architecture; a decoder-only causal LM "
            "(qwen2/llama family) cannot be initialised from it",
            hint="pass --init with a Qwen2/Llama-family decoder checkpoint (config.json model_type qwen2 or llama)",
            falsifier=ID_ENCODER,
        )
    if model_type in HF_CLASS:
        family: Family = "qwen2" if model_type == "qwen2" else "llama"
    elif model_type is None and len(classes) == 1 and classes[0] in FAMILY_BY_CLASS:
        family = FAMILY_BY_CLASS[classes[0]]
    else:
        raise ConfigError(
            f"{source}: {described} is not a supported decoder family",
            hint="supported: model_type qwen2 (Qwen2ForCausalLM) and llama (LlamaForCausalLM)",
            falsifier=ID_ENCODER,
        )
    for cls in classes:
        if cls != HF_CLASS[family]:
            raise ConfigError(
                f"{source}: architectures {classes!r} does not match model_type {model_type!r} "
                f"(expected {HF_CLASS[family]})",
                hint="fix config.json so model_type and architectures agree",
                falsifier=ID_ENCODER,
            )
    return family


def _missing(field: str, source: str) -> ConfigError:
    return ConfigError(
        f"{source}: required architecture field {field!r} is missing; refusing to fill it with a default",
        hint=f"add {field!r} to {source} (copy it from the model's published config.json)",
        falsifier=ID_EXTRACT,
    )


def _rope_theta(config: Mapping[str, Any], source: str) -> float:
    params = config.get("rope_parameters")
    scaling = config.get("rope_scaling")
    for name, block in (("rope_parameters", params), ("rope_scaling", scaling)):
        if isinstance(block, Mapping):
            kind = block.get("rope_type", block.get("type", "default"))
            if kind not in ("default", None):
                raise ConfigError(
                    f"{source}: {name}.rope_type={kind!r}: scaled RoPE is not supported by this decoder",
                    hint="use a checkpoint with unscaled RoPE (rope_type 'default')",
                    falsifier=ID_EXTRACT,
                )
    if isinstance(params, Mapping) and params.get("rope_theta") is not None:
        return float(params["rope_theta"])
    if config.get("rope_theta") is not None:
        return float(config["rope_theta"])
    raise _missing("rope_theta", source)


def from_hf_config(config: Mapping[str, Any], *, source: str = "config.json") -> ArchConfig:
    """Build an :class:`ArchConfig` from an HF config dict, reading every field (no defaults)."""
    family = family_of(config, source=source)
    if config.get("use_sliding_window"):
        raise ConfigError(f"{source}: use_sliding_window=true is not supported (full causal attention only)",
                          hint="use a config with use_sliding_window false", falsifier=ID_EXTRACT)
    act = config.get("hidden_act", config.get("hidden_activation"))
    if act is None:
        raise _missing("hidden_act", source)
    if act not in ACTIVATIONS:
        raise ConfigError(f"{source}: hidden_act={act!r} is not an activation this decoder implements",
                          hint=f"use one of {', '.join(sorted(ACTIVATIONS))} (Llama/Qwen2 checkpoints use 'silu')",
                          falsifier=ID_EXTRACT)
    values: dict[str, Any] = {"family": family, "hidden_act": act}
    for ours, theirs in _REQUIRED:
        if config.get(theirs) is None:
            raise _missing(theirs, source)
        values[ours] = config[theirs]
    values["rope_theta"] = _rope_theta(config, source)
    if family == "qwen2":
        values["qkv_bias"] = True  # Qwen2 attention always carries q/k/v biases (no config switch)
    else:
        if config.get("attention_bias") is None:
            raise _missing("attention_bias", source)
        values["qkv_bias"] = bool(config["attention_bias"])
        if config.get("mlp_bias"):
            raise ConfigError(f"{source}: mlp_bias=true is not supported", hint="use mlp_bias false",
                              falsifier=ID_EXTRACT)
    head_dim = config.get("head_dim")
    # Stored only when it differs from HF's rule, so a config round-trips to an equal ArchConfig.
    if head_dim is not None and int(head_dim) * int(values["num_attention_heads"]) != int(values["hidden_size"]):
        values["head_dim"] = int(head_dim)
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        token = config.get(key)
        if isinstance(token, list):  # some configs list several EOS ids: the first is canonical
            token = token[0] if token else None
        values[key] = int(token) if isinstance(token, int) and not isinstance(token, bool) else None
    try:
        return ArchConfig(**values)
    except ValueError as exc:
        raise ConfigError(f"{source}: inconsistent architecture: {exc}", hint="check the config's head counts",
                          falsifier=ID_EXTRACT) from exc


def read_hf_config(path: Path) -> dict[str, Any]:
    """The JSON object of an HF config.json, with errors that name the file."""
    if not path.is_file():
        raise ConfigError(f"{path}: config.json not found", hint="a checkpoint directory must contain config.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse it as JSON: {exc}", hint="is the file complete?") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level", hint="pass an HF config.json")
    return data


def from_config_file(path: str | Path) -> ArchConfig:
    """:func:`from_hf_config` on a config.json file, or on a directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    return from_hf_config(read_hf_config(path), source=str(path))


def resolve_arch(arch: str | None, *, vocab_size: int | None = None) -> ArchConfig:
    """``--arch`` (preset name or config.json path; None = ``default``) with ``--vocab-size`` applied."""
    if arch is None:
        config = default_scratch()
    elif arch in PRESETS:
        config = preset(arch)
    elif arch.endswith(".json") or Path(arch).is_dir():
        config = from_config_file(arch)
    else:
        config = preset(arch)  # raises with the list of presets
    if vocab_size is not None:
        config = config.replace(vocab_size=vocab_size)
    return config


def describe(config: ArchConfig) -> dict[str, Any]:
    """A JSON-able summary for `apr inspect` / `--preflight-only --format json`."""
    out = config.model_dump()
    out["head_dim"] = config.dim_per_head
    out["gqa_ratio"] = f"{config.gqa_ratio}:1"
    return out
