"""Where and when falsifiers run: the order within a run and the shards of a CI matrix.

Both follow the same expected durations: the seconds each falsifier took when it last
executed (recorded in the evidence database), else an estimate by its required level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from apr_contracts.outcomes import Level

if TYPE_CHECKING:
    from apr_contracts.runner import Job

# Seconds assumed for a falsifier with no recorded duration, by required level.
ESTIMATED_DURATION_S = {Level.ALGORITHM: 1.0, Level.INTEGRATION: 3.0, Level.LIVE: 60.0}


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` with 1 <= I <= N -> ``(I, N)``; ValueError with what is wrong otherwise."""
    index, sep, total = text.partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        i = n = 0
    if not sep or not 1 <= i <= n:
        raise ValueError(f"--shard expects I/N with 1 <= I <= N (e.g. 1/4), got {text!r}")
    return i, n


def partition(jobs: Sequence[Job], total: int, durations: Mapping[str, float]) -> list[list[Job]]:
    """Split ``jobs`` into ``total`` shards of about equal expected time, deterministically.

    Longest job first onto the least-loaded shard (ties: the lower shard number); jobs of equal
    duration in id order. ``durations`` are recorded seconds per falsifier id (others are
    estimated by level), so every shard of one CI matrix computes the same partition as long
    as they all see the same durations: the same evidence database, or none.
    """
    shards: list[list[Job]] = [[] for _ in range(total)]
    loads = [0.0] * total
    for job in sorted(jobs, key=lambda j: (-expected_duration(j, durations), j.falsifier_id, str(j.contract.id))):
        target = min(range(total), key=lambda k: (loads[k], k))
        shards[target].append(job)
        loads[target] += expected_duration(job, durations)
    return shards


def expected_duration(job: Job, durations: Mapping[str, float]) -> float:
    """Recorded seconds of the falsifier's last execution, else an estimate by its level."""
    return durations.get(job.falsifier_id, ESTIMATED_DURATION_S[job.required_level])
