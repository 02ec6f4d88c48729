"""Where the shared reference contracts are (skip the tests that need them when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_dir() -> Path | None:
    env = os.environ.get("PV_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO / ".." / "shared")
    for c in candidates:
        if (c / "reference-contracts" / "aprender").is_dir():
            return c.resolve()
    return None


def reference_dir() -> Path:
    found = shared_dir()
    if found is None:
        pytest.skip("../shared/reference-contracts/aprender is absent (set PV_SHARED_DIR to run this test)")
    return found / "reference-contracts" / "aprender"


def reference_files() -> list[Path]:
    found = shared_dir()
    if found is None:
        return []
    return sorted((found / "reference-contracts" / "aprender").rglob("*.yaml"))
