"""The exporter engine in-process: real GGUFs read back, bad inputs refused without partial files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engines.errors import AprError
from engines.exporter import layout, readback
from engines.exporter.engine import GGUFExporter
from engines.exporter.mutants import DropsRopeBase, PadsAfterBPE
from engines.exporter.tokmeta import tokenizer_meta


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
@pytest.mark.parametrize("dtype,file_type", [("f32", 0), ("f16", 1), ("q8_0", 7)])
def test_export_reads_back_complete(ckpt_root: Path, tmp_path: Path, arch: str, dtype: str, file_type: int) -> None:
    out = tmp_path / f"{arch}.gguf"
    result = GGUFExporter().export(ckpt_root / arch, out, dtype=dtype)
    assert result.verified and result.n_tokens == 2048 and result.n_placeholders == 47
    info = readback.read_gguf(out)
    hp = layout.hparams_from_config(json.loads((ckpt_root / arch / "config.json").read_text()))
    assert readback.check_gguf(info, hp) == []
    assert info.values["general.architecture"] == arch
    assert info.values["general.file_type"] == file_type
    types = {t for _, t in info.tensors.values()}
    assert "F32" in types  # norms and biases always F32
    assert ({"F32": set(), "F16": {"F16"}, "Q8_0": {"Q8_0"}}[dtype.upper()] <= types)


def test_untied_llama_with_biases(ckpt_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gguf"
    GGUFExporter().export(ckpt_root / "llama-untied-bias", out, dtype="f32")
    info = readback.read_gguf(out)
    assert "output.weight" in info.tensors and "blk.1.attn_output.bias" in info.tensors


def test_tokenizer_metadata_and_chat_template_survive(qwen2_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gguf"
    GGUFExporter().export(qwen2_ckpt, out, dtype="f16")
    values = readback.read_gguf(out).values
    tok_config = json.loads((qwen2_ckpt / "tokenizer_config.json").read_text())
    assert values["tokenizer.chat_template"] == tok_config["chat_template"]
    assert values["tokenizer.ggml.eos_token_id"] == 0 and values["tokenizer.ggml.padding_token_id"] == 2000
    assert values["tokenizer.ggml.tokens"][2000] == "<|pad|>" and values["tokenizer.ggml.token_type"][2000] == 3
    assert values["tokenizer.ggml.add_bos_token"] is False


def test_refuses_overwrite_and_bad_paths(qwen2_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gguf"
    out.write_bytes(b"keep")
    with pytest.raises(AprError, match="refusing to overwrite") as err:
        GGUFExporter().export(qwen2_ckpt, out)
    assert err.value.exit_code == 1 and out.read_bytes() == b"keep"
    GGUFExporter().export(qwen2_ckpt, out, force=True)
    assert out.read_bytes()[:4] == b"GGUF"
    with pytest.raises(AprError, match="does not exist"):
        GGUFExporter().export(qwen2_ckpt, tmp_path / "missing" / "m.gguf")
    with pytest.raises(AprError, match="not a checkpoint directory"):
        GGUFExporter().export(tmp_path / "nope", tmp_path / "x.gguf")
    with pytest.raises(AprError) as bad:
        GGUFExporter().export(qwen2_ckpt, tmp_path / "y.gguf", dtype="q4_0")
    assert bad.value.exit_code == 2


@pytest.mark.parametrize("damage,message", [
    ("tokenizer", "no embedded tokenizer"),
    ("config", "no architecture metadata"),
    ("rms_norm_eps", "rms_norm_eps"),  # not inferable from tensors (hidden_size is: see FALSIFY-EXPORT-NUM-LAYERS-002)
    ("arch", "unknown architecture"),
    ("tensor", "lack 1 tensor"),
    ("shape", "has shape"),
])
def test_defective_checkpoints_leave_no_file(qwen2_ckpt: Path, tmp_path: Path, damage: str, message: str) -> None:
    from safetensors.numpy import load_file, save_file

    config_path = qwen2_ckpt / "config.json"
    config = json.loads(config_path.read_text())
    if damage == "tokenizer":
        (qwen2_ckpt / "tokenizer.json").unlink()
    elif damage == "config":
        config_path.unlink()
    elif damage in ("rms_norm_eps", "arch"):
        if damage == "rms_norm_eps":
            del config["rms_norm_eps"]
        else:
            config.update(model_type="gpt_neox", architectures=["GPTNeoXForCausalLM"])
        config_path.write_text(json.dumps(config))
    else:
        state = load_file(str(qwen2_ckpt / "model.safetensors"))
        if damage == "tensor":
            del state["model.layers.1.mlp.up_proj.weight"]
        else:
            state["model.norm.weight"] = np.ones(3, dtype=np.float32)
        save_file(state, str(qwen2_ckpt / "model.safetensors"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(AprError, match=message):
        GGUFExporter().export(qwen2_ckpt, out_dir / "m.gguf")
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("mutant,item", [(DropsRopeBase, "qwen2.rope.freq_base"), (PadsAfterBPE, "tokenizer.ggml.tokens")])
def test_self_check_refuses_a_broken_writer(qwen2_ckpt: Path, tmp_path: Path, mutant: type, item: str) -> None:
    out = tmp_path / "m.gguf"
    with pytest.raises(AprError, match=item) as err:
        mutant().export(qwen2_ckpt, out)
    assert err.value.falsifier == "FALSIFY-EXPORT-GGUF-010"
    assert not out.exists() and _leftovers(tmp_path) == []
    mutant().export(qwen2_ckpt, out, verify=False)  # the raw writer output does exist...
    hp = layout.hparams_from_config(json.loads((qwen2_ckpt / "config.json").read_text()))
    problems = GGUFExporter().verify(out, hp, tokenizer_meta(qwen2_ckpt))
    assert any(item in str(p) for p in problems), problems  # ...and the check names the defect


def test_export_then_import_restores_the_weights(llama_ckpt: Path, tmp_path: Path) -> None:
    """export (permute) -> trainer's `apr import` (unpermute) is the identity; chat template survives."""
    from safetensors.numpy import load_file

    from engines.trainer.importer import import_model

    gguf = tmp_path / "m.gguf"
    GGUFExporter().export(llama_ckpt, gguf, dtype="f32")
    back = tmp_path / "back"
    import_model(gguf, back)
    original = load_file(str(llama_ckpt / "model.safetensors"))
    restored = load_file(str(back / "model.safetensors"))
    assert set(original) == set(restored)
    for name, array in original.items():
        assert np.array_equal(array, restored[name]), name
    before = json.loads((llama_ckpt / "tokenizer_config.json").read_text())
    after = json.loads((back / "tokenizer_config.json").read_text())
    assert after["chat_template"] == before["chat_template"] and after["eos_token"] == before["eos_token"]


def test_unplaceable_tensor_is_a_clear_error(qwen2_ckpt: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    state = load_file(str(qwen2_ckpt / "model.safetensors"))
    state["model.layers.0.mlp.experts.0.weight"] = np.zeros((2, 2), dtype=np.float32)
    save_file(state, str(qwen2_ckpt / "model.safetensors"))
    with pytest.raises(AprError, match="no GGUF counterpart"):
        GGUFExporter().export(qwen2_ckpt, tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists() and _leftovers(tmp_path) == []


def test_chat_template_from_jinja_file(qwen2_ckpt: Path, tmp_path: Path) -> None:
    config_path = qwen2_ckpt / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    del config["chat_template"]
    config_path.write_text(json.dumps(config))
    (qwen2_ckpt / "chat_template.jinja").write_text("{{ messages[0]['content'] }}", encoding="utf-8")
    GGUFExporter().export(qwen2_ckpt, tmp_path / "m.gguf")
    assert readback.read_gguf(tmp_path / "m.gguf").values["tokenizer.chat_template"] == "{{ messages[0]['content'] }}"
