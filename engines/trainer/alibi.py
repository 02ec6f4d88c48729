"""ALiBi (Press, Smith & Lewis 2021): per-head slopes and the linear attention bias they produce.

Head ``h`` of ``n`` adds ``-m[h]·|i - j|`` to the attention score of query ``i`` on key ``j``. The
slopes follow the rule llama.cpp/ggml apply when loading BLOOM/MPT-style models (and Press et al.'s
reference code):

* ``p = 2^floor(log2 n)`` (the largest power of two <= n), ``m0 = 2^(-max_bias/p)``,
  ``m1 = 2^(-(max_bias/2)/p)``;
* heads ``h < p`` get ``m0^(h+1)`` (for n a power of two: ``2^(-8(h+1)/n)``, head 0 = ``2^(-8/n)``,
  e.g. 0.5 for 8 heads, never ``2^0 = 1``);
* the remaining heads interleave the next power's geometric sequence: ``m1^(2(h-p)+1)``.

So every slope lies in (0, 1) and the first ``p`` are strictly decreasing. ``max_bias`` is 8 for
every published ALiBi model. Torch is imported only by :func:`alibi_bias`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import Tensor

DEFAULT_MAX_BIAS = 8.0


class AlibiError(ValueError):
    """An ALiBi request that cannot be satisfied (head count, bias or length out of range)."""


def slopes(n_heads: int, max_bias: float = DEFAULT_MAX_BIAS) -> list[float]:
    """The ``n_heads`` ALiBi slopes, head 0 first (float64)."""
    if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
        raise AlibiError(f"ALiBi needs a whole number of heads >= 1, got n_heads={n_heads!r}")
    if not isinstance(max_bias, (int, float)) or not math.isfinite(max_bias) or max_bias <= 0:
        raise AlibiError(f"ALiBi max_bias must be a finite number > 0 (8 for published models), got {max_bias!r}")
    p = 1 << (n_heads.bit_length() - 1)  # largest power of two <= n_heads
    m0 = 2.0 ** (-max_bias / p)
    m1 = 2.0 ** (-(max_bias / 2.0) / p)
    return [m0 ** (h + 1) if h < p else m1 ** (2 * (h - p) + 1) for h in range(n_heads)]


def bias(head_slopes: Sequence[float], seq_len: int, *, dtype: torch.dtype | None = None,
         device: torch.device | str | None = None) -> Tensor:
    """``[H, T, T]`` additive score bias ``-m[h]·|i - j|`` (0 on the diagonal; causal masking is separate)."""
    import torch

    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        raise AlibiError(f"ALiBi bias needs a sequence length >= 1, got {seq_len!r}")
    if len(head_slopes) == 0:
        raise AlibiError("ALiBi bias needs at least one head slope")
    pos = torch.arange(seq_len, dtype=torch.float64, device=device)
    distance = (pos[None, :] - pos[:, None]).abs()  # [T, T]
    m = torch.tensor(list(head_slopes), dtype=torch.float64, device=device)[:, None, None]
    return (-m * distance + 0.0).to(dtype or torch.get_default_dtype())  # + 0.0: diagonal +0, not -0
