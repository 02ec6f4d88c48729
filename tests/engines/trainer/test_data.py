"""Shards: clear refusals for truncated/oversized data, document-disjoint split, deterministic windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engines.errors import UsageError
from engines.trainer.data import (
    DataError,
    WindowSampler,
    check_ids,
    open_shards,
    split_documents,
    validation_windows,
    whole,
)


def _shard(path: Path, ids: list[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.asarray(ids, dtype="<u4").tofile(path)
    return path


def test_truncated_shard_refused(tmp_path: Path) -> None:
    path = _shard(tmp_path / "d" / "shard-00000.bin", list(range(10)))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match="not a multiple of 4"):
        open_shards([tmp_path / "d"])


def test_missing_shard_or_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no such file or folder: .*nope\.bin") as missing:
        open_shards([tmp_path / "nope.bin"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"empty: no shard-\*\.bin files") as empty:
        open_shards([tmp_path / "empty"])
    assert missing.value.exit_code == empty.value.exit_code == 2


def test_manifest_count_mismatch_refused(tmp_path: Path) -> None:
    _shard(tmp_path / "d" / "shard-00000.bin", list(range(10)))
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({"shards": [{"file": "shard-00000.bin", "tokens": 12}]}))
    with pytest.raises(DataError, match="records 12"):
        open_shards([tmp_path / "d"])


def test_id_out_of_vocab_is_located(tmp_path: Path) -> None:
    shards = open_shards([_shard(tmp_path / "a.bin", [1, 2, 3, 99, 4])])
    check_ids(shards, 100)
    with pytest.raises(DataError, match="token id 99 at position 3") as err:
        check_ids(shards, 99)
    assert err.value.falsifier == "FALSIFY-APR-PRETRAIN-ARCH-010"


def test_split_is_disjoint_by_document(tmp_path: Path) -> None:
    eos = 0
    docs = [[d + 1] * (5 + d) + [eos] for d in range(40)]  # doc d is made of token d+1
    shards = open_shards([_shard(tmp_path / "a.bin", [t for doc in docs for t in doc])])
    split = split_documents(shards, eos)
    arr = np.asarray(shards.arrays[0])
    val_tokens = {int(t) for _, s, e in split.val for t in arr[s:e]} - {eos}
    train_tokens = {int(t) for _, s, e in split.train for t in arr[s:e]} - {eos}
    assert val_tokens == {20, 40} and not (val_tokens & train_tokens)
    assert split.val_documents == 2 and "2 of 40" in split.description


def test_split_without_eos_falls_back_and_says_so(tmp_path: Path) -> None:
    shards = open_shards([_shard(tmp_path / "a.bin", list(range(1, 201)))])
    split = split_documents(shards, eos_id=None)
    assert "by position" in split.description and split.val == [(0, 190, 200)]


def test_windows_depend_on_seed_and_step_only(tmp_path: Path) -> None:
    shards = open_shards([_shard(tmp_path / "a.bin", list(range(1000)))])
    a, b = WindowSampler(shards, whole(shards), 16, seed=3), WindowSampler(shards, whole(shards), 16, seed=3)
    assert np.array_equal(a.global_batch(5, 4), b.global_batch(5, 4))
    assert not np.array_equal(a.global_batch(5, 4), a.global_batch(6, 4))
    batch = a.global_batch(0, 8)
    assert batch.shape == (8, 17) and np.all(np.diff(batch, axis=1) == 1)  # contiguous windows


def test_too_short_for_a_window(tmp_path: Path) -> None:
    shards = open_shards([_shard(tmp_path / "a.bin", list(range(10)))])
    with pytest.raises(DataError, match="seq-length 16"):
        WindowSampler(shards, whole(shards), 16, seed=0)
    with pytest.raises(DataError, match="validation set has 10 tokens"):
        validation_windows(shards, whole(shards), 16, 1000)
