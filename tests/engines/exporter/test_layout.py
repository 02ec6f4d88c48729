"""layout.py: names, permutation, hyper-parameters and the required-key table."""

from __future__ import annotations

import numpy as np
import pytest

from engines.exporter import layout
from engines.exporter.fixtures import tiny_config


def _explicit_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    d = w.shape[0] // n_head
    order = [h * d + j * (d // 2) + i for h in range(n_head) for i in range(d // 2) for j in range(2)]
    return w[order]


@pytest.mark.parametrize("n_head,rows,cols", [(4, 64, 8), (3, 48, 5), (9, 576, 3), (1, 8, 2)])
def test_permute_matches_llama_cpp_pairing_and_inverts(n_head: int, rows: int, cols: int) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(rows, cols)).astype(np.float32)
    b = rng.normal(size=(rows,)).astype(np.float32)
    assert np.array_equal(layout.permute(w, n_head), _explicit_permute(w, n_head))
    assert np.array_equal(layout.permute(b, n_head), _explicit_permute(b, n_head))
    assert np.array_equal(layout.unpermute(layout.permute(w, n_head), n_head), w)
    assert np.array_equal(layout.unpermute(layout.permute(b, n_head), n_head), b)
    if rows // n_head > 2:
        assert not np.array_equal(layout.permute(w, n_head), w)


def test_permute_works_on_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    w = torch.arange(32 * 3, dtype=torch.float32).reshape(32, 3)
    assert torch.equal(layout.unpermute(layout.permute(w, 2), 2), w)


def test_permute_refuses_indivisible_rows() -> None:
    with pytest.raises(layout.LayoutError, match="not divisible"):
        layout.permute(np.zeros((10, 2)), 3)


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_names_round_trip_for_every_expected_tensor(arch: str) -> None:
    hp = layout.hparams_from_config(tiny_config(arch, tied=False, bias=True))
    names = layout.expected_tensors(hp)
    assert "output.weight" in names
    for name in names:
        assert layout.hf_to_gguf_name(layout.gguf_to_hf_name(name)) == name
    assert ("blk.0.attn_output.bias" in names) is (arch == "llama")  # HF Llama's attention_bias covers o_proj


def test_unknown_names_are_refused() -> None:
    with pytest.raises(layout.LayoutError, match="no Hugging Face counterpart"):
        layout.gguf_to_hf_name("blk.0.attn_qkv.weight")
    with pytest.raises(layout.LayoutError, match="no GGUF counterpart"):
        layout.hf_to_gguf_name("model.layers.0.self_attn.rotary_emb.inv_freq")


def test_tied_models_have_no_output_tensor() -> None:
    hp = layout.hparams_from_config(tiny_config("qwen2", tied=True))
    assert "output.weight" not in layout.expected_tensors(hp)
    assert hp.attention_bias  # qwen2 always has q/k/v biases
    assert {"blk.1.attn_q.bias", "blk.1.attn_k.bias", "blk.1.attn_v.bias"} <= set(layout.expected_tensors(hp))


def test_arch_names_are_never_hf_class_names() -> None:
    assert layout.gguf_arch_for({"model_type": "qwen2"}) == "qwen2"
    assert layout.gguf_arch_for({"architectures": ["LlamaForCausalLM"]}) == "llama"
    with pytest.raises(layout.LayoutError, match="unknown architecture"):
        layout.gguf_arch_for({"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"]})


def test_missing_config_fields_are_named() -> None:
    config = tiny_config("qwen2")
    del config["hidden_size"], config["num_key_value_heads"]
    with pytest.raises(layout.LayoutError, match="hidden_size, num_key_value_heads"):
        layout.hparams_from_config(config)


def test_rope_theta_from_transformers_5_rope_parameters_and_scaled_rope_refused() -> None:
    config = tiny_config("llama")
    del config["rope_theta"]
    config["rope_parameters"] = {"rope_theta": 100000.0, "rope_type": "default"}
    assert layout.hparams_from_config(config).rope_theta == 100000.0
    config["rope_parameters"] = {"rope_theta": 5e5, "rope_type": "llama3", "factor": 8.0}
    with pytest.raises(layout.LayoutError, match="rope_type"):
        layout.hparams_from_config(config)
    del config["rope_parameters"]
    with pytest.raises(layout.LayoutError, match="rope_theta"):
        layout.hparams_from_config(config)


def test_table_holds_the_silent_keys() -> None:
    silent = {spec.key for spec in layout.REQUIRED_KEYS if spec.silent}
    assert silent == {"{arch}.rope.freq_base", "tokenizer.ggml.pre"}
    keys = {key for _, key in layout.required_keys(layout.hparams_from_config(tiny_config("qwen2")))}
    assert {"qwen2.context_length", "qwen2.attention.head_count_kv", "tokenizer.ggml.merges"} <= keys
    assert "qwen2.attention.key_length" not in keys  # head_dim = hidden / heads here


def test_gguf_values_give_back_the_config() -> None:
    config = tiny_config("llama")
    hp = layout.hparams_from_config(config)
    values = {key: layout.hparams_value(hp, spec) for spec, key in layout.required_keys(hp) if spec.field}
    values["tokenizer.ggml.tokens"] = ["x"] * hp.vocab_size
    values["__tied__"] = True
    back = layout.hparams_from_config(layout.hf_config_from_gguf_values("llama", values))
    assert back == hp
    del values["llama.rope.freq_base"]
    with pytest.raises(layout.LayoutError, match=r"rope\.freq_base"):
        layout.hf_config_from_gguf_values("llama", values)
