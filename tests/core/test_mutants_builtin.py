"""The built-in catalogue under `pv mutants --mode targeted`: every declared pair of our own contracts kills."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_targeted_mode_over_our_contracts_kills_every_mutant_it_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """~60 s on 2 cores. Reference-contract pairs are measured by running it on ../shared."""
    code = pv(["mutants", str(REPO / "contracts"), "--mode", "targeted", "--jobs", "2",
               "--evidence", str(tmp_path / "evidence.sqlite"), "--format", "json", "--fail-on", "survivor"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data["findings"]
    overall = data["scores"]["overall"]
    assert (overall["score"], overall["survived"], overall["pair_errors"]) == (100.0, 0, 0), overall
    assert overall["killed"] >= 50
    assert not (tmp_path / "evidence.sqlite").exists()  # only the mutants store is written
    assert (tmp_path / "mutants.db").is_file()
