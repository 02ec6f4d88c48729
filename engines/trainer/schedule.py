"""The learning-rate schedule of `apr pretrain`: linear warm-up, then cosine decay over the horizon.

* Warm-up: step ``s < warmup`` trains at ``lr_max · (s + 1) / warmup`` — the first optimizer
  step already moves the weights (a factor of 0 would waste it), and the last warm-up step
  reaches ``lr_max``.
* Decay: from ``warmup`` to the *horizon* (the number of optimizer steps the run takes) the
  factor follows half a cosine from 1 down to ``min_ratio``:
  ``min_ratio + (1 - min_ratio) · ½ (1 + cos(π · (s - warmup) / (horizon - warmup)))``; past the
  horizon it stays at ``min_ratio``.
* Horizon ``None`` (unknown — `apr pretrain --lr-schedule constant`): constant ``lr_max`` after
  warm-up, the usual fallback when a run's length is not fixed in advance.

The horizon counts optimizer steps, not micro-batches: with ``--grad-accum k`` one optimizer
step consumes k micro-batches, and a cosine stretched over micro-batches would end the run at a
learning rate far above its floor.

Standard library only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("cosine", "constant")


def factor(step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
    """Multiplier of the peak learning rate at 0-based optimizer ``step``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total is None:
        return 1.0
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def default_warmup(num_steps: int) -> int:
    """10 % of the run, at least 1 and at most 100 steps (when --warmup-steps is not given)."""
    return min(100, max(1, num_steps // 10))


@dataclass(frozen=True)
class LRSchedule:
    """What a run's schedule was (recorded in the run summary so a reader can recompute every lr)."""

    kind: str
    lr_max: float
    warmup: int
    horizon: int | None
    min_ratio: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
