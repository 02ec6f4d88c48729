"""Deliberately broken trainers for the learning-rate schedule, the held-out set and the data feed.

Each changes one decision of :class:`~engines.trainer.engine.TorchTrainer` the way a real
regression would (FALSIFY-COSINE-*, FALSIFY-PRETRAIN-VAL-SHARD-*, FALSIFY-ALM-* must catch it).
Registered, like the others, in the table of :mod:`engines.trainer.plugin`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.trainer.engine import TorchTrainer

# --- schedule -----------------------------------------------------------------------------------


class CosineFromStepZero(TorchTrainer):
    """Cosine progress measured from step 0 instead of from the end of warm-up: ``(s) / (T - w)``."""

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        if total is None or step < warmup:
            return super().lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)
        progress = min(1.0, step / max(1, total - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class HorizonDropped(TorchTrainer):
    """The horizon never reaches the schedule (as if it were unset): constant lr after warm-up (ALB-079)."""

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        return super().lr_factor(step, warmup=warmup, total=None, min_ratio=min_ratio)


class CosineFullPeriod(TorchTrainer):
    """``cos(2π·progress)``: a whole cosine period, so the lr falls to its floor mid-run and climbs back to peak."""

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        if total is None or step < warmup:
            return super().lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(2 * math.pi * progress))


class UnknownHorizonDefaulted(TorchTrainer):
    """An unknown horizon replaced by a made-up one (10 x warm-up) instead of keeping the lr constant."""

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        return super().lr_factor(step, warmup=warmup, total=total if total is not None else 10 * max(1, warmup),
                                 min_ratio=min_ratio)


class LrFirstGroupOnly(TorchTrainer):
    """Only the first AdamW param group (weight-decayed matrices) gets the scheduled lr; norms/biases keep --lr."""

    def set_lr(self, optimizer: Any, lr: float) -> None:
        optimizer.param_groups[0]["lr"] = lr


class HorizonCountsMicroSteps(TorchTrainer):
    """The cosine horizon counts micro-batches (num_steps x grad_accum), not optimizer steps (ALB-129)."""

    def lr_horizon(self, num_steps: int, grad_accum: int) -> int:
        return num_steps * grad_accum


# --- held-out set --------------------------------------------------------------------------------


class ValShardsStillSplit(TorchTrainer):
    """With --val-shards, training still loses the legacy held-out documents of --dataset."""

    def held_out(self, shards: Any, val: Any, *, seq_length: int, max_tokens: int, eos_id: int | None) -> Any:
        held = super().held_out(shards, val, seq_length=seq_length, max_tokens=max_tokens, eos_id=eos_id)
        if val is not None:
            held.split.train = self.legacy_split(shards, eos_id).train
        return held


class ValWrapsAround(TorchTrainer):
    """A short validation set is padded to --val-tokens by repeating its windows (wrap-around)."""

    def validation_windows(self, shards: Any, ranges: list[tuple[int, int, int]], seq_length: int,
                           max_tokens: int) -> Any:
        import numpy as np

        windows = super().validation_windows(shards, ranges, seq_length, max_tokens)
        want = max(1, max_tokens // seq_length)
        reps = -(-want // len(windows))
        return np.concatenate([windows] * reps)[:want]


class ValEmptyFallsBack(TorchTrainer):
    """An unusable --val-shards is treated as absent: validation silently falls back to --dataset."""

    def open_val_shards(self, specs: Sequence[str | Path], seq_length: int) -> Any:
        try:
            return super().open_val_shards(specs, seq_length)
        except AprError:
            return None


class LegacySplitEvery16(TorchTrainer):
    """The legacy (no --val-shards) split's period changed from 20 to 16 documents: other val tokens."""

    def legacy_split(self, shards: Any, eos_id: int | None) -> Any:
        from engines.trainer.data import split_documents

        return split_documents(shards, eos_id, every=16)


# --- data feed -----------------------------------------------------------------------------------


class ShardBigEndian(TorchTrainer):
    """Reads shards as big-endian uint32 while encode-corpus writes little-endian."""

    shard_dtype = ">u4"


class ManifestLenient(TorchTrainer):
    """A manifest missing a required field is read with defaults (no shards / unknown counts), not refused."""

    def read_manifest(self, path: Path) -> Any:
        from engines.trainer.feed import DTYPE_NAME, ShardManifest

        data = json.loads(Path(path).read_text(encoding="utf-8"))
        counts: dict[str, int] = {}
        for entry in data.get("shards") or []:
            if not isinstance(entry, dict):
                continue
            name = entry.get("file") or entry.get("path") or entry.get("name")
            count = entry.get("tokens", entry.get("n_tokens", entry.get("num_tokens")))
            if isinstance(name, str) and isinstance(count, int):
                counts[Path(name).name] = count
        eos = data.get("eos_id")
        return ShardManifest(Path(path), counts, eos if isinstance(eos, int) else None, DTYPE_NAME)

