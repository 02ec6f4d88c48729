"""Every tokenizer falsifier: FALSIFIED against its deliberately broken engine, HELD against the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

pytest.importorskip("tokenizers")
pytest.importorskip("numpy")


def check(falsifier_id: str, mutant: str, tmp_path: Path) -> None:
    broken = run_falsifier(falsifier_id, engines={"tokenizer": mutant}, workspace=_ws(tmp_path / "mutant"))
    assert broken.outcome is Outcome.FALSIFIED, (broken.outcome, broken.message, broken.traceback)
    real = run_falsifier(falsifier_id, workspace=_ws(tmp_path / "real"))
    assert real.outcome is Outcome.HELD, (real.outcome, real.message, real.traceback)


def _ws(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_import_hf_001(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-001", "broken-forgets-manifest", tmp_path)


def test_import_hf_002(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-002", "broken-empty-merges", tmp_path)


def test_import_hf_003(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-003", "broken-ignores-added-tokens", tmp_path)


def test_import_hf_004(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-004", "broken-drops-last-merge", tmp_path)


def test_import_hf_005(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-005", "broken-validates-after-writing", tmp_path)


def test_import_hf_006(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-006", "broken-renumbers-added-tokens", tmp_path)


def test_import_hf_007(tmp_path: Path) -> None:
    check("FALSIFY-TOK-IMPORT-HF-007", "broken-hashes-parsed-json", tmp_path)


def test_encode_corpus_001(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-001", "broken-eos-between-as-after", tmp_path)


def test_encode_corpus_002(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-002", "broken-splits-documents", tmp_path)


def test_encode_corpus_003(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-003", "broken-vocab-size-ignores-added", tmp_path)


def test_encode_corpus_004(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-004", "broken-hashes-int64", tmp_path)


def test_encode_corpus_005(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-005", "broken-adds-special-tokens", tmp_path)


def test_encode_corpus_006(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-006", "broken-resume-skips-a-document", tmp_path)


def test_encode_corpus_007(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-007", "broken-resume-ignores-tokenizer", tmp_path)


def test_encode_corpus_008(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-008", "broken-fastpath-unverified", tmp_path)


def test_encode_corpus_009(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-009", "broken-drops-bad-lines", tmp_path)


def test_encode_corpus_010(tmp_path: Path) -> None:
    check("FALSIFY-TOK-ENCODE-CORPUS-010", "broken-verify-counts-only", tmp_path)


def test_every_tokenizer_mutant_is_used_by_a_test() -> None:
    """A registered mutant that no test exercises would be dead weight (or a forgotten falsifier)."""
    from engines.tokenizer.mutants import MUTANTS

    source = Path(__file__).read_text(encoding="utf-8")
    assert [name for name in MUTANTS if f'"{name}"' not in source] == []
