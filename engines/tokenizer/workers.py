"""How many threads encode-corpus encodes with: ``--workers``, or the CPUs this process may use.

Kept apart from :mod:`engines.tokenizer.encode` because it is about the machine (affinity mask,
cgroup v2 quota), not about documents or shards; the encode algorithm only asks for a number.
A mixin of :class:`engines.tokenizer.encode.EncodeCorpus`, so mutants still override
:meth:`WorkerCount.resolve_workers` on the engine (apr-tokenize-parallel-bpe).
"""

from __future__ import annotations

import os
from pathlib import Path

from engines.errors import AprError


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota (a container
    limited to 2 CPUs on a 64-core host gets 2 threads, not 64), like Rust's available_parallelism."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cpus, quota) if quota is not None else cpus)


def _cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> int | None:
    """ceil(quota / period) from cgroup v2 ``cpu.max`` ("200000 100000" -> 2); None without a quota."""
    try:
        quota, period = path.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max" or int(period) <= 0:
        return None
    return max(1, -(-int(quota) // int(period)))


class WorkerCount:
    """The ``--workers`` step of encode-corpus (mixin; see apr-tokenize-parallel-bpe)."""

    def resolve_workers(self, requested: int | None) -> int:
        """Encoding threads: the usable CPUs (affinity and cgroup quota) when not given; 0 or less is a
        usage error, never silently replaced (a typo would otherwise change the run's thread count)."""
        if requested is None:
            return usable_cpus()
        if requested < 1:
            raise AprError(f"--workers must be >= 1, got {requested}", exit_code=2,
                           hint=f"omit --workers to use every usable CPU ({usable_cpus()} here)",
                           falsifier="FALSIFY-APR-TOK-PAR-006")
        return requested
