"""chinchilla-gate-v1 (FALSIFY-CHINCHILLA-*): FALSIFIED against a deliberately broken trainer, HELD against the real one.

Every check runs `apr pretrain` in a subprocess (preflight, or a 2-step --synthetic run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REF = "FALSIFY-CHINCHILLA-"


def _check(falsifier_id: str, mutant: str, tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "real").mkdir()
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def test_001_under_provisioned_init_refused(tmp_path: Path) -> None:
    _check(REF + "001", "broken-chinchilla-init-exempt", tmp_path)


def test_002_bypass_is_logged(tmp_path: Path) -> None:
    _check(REF + "002", "broken-chinchilla-silent-force", tmp_path)


def test_003_synthetic_without_init_not_gated(tmp_path: Path) -> None:
    _check(REF + "003", "broken-chinchilla-gates-synthetic", tmp_path)


def test_004_boundary_at_10n(tmp_path: Path) -> None:
    # 10·N, 10·N + 1 pass; 10·N - 1 and 9.99·N are refused (the rounded-ratio mutant lets both through).
    _check(REF + "004", "broken-chinchilla-rounded-ratio", tmp_path)


def test_005_warning_band(tmp_path: Path) -> None:
    # 20·N exactly is silent, 20·N - 1 warns, 10·N warns and proceeds.
    _check(REF + "005", "broken-chinchilla-no-warn-band", tmp_path)


@pytest.mark.parametrize("mutant", ["broken-floor-inclusive", "broken-optimal-exclusive"])
def test_existing_boundary_mutants_also_caught(mutant: str, tmp_path: Path) -> None:
    """The bounds on the dot: exactly 10·N (004) and exactly 20·N (005) under --init."""
    falsifier_id = REF + ("004" if mutant == "broken-floor-inclusive" else "005")
    got = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path)
    assert got.outcome is Outcome.FALSIFIED, got.message
