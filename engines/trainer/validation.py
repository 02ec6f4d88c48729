"""The held-out set of `apr pretrain`: an independent ``--val-shards`` source, or the legacy split of ``--dataset``.

* With ``--val-shards``: the validation windows come from those shards only, and the training
  stream is the whole of ``--dataset`` — nothing is reserved out of it. The windows are the
  consecutive, non-overlapping ``seq + 1`` windows of the val shards, at most ``--val-tokens``
  worth, and they never wrap around: a short val set yields fewer windows (the report says how
  many), never repeats of the same tokens that would inflate its apparent coverage.
* A ``--val-shards`` source that yields no window at all (a folder without shards, empty shards,
  fewer than ``seq + 1`` tokens) is refused before any gate, naming the path and
  FALSIFY-PRETRAIN-VAL-SHARD-003. Falling back to ``--dataset`` instead would silently measure
  something the user explicitly asked not to measure.
* Without ``--val-shards``: the historical split (:func:`engines.trainer.data.split_documents`,
  every 20th EOS-delimited document held out), unchanged.

:meth:`HeldOut.to_dict` carries a sha256 of the windows, so two runs can be checked to have
measured val loss on exactly the same tokens. numpy is imported inside functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.trainer import data as data_mod

ID_EMPTY = "FALSIFY-PRETRAIN-VAL-SHARD-003"


@dataclass
class HeldOut:
    split: data_mod.Split  # the training ranges of --dataset (+ the legacy held-out ranges)
    origin: str  # "--val-shards" or "--dataset"
    source: data_mod.ShardSet  # the shards the windows were cut from
    windows: Any  # [n, seq + 1] int64

    def to_dict(self) -> dict[str, Any]:
        n, width = self.windows.shape
        return {"source": self.origin, "source_shards": [str(p) for p in self.source.paths], "windows": int(n),
                "window_tokens": int(width - 1), "tokens": int(n * (width - 1)), "sha256": fingerprint(self.windows)}


def fingerprint(windows: Any) -> str:
    """sha256 of the windows as little-endian int64 (the same tokens in the same order give the same digest)."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(windows, dtype="<i8").tobytes()).hexdigest()


def window_count(tokens: int, seq_length: int, max_tokens: int) -> int:
    """Windows of ``seq + 1`` tokens (stride ``seq``) in a stream of ``tokens``, capped by ``max_tokens``."""
    return min(max(0, (tokens - 1) // seq_length), max(1, max_tokens // seq_length))


def _too_small(specs: Sequence[str | Path], seq_length: int, why: str) -> AprError:
    where = ", ".join(str(s) for s in specs)
    return AprError(f"--val-shards {where} is too small to yield any held-out window: {why}; one window needs "
                    f"--seq-length {seq_length} + 1 tokens",
                    hint="encode more held-out text with `apr tokenize encode-corpus`, lower --seq-length, or drop "
                         "--val-shards to hold out documents of --dataset instead", falsifier=ID_EMPTY)


def open_val_shards(specs: Sequence[str | Path], seq_length: int,
                    open_shards: Callable[[Sequence[str | Path]], data_mod.ShardSet]) -> data_mod.ShardSet:
    """The ``--val-shards`` set, or an AprError naming ID_EMPTY when it cannot yield one window."""
    if not all(Path(spec).exists() for spec in specs):
        return open_shards(specs)  # names the missing path (exit 2), as for --dataset
    total = 0
    for spec in specs:
        path = Path(spec)
        # The same files open_shards would read (shard-*.bin, else *.bin), counted before opening them.
        files = [path] if path.is_file() else sorted(path.glob("shard-*.bin")) or sorted(path.glob("*.bin"))
        if not files:
            raise _too_small([spec], seq_length, "the folder holds no .bin shard")
        total += sum(f.stat().st_size // 4 for f in files)
    if total < seq_length + 1:
        raise _too_small(specs, seq_length, f"its shards hold {total:,} tokens")
    return open_shards(specs)


def held_out(engine: Any, shards: data_mod.ShardSet, val: data_mod.ShardSet | None, *, seq_length: int,
             max_tokens: int, eos_id: int | None) -> HeldOut:
    """Training ranges + validation windows; ``val`` None: the legacy split (``engine.legacy_split``)."""
    if val is not None:
        split = data_mod.Split(data_mod.whole(shards), [], f"--val-shards ({len(val.paths)} shard(s))")
        windows = engine.validation_windows(val, data_mod.whole(val), seq_length, max_tokens)
        return HeldOut(split, "--val-shards", val, windows)
    split = engine.legacy_split(shards, eos_id)
    return HeldOut(split, "--dataset", shards, engine.validation_windows(shards, split.val, seq_length, max_tokens))
