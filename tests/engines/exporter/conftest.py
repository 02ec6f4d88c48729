"""Shared exporter fixtures: tiny real checkpoints (stdlib-trained BPE, random weights), built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ckpt_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engines.exporter.fixtures import tiny_checkpoint

    root = tmp_path_factory.mktemp("exporter-ckpts")
    tiny_checkpoint(root / "qwen2", "qwen2")
    tiny_checkpoint(root / "llama", "llama")
    tiny_checkpoint(root / "llama-untied-bias", "llama", tied=False, bias=True, seed=3)
    return root


@pytest.fixture
def qwen2_ckpt(ckpt_root: Path, tmp_path: Path) -> Path:
    """A private copy (tests may damage it)."""
    return Path(shutil.copytree(ckpt_root / "qwen2", tmp_path / "qwen2"))


@pytest.fixture
def llama_ckpt(ckpt_root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(ckpt_root / "llama", tmp_path / "llama"))
