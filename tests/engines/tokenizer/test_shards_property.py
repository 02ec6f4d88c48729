"""Property: ShardWriter rotates only between whole documents, at the first boundary at or after N ids."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.tokenizer.shards import ShardWriter, read_shard

np = pytest.importorskip("numpy")


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=30), n=st.integers(min_value=1, max_value=60))
def test_rotation_only_at_document_boundaries(sizes: list[int], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        writer = ShardWriter(out, n)
        units, records, next_id = [], [], 0
        for size in sizes:
            unit = np.arange(next_id, next_id + size, dtype="<u4")
            next_id += size
            units.append(unit)
            records += writer.add([unit])
        if writer.documents:
            records.append(writer.flush())
        shards = [np.asarray(read_shard(out / r["file"])) for r in records]
        assert sum(r["documents"] for r in records) == len(sizes)
        boundaries = {int(x) for x in np.cumsum([0, *sizes])}
        offset, doc = 0, 0
        for index, (record, shard) in enumerate(zip(records, shards, strict=True)):
            assert offset in boundaries  # every shard starts where a document starts
            assert record["tokens"] == shard.size and record["bytes"] == 4 * shard.size
            doc += record["documents"]
            if index < len(records) - 1:  # rotated at the first boundary at or after n ids
                assert shard.size >= n and shard.size - sizes[doc - 1] < n
            offset += shard.size
        joined = np.concatenate(shards) if shards else np.zeros(0, "<u4")
        assert joined.tolist() == list(range(next_id))  # nothing lost, duplicated or reordered
