"""Deliberately broken tokenizer engines for repair-manifest and the shard format (one defect each).

Kept apart from :mod:`engines.tokenizer.mutants` (which imports them, so the plugin finds them
there by class name). None merely raises: each exits 0 with a plausible wrong result, or
accepts what it should refuse.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path
from typing import Any

from apr_contracts.hashing import sha256_file
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.shards import ShardWriter


# -- repair-manifest ------------------------------------------------------------------------------
class RepairCountsLeftovers(HFTokenizerEngine):
    """Lists shards by substring ("shard-" and ".bin" in the name, no gap check): an interrupted run's
    temporary ``.shard-NNNNN.bin.*.tmp`` is counted (and recorded) as a shard."""

    def repair_shard_files(self, directory: Path) -> list[Path]:
        return sorted(p for p in directory.iterdir() if "shard-" in p.name and ".bin" in p.name and p.is_file())


class RepairTokensAsBytes(HFTokenizerEngine):
    """Records each shard's byte size as its token count (forgets the / 4 of uint32 ids)."""

    def repair_token_count(self, size: int) -> int:
        return size


class RepairFloorsTruncated(HFTokenizerEngine):
    """Rounds a shard whose size is not a multiple of 4 down to whole ids instead of refusing it."""

    def repair_record(self, path: Path) -> dict[str, Any]:
        size = path.stat().st_size
        return {"file": path.name, "tokens": size // 4, "documents": None, "bytes": size,
                "sha256": sha256_file(path)}


class RepairReferenceSchema(HFTokenizerEngine):
    """Writes the reference project's schema literal ("pretokenize-bin-v1") instead of the one our
    encode-corpus writes, so consumers keyed on our schema treat the folder as foreign."""

    def repair_compose(self, records: list[dict[str, Any]], meta: dict[str, Any], sources: list[str]) -> dict[str, Any]:
        return {**super().repair_compose(records, meta, sources), "schema": "pretokenize-bin-v1"}


class RepairLocalTimestamp(HFTokenizerEngine):
    """Stamps ``repaired_at`` in local time as "YYYY-MM-DD HH:MM:SS", without a zone (not RFC 3339)."""

    def repair_compose(self, records: list[dict[str, Any]], meta: dict[str, Any], sources: list[str]) -> dict[str, Any]:
        return {**super().repair_compose(records, meta, sources),
                "repaired_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())}


class RepairTruncatesShard(HFTokenizerEngine):
    """"Repairs" a shard whose size is not a multiple of 4 by truncating the file in place to whole ids."""

    def repair_record(self, path: Path) -> dict[str, Any]:
        size = path.stat().st_size
        if size % 4:
            with open(path, "r+b") as handle:
                handle.truncate(size - size % 4)
        return super().repair_record(path)


class RepairRunId(HFTokenizerEngine):
    """Bakes a fresh random ``repair_id`` (uuid4) into every repaired manifest, "for auditing"."""

    def repair_compose(self, records: list[dict[str, Any]], meta: dict[str, Any], sources: list[str]) -> dict[str, Any]:
        return {**super().repair_compose(records, meta, sources), "repair_id": str(uuid.uuid4())}


# -- the shard format (pretokenize-bin) ----------------------------------------------------------
class VerifyVocabInclusive(HFTokenizerEngine):
    """verify-shards flags an id only when it is > vocab size: an id equal to the size passes."""

    def check_shard(self, directory: Path, record: dict[str, Any], vocab_size: int | None,
                    problems: list[str]) -> int:
        return super().check_shard(directory, record, None if vocab_size is None else vocab_size + 1, problems)


class _ShufflingWriter(ShardWriter):
    """Holds a shard's documents and writes them in an unseeded random order "for better mixing"."""

    def __init__(self, output: Path, shard_tokens: int, index: int = 0) -> None:
        super().__init__(output, shard_tokens, index)
        self._pending: list[list[Any]] = []

    def add(self, unit: list[Any]) -> list[dict[str, Any]]:
        import numpy as np

        self._pending.append([np.array(part, dtype="<u4") for part in unit])
        self.tokens += sum(len(part) for part in unit)
        self.documents += 1
        return [self.flush()] if self.tokens >= self.shard_tokens else []

    def flush(self) -> dict[str, Any]:
        pending, documents = self._pending, self.documents
        self._pending, self.tokens = [], 0
        random.shuffle(pending)  # the defect: no seed, so two runs write different bytes
        for unit in pending:
            for part in unit:
                self.append(part)
        self.documents = documents
        return super().flush()


class ShufflesUnseeded(HFTokenizerEngine):
    """Shuffles the documents of each shard with an unseeded RNG: every run writes other bytes."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _ShufflingWriter(output, shard_tokens, index)


class _BigEndianWriter(ShardWriter):
    def append(self, ids: Any) -> None:
        import numpy as np

        super().append(np.ascontiguousarray(ids, dtype="<u4").byteswap())  # htonl before the uint32 write


class BigEndianShards(HFTokenizerEngine):
    """Writes ids in network (big-endian) byte order, as a port through htonl would."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _BigEndianWriter(output, shard_tokens, index)


class _RunningHashWriter(ShardWriter):
    def flush(self) -> dict[str, Any]:
        running = self._hash
        record = super().flush()
        self._hash = running  # the defect: the digest is not reset, so shard N's covers shards 0..N
        return record


class HashNotReset(HFTokenizerEngine):
    """Keeps one running sha256 across shards: every shard after the first records a digest of the
    concatenation so far, not of its own bytes."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _RunningHashWriter(output, shard_tokens, index)

