"""`apr export|qa|bench` through the dispatcher: exit codes, JSON outputs, receipts."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import statistics
from pathlib import Path

import pytest

from engines.cli import main

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None


def test_export_qa_exit_codes(qwen2_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.gguf"
    assert main(["export", str(qwen2_ckpt), "--format", "gguf", "-o", str(out), "--dtype", "f32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["arch"] == "qwen2" and result["verified"] is True and result["n_placeholders"] == 47
    assert main(["export", str(qwen2_ckpt), "-o", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["export", str(qwen2_ckpt), "-o", str(tmp_path / "m.bin")]) == 2
    assert main(["export", str(qwen2_ckpt), "-o", str(out), "--dtype", "q2"]) == 2
    capsys.readouterr()
    assert main(["qa", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "gguf" and report["ok"] is True
    out.write_bytes(out.read_bytes()[:1000])
    assert main(["qa", str(out)]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["qa", str(tmp_path / "absent.gguf")]) == 2  # a missing input is a usage error, as in pv
    assert "no such file or folder" in capsys.readouterr().err


def test_bench_checkpoint_receipt(qwen2_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    receipt_path = tmp_path / "receipt.json"
    args = ["bench", str(qwen2_ckpt), "--format", "json", "--repeats", "3", "--prompt-tokens", "32",
            "--decode-tokens", "4", "--threads", "1", "-o", str(receipt_path)]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(receipt_path.read_text()) == printed
    assert printed["runtime"]["engine"] == "torch" and printed["threads"] == 1
    for phase in ("prefill", "decode"):
        samples = printed[phase]["tokens_per_s"]
        assert len(samples) == 3 and printed[phase]["median_tokens_per_s"] == pytest.approx(statistics.median(samples), rel=1e-3)
    weights = qwen2_ckpt / "model.safetensors"
    assert printed["model"]["files"]["model.safetensors"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert main(args) == 1  # the receipt exists: refuse without --force
    assert main(["bench", str(qwen2_ckpt), "--repeats", "0"]) == 2


def test_bench_gguf(qwen2_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.gguf"
    assert main(["export", str(qwen2_ckpt), "-o", str(out)]) == 0
    capsys.readouterr()
    code = main(["bench", str(out), "--format", "json", "--repeats", "2", "--prompt-tokens", "32", "--decode-tokens", "4"])
    if not HAS_LLAMA:
        assert code == 1 and "llama_cpp is not importable" in capsys.readouterr().err
        return
    assert code == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["runtime"]["engine"] == "llama.cpp" and receipt["model"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
