"""Tiny HF-layout checkpoints built in seconds, for exporter tests, falsifiers and benchmarks.

A checkpoint here is exactly what the trainer writes (config.json, model.safetensors with HF
names, tokenizer.json, tokenizer_config.json, apr_checkpoint.json), with a real tokenizer (a
BPE trained on standard-library sources, from ``engines.tokenizer.fixtures``) and random
weights large enough that logits differ clearly between tokens, so that a wrong permutation or
a dropped bias shows up in any comparison. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_json_atomic

ARCH_MODEL_TYPE = {"qwen2": ("qwen2", "Qwen2ForCausalLM"), "llama": ("llama", "LlamaForCausalLM")}

# A real Python sample (no control-token strings) for tokenization and logit comparisons.
CODE_SAMPLE = '''def fibonacci(n):
    """Return the n-th Fibonacci number (iteratively)."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
'''


def tiny_config(arch: str = "qwen2", *, vocab_size: int = 2048, tied: bool = True, bias: bool | None = None,
                head_dim: int = 16) -> dict[str, Any]:
    """hidden 64, 4 query heads over 2 KV heads; ``head_dim`` 16 is hidden/heads, any other value is explicit."""
    model_type, cls = ARCH_MODEL_TYPE[arch]
    config: dict[str, Any] = {
        "architectures": [cls],
        "model_type": model_type,
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 172,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": head_dim,
        "max_position_embeddings": 256,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0 if arch == "qwen2" else 100_000.0,
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": None,
        "eos_token_id": 0,
    }
    if arch == "llama":
        config["attention_bias"] = bool(bias)
        config["mlp_bias"] = False
    return config


def random_state(config: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """HF-named float32 numpy tensors for ``config``: matrices N(0, 0.1), embeddings N(0, 0.3), norms 1±0.5, biases N(0, 0.1)."""
    import numpy as np

    from engines.exporter import layout

    rng = np.random.default_rng(seed)
    hp = layout.hparams_from_config(config)
    state = {}
    for name, shape in layout.expected_hf_tensors(hp).items():
        if name.endswith("norm.weight"):
            arr = 1.0 + rng.uniform(-0.5, 0.5, size=shape)
        elif name.endswith(".bias"):
            arr = rng.normal(0.0, 0.1, size=shape)
        elif name == "model.embed_tokens.weight":
            arr = rng.normal(0.0, 0.3, size=shape)
        else:
            arr = rng.normal(0.0, 0.1, size=shape)
        state[name] = arr.astype(np.float32)
    return state


def write_checkpoint(
    dest: Path,
    config: dict[str, Any],
    state: dict[str, Any],
    tokenizer_json: Path | None,
    *,
    tokenizer_config: dict[str, Any] | None = None,
) -> Path:
    """Write an HF-layout checkpoint directory (tokenizer optional, to build defective ones)."""
    from safetensors.numpy import save_file

    dest.mkdir(parents=True, exist_ok=True)
    write_json_atomic(dest / "config.json", config, sort_keys=True)
    save_file(state, str(dest / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer_json is not None:
        text = tokenizer_json.read_text(encoding="utf-8")
        (dest / "tokenizer.json").write_text(text, encoding="utf-8")
        write_json_atomic(dest / "tokenizer_config.json", tokenizer_config or default_tokenizer_config(), sort_keys=True)
    write_json_atomic(dest / "apr_checkpoint.json", {"name": dest.name, "format": "hf", "source": "exporter-fixture"}, sort_keys=True)
    return dest


def default_tokenizer_config() -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|pad|>",
        "add_bos_token": False,
        "chat_template": "{% for m in messages %}<|endoftext|>{{ m['content'] }}{% endfor %}",
    }


def tiny_checkpoint(
    dest: Path,
    arch: str = "qwen2",
    *,
    tied: bool = True,
    bias: bool | None = None,
    seed: int = 0,
    vocab_rows: int = 2048,
    head_dim: int = 16,
) -> Path:
    """A complete tiny checkpoint: stdlib-trained BPE (2,000 + 1 added token) padded to ``vocab_rows`` rows."""
    from engines.tokenizer.fixtures import stdlib_bpe_tokenizer_json

    tok_dir = dest.parent / f".{dest.name}-tokenizer"
    tok_path = stdlib_bpe_tokenizer_json(tok_dir)
    config = tiny_config(arch, vocab_size=vocab_rows, tied=tied, bias=bias, head_dim=head_dim)
    write_checkpoint(dest, config, random_state(config, seed), tok_path)
    return dest


