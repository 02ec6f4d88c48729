"""tokmeta.py: pre-tokenizer detection on real tokenizers, padding, special ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.exporter import tokmeta
from engines.exporter.tokmeta import CONTROL, NORMAL, UNUSED, USER_DEFINED


def _pre(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["pre_tokenizer"]


def test_detect_pre_on_real_tokenizers(tmp_path: Path) -> None:
    from engines.tokenizer import fixtures

    assert tokmeta.detect_pre(_pre(fixtures.stdlib_bpe_tokenizer_json(tmp_path / "s"))) == "qwen2"
    assert tokmeta.detect_pre(_pre(fixtures.gpt2_tokenizer_json(tmp_path / "g"))) == "gpt-2"
    smollm = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    assert tokmeta.detect_pre(smollm) == "smollm"


def test_unknown_pre_tokenizers_are_refused(tmp_path: Path) -> None:
    from engines.tokenizer import fixtures

    with pytest.raises(tokmeta.TokenizerMetaError, match=r"no llama\.cpp pre-tokenizer"):
        tokmeta.detect_pre(_pre(fixtures.wordpiece_tokenizer_json(tmp_path / "w")))
    with pytest.raises(tokmeta.TokenizerMetaError):
        tokmeta.detect_pre({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"},
            {"type": "ByteLevel", "use_regex": False}]})


def test_pad_vocab_keeps_ids_and_fills_holes() -> None:
    by_id = {0: ("a", NORMAL), 1: ("b", NORMAL), 3: ("<|eot|>", CONTROL), 4: ("<t>", USER_DEFINED)}
    tokens, types = tokmeta.pad_vocab(by_id, 8)
    assert tokens == ["a", "b", "[PAD2]", "<|eot|>", "<t>", "[PAD5]", "[PAD6]", "[PAD7]"]
    assert types == [NORMAL, NORMAL, UNUSED, CONTROL, USER_DEFINED, UNUSED, UNUSED, UNUSED]
    with pytest.raises(tokmeta.TokenizerMetaError, match="only 4 embedding rows"):
        tokmeta.pad_vocab(by_id, 4)


def test_tokenizer_meta_of_a_checkpoint(qwen2_ckpt: Path) -> None:
    meta = tokmeta.tokenizer_meta(qwen2_ckpt)
    assert meta.model == "gpt2" and meta.pre == "qwen2"
    assert meta.by_id[0] == ("<|endoftext|>", CONTROL)
    assert meta.by_id[2000] == ("<|pad|>", CONTROL)
    assert meta.size == 2001 and meta.added_ids == [0, 2000]
    assert meta.special_ids == {"eos": 0, "padding": 2000}
    assert meta.chat_template and "<|endoftext|>" in meta.chat_template
    assert all(" " in m for m in meta.merges)  # pairs saved by tokenizers 0.23 become "a b"


def test_tokenizer_meta_refusals(qwen2_ckpt: Path, tmp_path: Path) -> None:
    from engines.tokenizer import fixtures

    (qwen2_ckpt / "tokenizer.json").unlink()
    with pytest.raises(tokmeta.TokenizerMetaError, match="no embedded tokenizer"):
        tokmeta.tokenizer_meta(qwen2_ckpt)
    fixtures.wordpiece_tokenizer_json(qwen2_ckpt)
    with pytest.raises(tokmeta.TokenizerMetaError, match="only byte-level BPE"):
        tokmeta.tokenizer_meta(qwen2_ckpt)
