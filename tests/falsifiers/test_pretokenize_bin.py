"""pretokenize-bin-v1: every FALSIFY-PRETOK-* HELD on the real tokenizer + trainer engines and FALSIFIED
on a mutant with that one defect (a producer mutant for the tokenizer, a loader mutant for the trainer)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
ID = "FALSIFY-PRETOK-"

CASES = [  # (id, engine kind, mutant, a phrase of its refutation)
    # boundary: an id equal to the vocab size passes verify-shards' scan when it compares with `>`
    ("001", "tokenizer", "broken-verify-vocab-inclusive", "one id = 2002 (vocab size 2002) exited 0"),
    ("002", "trainer", "broken-loader-drops-fragment", "of 4k+1 bytes: the trainer's loader did not refuse it"),
    ("003", "trainer", "broken-loader-skips-header", "differs from the intended one at id 0"),
    ("004", "tokenizer", "broken-shuffles-unseeded", "runs differ from byte"),
    ("005", "tokenizer", "broken-big-endian-shards", "shard sha256 differs"),
    ("006", "tokenizer", "broken-hash-not-reset", "manifest sha256 wrong for shard(s) [1"),
]


@pytest.mark.parametrize("number", ["001", "002", "003", "004", "005", "006"])
def test_holds_on_the_real_engines(tmp_path: Path, number: str) -> None:
    got = run_falsifier(ID + number, workspace=tmp_path / "w")
    assert got.outcome is Outcome.HELD, got.message


@pytest.mark.parametrize(("number", "kind", "mutant", "phrase"), CASES)
def test_falsified_by_its_mutant(tmp_path: Path, number: str, kind: str, mutant: str, phrase: str) -> None:
    got = run_falsifier(ID + number, engines={kind: mutant}, workspace=tmp_path / "w")
    assert got.outcome is Outcome.FALSIFIED, got.message
    assert phrase in got.message


def test_boundary_ids_are_measured() -> None:
    """FALSIFY-PRETOK-001 probes V-1 (passes), V and V+1 (reported); 002 probes 4k, 4k+1..4k+3 and 4k+4."""
    held = run_falsifier(ID + "001")
    assert {"verify_exit_id_2001": 0, "verify_exit_id_2002": 1, "verify_exit_id_2003": 1}.items() <= \
        (held.measured or {}).items()
    aligned = run_falsifier(ID + "002").measured or {}
    assert [aligned[f"4k+{k}"]["loader_refused"] for k in range(5)] == [False, True, True, True, False]


def test_every_id_of_the_reference_contract_is_bound() -> None:
    path = SHARED / "pretokenize-bin-v1.yaml"
    if not path.is_file():
        pytest.skip("reference contracts not present")
    from apr_contracts.plugins import load_plugins
    from falsifiers.aprender.pretokenize_bin import CONTRACT

    ids = [t["id"] for t in yaml.safe_load(path.read_text(encoding="utf-8"))["falsification"]]
    assert len(ids) == 6 and all(load_plugins().falsifiers.get(CONTRACT, i) is not None for i in ids)
