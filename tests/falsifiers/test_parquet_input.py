"""apr-cli-tokenize-encode-corpus-parquet-v1 (FALSIFY-PARQ-INPUT-001..004): HELD on the real tokenizer
engine, FALSIFIED on a mutant with the one defect each claim forbids."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

pytest.importorskip("pyarrow")

PARQ = "FALSIFY-PARQ-INPUT-"


def _ws(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(("number", "mutant"), [
    ("001", "broken-parquet-suffix-case-sensitive"),
    ("002", "broken-parquet-first-row-group-only"),
    ("003", "broken-guesses-parquet-column"),
    ("004", "broken-encodes-mixed-folder"),
])
def test_held_on_real_engine_falsified_on_mutant(tmp_path: Path, number: str, mutant: str) -> None:
    real = run_falsifier(PARQ + number, workspace=_ws(tmp_path / "real"))
    assert real.outcome is Outcome.HELD, real.message
    broken = run_falsifier(PARQ + number, engines={"tokenizer": mutant}, workspace=_ws(tmp_path / "broken"))
    assert broken.outcome is Outcome.FALSIFIED, broken.message


def test_discover_prefers_parquet_only_inside_folders(tmp_path: Path) -> None:
    from engines.tokenizer.corpus import discover, input_format

    (tmp_path / "d").mkdir()
    for name in ("a.jsonl", "b.PARQUET", "c.parquet"):
        (tmp_path / "d" / name).write_text("")
    files, ignored = discover([tmp_path / "d"])
    assert [p.name for p in files] == ["b.PARQUET", "c.parquet"] and [p.name for p in ignored] == ["a.jsonl"]
    named, none = discover([tmp_path / "d" / "a.jsonl", tmp_path / "d" / "c.parquet"])  # one by one: both
    assert len(named) == 2 and not none and input_format(named) == "mixed"
