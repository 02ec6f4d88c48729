"""Shared fixtures for the trainer tests: a real small BPE and standard-library shards, built once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tokenizer.json (2,001 ids) + train shards (60 files) + val shards (20 other files)."""
    from engines.trainer.fixtures import small_tokenizer, stdlib_shards

    root = tmp_path_factory.mktemp("trainer-corpus")
    tok = small_tokenizer(root / "tok" / "tokenizer.json")
    return {
        "tokenizer": tok,
        "train": stdlib_shards(root / "train", tok, start=0, count=60, max_chars=6000),
        "val": stdlib_shards(root / "val", tok, start=60, count=20, max_chars=6000),
        "root": root,
    }


def run_apr(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            launcher: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """`apr ARGS` in a subprocess (or under ``launcher``, e.g. torchrun)."""
    cmd = [*(launcher or [sys.executable]), "-m", "engines.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})},
                          timeout=600, check=False)


TINY = ("--arch", "tiny", "--vocab-size", "2001", "--force-under-provisioned", "--no-progress", "--threads", "2")
