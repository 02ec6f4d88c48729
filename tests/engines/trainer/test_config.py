"""ArchConfig: presets, exact parameter counts, strict extraction from HF configs."""

from __future__ import annotations

import pytest

from engines.trainer.config import (
    ConfigError,
    default_scratch,
    from_hf_config,
    preset,
    qwen2_0_5b,
    resolve_arch,
    tiny,
)
from engines.trainer.fixtures import QWEN2_5_0_5B_CONFIG
from engines.trainer.params import count_non_embedding, count_parameters, parameter_shapes


def test_qwen_preset_and_exact_count() -> None:
    cfg = qwen2_0_5b()
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.num_kv_heads, cfg.gqa_ratio) == (896, 14, 2, 7)
    assert (cfg.intermediate_size, cfg.num_hidden_layers, cfg.vocab_size) == (4864, 24, 151_936)
    assert (cfg.max_position_embeddings, cfg.rope_theta, cfg.rms_norm_eps) == (32_768, 1e6, 1e-6)
    assert cfg.qkv_bias and cfg.tie_word_embeddings
    assert count_parameters(cfg) == 494_032_768
    assert count_non_embedding(cfg) == 494_032_768 - 151_936 * 896


def test_scratch_default_is_gpt2_vocab_gqa_4() -> None:
    cfg = default_scratch()
    assert cfg.vocab_size == 50_257 and cfg.gqa_ratio == 4
    assert resolve_arch(None) == cfg
    assert resolve_arch("tiny", vocab_size=8000).vocab_size == 8000


def test_tiny_preset_shape() -> None:
    cfg = tiny()
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_kv_heads,
            cfg.intermediate_size) == (128, 4, 4, 2, 384)


def test_unknown_preset_is_a_usage_error() -> None:
    with pytest.raises(ConfigError) as err:
        preset("gpt-5")
    assert err.value.exit_code == 2 and "tiny" in err.value.hint


def test_published_qwen_config_extracts_to_the_preset() -> None:
    assert from_hf_config(QWEN2_5_0_5B_CONFIG) == qwen2_0_5b()


@pytest.mark.parametrize("field", ["vocab_size", "hidden_size", "num_key_value_heads", "rope_theta",
                                   "rms_norm_eps", "tie_word_embeddings", "max_position_embeddings",
                                   "intermediate_size", "num_hidden_layers", "hidden_act"])
def test_missing_field_is_named_never_defaulted(field: str) -> None:
    partial = {k: v for k, v in QWEN2_5_0_5B_CONFIG.items() if k != field}
    with pytest.raises(ConfigError) as err:
        from_hf_config(partial, source="init/config.json")
    assert field in err.value.message and "init/config.json" in err.value.message
    assert err.value.falsifier == "FALSIFY-APR-PRETRAIN-ARCH-003"


def test_llama_needs_attention_bias_explicitly() -> None:
    cfg = default_scratch().to_hf_config()
    del cfg["attention_bias"]
    with pytest.raises(ConfigError, match="attention_bias"):
        from_hf_config(cfg)


def test_transformers5_rope_parameters_are_read() -> None:
    cfg = dict(QWEN2_5_0_5B_CONFIG)
    del cfg["rope_theta"]
    cfg["rope_parameters"] = {"rope_theta": 123456.0, "rope_type": "default"}
    assert from_hf_config(cfg).rope_theta == 123456.0


def test_scaled_rope_and_sliding_window_refused() -> None:
    with pytest.raises(ConfigError, match="scaled RoPE"):
        from_hf_config({**QWEN2_5_0_5B_CONFIG, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})
    with pytest.raises(ConfigError, match="sliding"):
        from_hf_config({**QWEN2_5_0_5B_CONFIG, "use_sliding_window": True})


@pytest.mark.parametrize("model_type,classes", [("bert", ["BertForMaskedLM"]), ("t5", ["T5ForConditionalGeneration"]),
                                                (None, ["RobertaModel", "XForMaskedLM"])])
def test_encoders_refused_as_encoders(model_type: str | None, classes: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        from_hf_config({**QWEN2_5_0_5B_CONFIG, "model_type": model_type, "architectures": classes})
    assert "encoder" in err.value.message and err.value.falsifier == "FALSIFY-APR-PRETRAIN-ARCH-007"


def test_unknown_decoder_family_refused() -> None:
    with pytest.raises(ConfigError, match="not a supported decoder family"):
        from_hf_config({**QWEN2_5_0_5B_CONFIG, "model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"]})


@pytest.mark.parametrize("cfg", [qwen2_0_5b(), default_scratch(), tiny().replace(family="llama", qkv_bias=True,
                                                                                   tie_word_embeddings=False)])
def test_hf_config_round_trip(cfg: object) -> None:
    assert from_hf_config(cfg.to_hf_config()) == cfg  # type: ignore[attr-defined]


def test_inconsistent_heads_refused() -> None:
    with pytest.raises(ConfigError, match="multiple of"):
        from_hf_config({**QWEN2_5_0_5B_CONFIG, "num_key_value_heads": 3})


def test_parameter_shapes_follow_hf_names() -> None:
    shapes = parameter_shapes(tiny().replace(family="llama", qkv_bias=True, tie_word_embeddings=False))
    assert shapes["model.layers.0.self_attn.k_proj.weight"] == (64, 128)  # 2 KV heads x 32
    assert shapes["model.layers.0.self_attn.o_proj.bias"] == (128,)  # Llama's attention_bias covers o_proj
    assert shapes["lm_head.weight"] == (8192, 128)
    assert "lm_head.weight" not in parameter_shapes(tiny())
