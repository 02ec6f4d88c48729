"""Deliberately broken trainer engines for the shard loader (one defect each; see pretokenize-bin).

Kept apart from :mod:`engines.trainer.mutants` (which imports and lists them); every class is
registered by :mod:`engines.trainer.plugin` under its ``broken-...`` name. None merely raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines.trainer.engine import TorchTrainer


class LoaderDropsFragment(TorchTrainer):
    """A loader that reads each shard as whole uint32s (like Rust's ``chunks_exact(4)``): a trailing
    1-3 byte fragment of a truncated shard is silently dropped instead of refused."""

    def open_shards(self, specs: Sequence[str | Path]) -> Any:
        import numpy as np

        from engines.trainer.data import ShardSet

        paths: list[Path] = []
        for spec in map(Path, specs):
            paths.extend(sorted(spec.glob("shard-*.bin")) if spec.is_dir() else [spec])
        arrays = [np.frombuffer(p.read_bytes()[: p.stat().st_size // 4 * 4], dtype="<u4") for p in paths]
        kept = [(p, a) for p, a in zip(paths, arrays, strict=True) if len(a)]
        return ShardSet([p for p, _ in kept], [a for _, a in kept], "", [])


class LoaderSkipsHeader(TorchTrainer):
    """Takes the first uint32 of every shard for a length header and starts reading after it: the
    first id of each shard never reaches training."""

    def open_shards(self, specs: Sequence[str | Path]) -> Any:
        shards = super().open_shards(specs)
        shards.arrays = [a[1:] for a in shards.arrays]
        return shards

