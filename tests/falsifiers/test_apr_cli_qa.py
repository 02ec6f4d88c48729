"""FALSIFY-QA-001..014 (apr-cli-qa-v1): HELD on the real `apr` and engines, FALSIFIED on one broken one each.

The surface claims (001/005/007/008) get a broken `apr` command line (tests/falsifiers/broken_apr/)
through ``params.apr_cli``; the others a broken exporter (engines/exporter/mutants/qa.py) or trainer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
CONTRACT = SHARED / "apr-cli-qa-v1.yaml"
QA = "FALSIFY-QA-"


def _run(fid: str, tmp_path: Path, name: str, **kwargs: object) -> object:
    ws = tmp_path / name
    ws.mkdir(parents=True, exist_ok=True)
    return run_falsifier(fid, workspace=ws, contract_file=CONTRACT if CONTRACT.is_file() else None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("num", "broken_cli"), [
    ("001", "help_crash"),      # a '%' in an option's help: `apr convert --help` crashes
    ("005", "stale_version"),   # --version names HEAD~1 (installed from an older commit)
    ("007", "json_ignored"),    # inspect parses --format json and prints text anyway
    ("008", "phantom"),         # `apr serve` registered, its handler only raises NotImplementedError
])
def test_surface_held_on_apr_falsified_on_broken_cli(num: str, broken_cli: str, tmp_path: Path) -> None:
    good = _run(QA + num, tmp_path, "real")
    assert good.outcome is Outcome.HELD, good.message  # type: ignore[attr-defined]
    bad = _run(QA + num, tmp_path, "broken", params={"apr_cli": f"tests.falsifiers.broken_apr.{broken_cli}"})
    assert bad.outcome is Outcome.FALSIFIED, bad.message  # type: ignore[attr-defined]


@pytest.mark.parametrize(("num", "engine", "mutant", "says"), [
    ("002", "exporter", "broken-qa-missing-as-gguf", "returned QaReport instead of refusing"),
    ("003", "exporter", "broken-qa-raw-f32-details", "f32 artifacts"),
    ("004", "exporter", "broken-run-divides-by-temperature", "non-finite log-probabilities"),
    ("006", "exporter", "broken-qa-warn-only-gates", "exit-code lie"),
    ("009", "trainer", "broken-inspect-safetensors-as-config", "safetensors"),
    ("010", "exporter", "broken-qa-arch-from-class", "Qwen2ForCausalLM"),
    ("011", "exporter", "broken-parity-absent-fails", "no reference anywhere: QA-FORMAT-PARITY is FAIL"),
    ("012", "exporter", "broken-parity-explicit-falls-back", "(absent): PASS"),  # fell back to the checkpoint beside the GGUF
    ("013", "exporter", "broken-parity-no-floor", "--max-tokens 8: 8 steps"),
    ("014", "exporter", "broken-parity-first-step-only", "diverge at step 32: PASS"),
])
def test_held_on_real_engine_falsified_on_mutant(num: str, engine: str, mutant: str, says: str, tmp_path: Path) -> None:
    good = _run(QA + num, tmp_path, "real")
    assert good.outcome is Outcome.HELD, good.message  # type: ignore[attr-defined]
    bad = _run(QA + num, tmp_path, "broken", engines={engine: mutant})
    assert bad.outcome is Outcome.FALSIFIED, bad.message  # type: ignore[attr-defined]
    assert says in bad.message, bad.message  # type: ignore[attr-defined]


def test_decode_floor_boundary() -> None:
    from engines.exporter.format_parity import DECODE_FLOOR, FormatParity

    parity = FormatParity()
    assert DECODE_FLOOR == 64
    assert [parity.steps_for(n) for n in (None, 0, 63, 64, 65)] == [64, 64, 64, 64, 65]


def test_near_tie_boundary_and_short_comparison() -> None:
    from engines.exporter.format_parity import NEAR_TIE_COSINE, DecodeStep, FormatParity

    judge = FormatParity().judge
    base = [DecodeStep(i, 1, 1, 1.0) for i in range(64)]
    for cosine, status in ((NEAR_TIE_COSINE, "PASS"), (0.98 - 1e-6, "FAIL"), (0.98 + 1e-6, "PASS")):
        steps = [*base[:40], DecodeStep(40, 1, 2, cosine), *base[41:]]
        assert judge(steps, 64).status == status, cosine
    assert judge(base[:63], 64).status == "FAIL"  # 63 of the 64 wanted steps: not enough
    assert judge(base, 64).status == "PASS"


def test_version_outside_a_clone_has_no_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engines import cli

    monkeypatch.setattr(cli, "__file__", str(tmp_path / "engines" / "cli.py"))  # no .git above it
    assert "(" not in cli._version()
