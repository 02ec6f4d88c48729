"""Deliberately broken trainer engines for the activation kernels and the ALiBi slopes (one defect each).

Kept apart from :mod:`engines.trainer.mutants` (which imports and lists them); registered by
:mod:`engines.trainer.plugin` under their ``broken-...`` names. Each computes a plausible wrong number
(none raises), and because the model's MLP resolves its activation through the engine
(:meth:`TorchTrainer.activation`), a broken kernel is the one the built model really runs.
"""

from __future__ import annotations

import math
from typing import Any

from engines.trainer.activations import SQRT_2_OVER_PI, TANH_CUBIC
from engines.trainer.activations import gelu as real_gelu
from engines.trainer.engine import TorchTrainer

# --- GELU ----------------------------------------------------------------------------------------


class GeluTableOffset(TorchTrainer):
    """GELU read from a 512-entry table with linear interpolation, the table sampled at cell *centres*
    ((i + 1/2)·h on [-8, 8]): 0 is never a node, so GELU(0) comes out as the mean of GELU(±h/2) ≈ 1e-4."""

    LO, STEP, CELLS = -8.0, 1.0 / 32.0, 512

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        import torch

        centres = self.LO + (torch.arange(self.CELLS, dtype=torch.float64) + 0.5) * self.STEP
        table = real_gelu(centres, approximate)
        d = x.to(torch.float64)
        pos = ((d - self.LO) / self.STEP - 0.5).clamp(0, self.CELLS - 2)
        i = pos.floor().long()
        frac = pos - i
        y = table[i] * (1 - frac) + table[i + 1] * frac
        y = torch.where(d > -self.LO, d, torch.where(d < self.LO, d * 0.0, y))
        return y.to(x.dtype)


class GeluTanhCoefficient(TorchTrainer):
    """Tanh-approximate GELU with 2/π where √(2/π) belongs (the square root dropped)."""

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        import torch

        if approximate != "tanh":
            return super().gelu(x, approximate=approximate)
        d = x.to(torch.float64)
        return (d * torch.sigmoid(2.0 * (2.0 / math.pi) * (d + TANH_CUBIC * d ** 3))).to(x.dtype)


class GeluTextbookFloat32(TorchTrainer):
    """GELU in the input dtype with the textbook forms (torch's F.gelu: 0.5·x·(1 + erf(x/√2)) and
    0.5·x·(1 + tanh u)): ``1 + erf`` / ``1 + tanh`` cancel in float32 and the negative tail collapses to 0."""

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        import torch.nn.functional as F

        return F.gelu(x, approximate=approximate)


class GeluPolynomialErf(TorchTrainer):
    """Exact GELU with erf from its Taylor series to z^7, fitted near 0 and used unclamped: for x ≳ 3 the
    polynomial dives below -1, so GELU(x) turns negative (and -inf for huge x)."""

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        import torch

        if approximate != "none":
            return super().gelu(x, approximate=approximate)
        d = x.to(torch.float64)
        z = d / math.sqrt(2.0)
        erf = (2.0 / math.sqrt(math.pi)) * (z - z ** 3 / 3.0 + z ** 5 / 10.0 - z ** 7 / 42.0)
        return (0.5 * d * (1.0 + erf)).to(x.dtype)


class GeluTanhNoHalf(TorchTrainer):
    """Tanh-approximate GELU without its leading 0.5: x·(1 + tanh u), up to twice the input."""

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        import torch

        if approximate != "tanh":
            return super().gelu(x, approximate=approximate)
        d = x.to(torch.float64)
        return (d * (1.0 + torch.tanh(SQRT_2_OVER_PI * (d + TANH_CUBIC * d ** 3)))).to(x.dtype)


# --- SiLU / ReLU / leaky ReLU ----------------------------------------------------------------------


class SiluSigmoidGate(TorchTrainer):
    """SiLU returns the gate σ(x) instead of x·σ(x) (plain GLU where SwiGLU was meant): SiLU(0) = 0.5."""

    def silu(self, x: Any) -> Any:
        import torch

        return torch.sigmoid(x)


class ReluMaskMultiply(TorchTrainer):
    """ReLU as ``x * (x > 0)``: every negative input (and -0.0) comes out as -0.0, a negative zero."""

    def relu(self, x: Any) -> Any:
        return x * (x > 0)


class ReluSignFlip(TorchTrainer):
    """ReLU from the identity max(0, x) = (x + |x|)/2 with the sign flipped: (|x| - x)/2 = max(0, -x)."""

    def relu(self, x: Any) -> Any:
        return (x.abs() - x) / 2


class ReluAsLeaky(TorchTrainer):
    """"relu" dispatched to leaky ReLU with its default slope 0.01: negative inputs leak through."""

    def relu(self, x: Any) -> Any:
        import torch.nn.functional as F

        return F.leaky_relu(x, 0.01)


class LeakyMaxTrick(TorchTrainer):
    """Leaky ReLU as max(x, a·x), right only for 0 <= a <= 1: a slope above 1 scales the positive side."""

    def leaky_relu(self, x: Any, *, negative_slope: float = 0.01) -> Any:
        import torch

        return torch.maximum(x, x * negative_slope)


class LeakyDefaultSlope(TorchTrainer):
    """Leaky ReLU that drops the caller's slope and uses the library default 0.01."""

    def leaky_relu(self, x: Any, *, negative_slope: float = 0.01) -> Any:
        return super().leaky_relu(x, negative_slope=0.01)


# --- ALiBi -----------------------------------------------------------------------------------------


def _power_of_two_floor(n: int) -> int:
    return 1 << (n.bit_length() - 1)


class AlibiNoOffset(TorchTrainer):
    """The PMAT-858 bug: exponent -8h/n instead of -8(h+1)/n, so head 0 gets slope 2^0 = 1."""

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        right = super().alibi_slopes(n_heads, max_bias=max_bias)
        p = _power_of_two_floor(n_heads)
        m0 = 2.0 ** (-max_bias / p)
        return [m0 ** h if h < p else right[h] for h in range(n_heads)]


class AlibiInterleaveOffset(TorchTrainer):
    """Heads past the largest power of two use m1^(2(h-p)) instead of m1^(2(h-p)+1): head p gets 1.0."""

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        right = super().alibi_slopes(n_heads, max_bias=max_bias)
        p = _power_of_two_floor(n_heads)
        m1 = 2.0 ** (-(max_bias / 2.0) / p)
        return [right[h] if h < p else m1 ** (2 * (h - p)) for h in range(n_heads)]


class AlibiNaiveGeometric(TorchTrainer):
    """2^(-8(h+1)/n) for every head count: right for powers of two, not ggml's/Press's interleave otherwise."""

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        super().alibi_slopes(n_heads, max_bias=max_bias)  # same argument checks
        return [2.0 ** (-max_bias * (h + 1) / n_heads) for h in range(n_heads)]

