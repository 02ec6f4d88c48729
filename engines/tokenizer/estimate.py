"""The ``--estimate-only`` extrapolation: a timed sample scaled to the whole corpus (pure, no I/O).

The unit of ``sample_size``/``total`` is whatever the caller counts in both: encode-corpus counts
bytes of JSONL text (exact from file sizes, no second pass over the corpus, and steadier than
documents, whose lengths vary) or rows of Parquet (exact from the footers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Extrapolation:
    total_tokens: int
    shards: int
    wall_seconds: float


def extrapolate_estimate(sample_size: int, sample_tokens: int, sample_wall: float, total: int,
                         shard_tokens: int, num_workers: int) -> Extrapolation:
    """tokens = round(sample_tokens / sample_size * total); shards = ceil(tokens / shard_tokens);
    wall = sample_wall / sample_size * total / max(num_workers, 1).

    ``sample_wall`` is the time of ONE worker on the sample. An empty sample gives all zeros (nothing
    to extrapolate from), ``shard_tokens`` 0 gives 0 shards, ``num_workers`` 0 counts as 1.
    """
    if sample_size <= 0:
        return Extrapolation(0, 0, 0.0)
    tokens = round(sample_tokens / sample_size * total)
    shards = math.ceil(tokens / shard_tokens) if shard_tokens > 0 else 0
    wall = sample_wall / sample_size * total / max(num_workers, 1)
    return Extrapolation(tokens, shards, wall)
