"""`apr qa` gates: PASS only for what was checked, FAIL with a reason, SKIP naming what is missing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from engines.exporter import qa
from engines.exporter.engine import GGUFExporter

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None


def _status(report: qa.QaReport) -> dict[str, str]:
    return {g.id: g.status for g in report.gates}


def test_good_checkpoint_passes_every_applicable_gate(qwen2_ckpt: Path) -> None:
    report = GGUFExporter().qa(qwen2_ckpt)
    assert _status(report) == {gate: "PASS" for gate in qa.GATES} | {qa.G_READBACK: "SKIP", qa.G_PARITY: "SKIP",
                                                                     qa.G_LLAMA_PARITY: "SKIP"}
    assert report.ok
    decode = report.gate(qa.G_DECODE)
    assert len(decode.details["ids"]) == qa.DECODE_TOKENS and max(decode.details["ids"]) < 2048
    data = report.to_json()
    assert data["summary"] == {"PASS": len(qa.GATES) - 3, "FAIL": 0, "SKIP": 3} and data["version"] == 1


def test_good_gguf_passes(qwen2_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gguf"
    GGUFExporter().export(qwen2_ckpt, out, dtype="q8_0")
    status = _status(GGUFExporter().qa(out))
    expected_decode = "PASS" if HAS_LLAMA else "SKIP"
    # No reference checkpoint beside m.gguf (and none given): the format-parity gate skips.
    assert status == {gate: "PASS" for gate in qa.GATES} | {qa.G_DECODE: expected_decode, qa.G_PARITY: "SKIP",
                                                            qa.G_LLAMA_PARITY: "SKIP"}


@pytest.mark.parametrize("dtype", ["f16", "q8_0"])
def test_gguf_beside_its_checkpoint_passes_format_parity(qwen2_ckpt: Path, dtype: str) -> None:
    out = qwen2_ckpt.with_name(f"{qwen2_ckpt.name}-{dtype}.gguf")
    GGUFExporter().export(qwen2_ckpt, out, dtype=dtype, force=True)
    gate = GGUFExporter().qa(out, reference=qwen2_ckpt).gate(qa.G_PARITY)
    assert gate.status == "PASS", gate.reason
    assert gate.details["steps_compared"] == 64


def test_missing_tokenizer_fails_and_dependent_gates_skip(qwen2_ckpt: Path) -> None:
    (qwen2_ckpt / "tokenizer.json").unlink()
    report = GGUFExporter().qa(qwen2_ckpt)
    status = _status(report)
    assert status[qa.G_TOKENIZER] == "FAIL" and "tokenizer.json is missing" in report.gate(qa.G_TOKENIZER).reason
    assert status[qa.G_ROUNDTRIP] == "SKIP" and status[qa.G_DECODE] == "SKIP"
    assert not report.ok


def test_checkpoint_without_eos_fails_the_tokenizer_gate(qwen2_ckpt: Path) -> None:
    """A from-scratch checkpoint once carried no EOS: qa passed it and only export refused it."""
    config = json.loads((qwen2_ckpt / "config.json").read_text())
    config["eos_token_id"] = None
    (qwen2_ckpt / "config.json").write_text(json.dumps(config))
    tok_config_path = qwen2_ckpt / "tokenizer_config.json"
    if tok_config_path.exists():
        tok_config = json.loads(tok_config_path.read_text())
        tok_config.pop("eos_token", None)
        tok_config_path.write_text(json.dumps(tok_config))
    report = GGUFExporter().qa(qwen2_ckpt)
    gate = report.gate(qa.G_TOKENIZER)
    assert gate.status == "FAIL" and "no EOS token declared" in gate.reason
    assert not report.ok


def test_incomplete_metadata_fails_and_nothing_is_passed_unchecked(qwen2_ckpt: Path) -> None:
    config = json.loads((qwen2_ckpt / "config.json").read_text())
    del config["num_hidden_layers"]
    (qwen2_ckpt / "config.json").write_text(json.dumps(config))
    report = GGUFExporter().qa(qwen2_ckpt)
    status = _status(report)
    assert status[qa.G_METADATA] == "FAIL" and "num_hidden_layers" in report.gate(qa.G_METADATA).reason
    assert status[qa.G_TENSORS] == status[qa.G_FINITE] == status[qa.G_DECODE] == "SKIP"


@pytest.mark.parametrize("damage,gate", [("nan", qa.G_FINITE), ("drop", qa.G_TENSORS)])
def test_bad_weights_fail(qwen2_ckpt: Path, damage: str, gate: str) -> None:
    from safetensors.numpy import load_file, save_file

    state = load_file(str(qwen2_ckpt / "model.safetensors"))
    if damage == "nan":
        state["model.layers.0.mlp.up_proj.weight"][3, 5] = np.nan
    else:
        del state["model.layers.0.self_attn.k_proj.bias"]
    save_file(state, str(qwen2_ckpt / "model.safetensors"))
    report = GGUFExporter().qa(qwen2_ckpt)
    assert _status(report)[gate] == "FAIL", report.gate(gate)
    assert _status(report)[qa.G_DECODE] == "SKIP"


@pytest.mark.parametrize("cut", [10, 2000, 0.5])
def test_truncated_gguf_fails_cleanly(qwen2_ckpt: Path, tmp_path: Path, cut: float) -> None:
    out = tmp_path / "m.gguf"
    GGUFExporter().export(qwen2_ckpt, out, dtype="f16")
    data = out.read_bytes()
    size = int(len(data) * cut) if cut < 1 else int(cut)
    out.write_bytes(data[:size])
    report = GGUFExporter().qa(out)
    assert report.gate(qa.G_READBACK).status == "FAIL"
    assert not report.ok and all(g.status != "PASS" for g in report.gates)


def test_gguf_missing_silent_key_fails_readback(qwen2_ckpt: Path, tmp_path: Path) -> None:
    from engines.exporter.mutants import DropsPre

    out = tmp_path / "m.gguf"
    DropsPre().export(qwen2_ckpt, out, verify=False)
    report = GGUFExporter().qa(out)
    assert report.gate(qa.G_READBACK).status == "FAIL"
    assert "tokenizer.ggml.pre" in report.gate(qa.G_READBACK).reason
    assert report.gate(qa.G_TOKENIZER).status == "FAIL"  # without pre no tokenizer can be rebuilt


def test_tokenizer_from_gguf_matches_the_checkpoint_tokenizer(qwen2_ckpt: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    from engines.exporter.fixtures import CODE_SAMPLE
    from engines.exporter.readback import read_gguf

    out = tmp_path / "m.gguf"
    GGUFExporter().export(qwen2_ckpt, out, dtype="f16")
    rebuilt = qa.tokenizer_from_gguf(read_gguf(out).values)
    original = Tokenizer.from_file(str(qwen2_ckpt / "tokenizer.json"))
    text = CODE_SAMPLE + "x = 12345  # café <|endoftext|>"
    assert rebuilt.encode(text).ids == original.encode(text, add_special_tokens=False).ids


def test_llama_cpp_parity_gate_fails_on_a_file_llama_cpp_refuses(tmp_path: Path) -> None:
    """Issue 20: QA-FORMAT-PARITY passed 64/64 on a qwen2 head_dim-18 GGUF llama.cpp cannot load."""
    pytest.importorskip("llama_cpp")
    from engines.exporter.fixtures import tiny_checkpoint
    from falsifiers._gguf_reference import write_reference_gguf

    ckpt = tiny_checkpoint(tmp_path / "hd18", "qwen2", head_dim=18)
    gguf = write_reference_gguf(ckpt, tmp_path / "hd18.gguf", "qwen2")
    report = GGUFExporter().qa(gguf, reference=ckpt)
    assert report.gate(qa.G_PARITY).status == "PASS"  # our own reader accepts it: why the gate beside it exists
    gate = report.gate(qa.G_LLAMA_PARITY)
    assert gate.status == "FAIL" and "wrong shape" in gate.reason, gate.reason
    assert not report.ok


def test_llama_cpp_parity_gate_skips_naming_the_package(qwen2_ckpt: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    out = qwen2_ckpt.with_name(f"{qwen2_ckpt.name}-f32.gguf")
    GGUFExporter().export(qwen2_ckpt, out, dtype="f32", force=True)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    gate = GGUFExporter().qa(out, reference=qwen2_ckpt).gate(qa.G_LLAMA_PARITY)
    assert gate.status == "SKIP" and "llama_cpp" in gate.reason and "llama-cpp-python" in gate.reason, gate.reason


def test_export_refuses_qwen2_head_dim_off_hidden_over_heads_and_writes_head_sizes(tmp_path: Path) -> None:
    from engines.errors import AprError
    from engines.exporter.fixtures import tiny_checkpoint
    from falsifiers._export_support import read_gguf

    bad = tiny_checkpoint(tmp_path / "q18", "qwen2", head_dim=18)
    with pytest.raises(AprError, match="head_dim=18"):
        GGUFExporter().export(bad, tmp_path / "q18.gguf", dtype="f32")
    assert not (tmp_path / "q18.gguf").exists()
    for arch, hd in (("llama", 18), ("llama", 16), ("qwen2", 16)):
        ckpt = tiny_checkpoint(tmp_path / f"{arch}{hd}", arch, head_dim=hd)
        out = GGUFExporter().export(ckpt, tmp_path / f"{arch}{hd}.gguf", dtype="f32").path
        values, _ = read_gguf(out)
        assert values[f"{arch}.attention.key_length"] == values[f"{arch}.attention.value_length"] == hd
