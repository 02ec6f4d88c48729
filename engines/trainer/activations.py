"""Activation kernels of the decoder's MLP: GELU (exact and tanh-approximate), SiLU, ReLU, leaky ReLU.

Vectorised PyTorch, one rounding per output. The smooth activations are evaluated in a wider
dtype (float64 for float32/float64 inputs, float32 for half types) and rounded once to the input
dtype, in forms that do not cancel:

* exact GELU as ``0.5·x·erfc(-x/√2)``, not the textbook ``0.5·x·(1 + erf(x/√2))``: for x ≈ -5 the
  textbook float32 form returns 0 where the true value is -1e-7 (``1 + erf`` cancels);
* tanh-approximate GELU as ``x·σ(2u)`` with ``u = √(2/π)(x + 0.044715x³)``, algebraically equal to
  ``0.5·x·(1 + tanh u)`` and free of the same cancellation;
* SiLU as ``x·σ(x)``.

Measured against a scalar float64 reference (Python ``math``) over random, tail, subnormal and
huge float32 inputs, these are within 1 ULP (FALSIFY-ACT-005); torch's own float32 ``F.gelu`` is off
by up to 8.7e8 ULP in the negative tail.

ReLU returns +0.0 (never -0.0) for every non-positive input; leaky ReLU is ``x`` for ``x >= 0`` and
``alpha·x`` (one float multiply) below. NaN propagates through all of them (a NaN hidden by an
activation would mask a diverging run).

``ACTIVATIONS`` maps the Hugging Face ``hidden_act`` names this decoder supports to a kernel; the
MLP resolves its config's ``hidden_act`` through the trainer engine (:meth:`TorchTrainer.activation`),
so a broken engine is exercised by the model it builds. Torch is imported inside the functions:
``pv validate`` imports the config module, which imports the names here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import Tensor

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
TANH_CUBIC = 0.044715  # Hendrycks & Gimpel's cubic coefficient
HF_LEAKY_SLOPE = 0.01  # transformers' ACT2FN["leaky_relu"] is nn.LeakyReLU() with its default slope

# HF hidden_act name -> kernel; "gelu" is the exact erf GELU in transformers,
# "gelu_new" / "gelu_pytorch_tanh" the tanh approximation, "swish" an alias of "silu".
ACTIVATIONS: dict[str, str] = {
    "silu": "silu",
    "swish": "silu",
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
}


class ActivationError(ValueError):
    """An activation that cannot be built: an unknown name or an unusable parameter."""


def check_name(name: str) -> str:
    """The kernel name of an HF ``hidden_act``, or :class:`ActivationError` listing the supported ones."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ActivationError(
            f"hidden_act={name!r} is not an activation this decoder implements; "
            f"use one of {', '.join(sorted(ACTIVATIONS))}"
        ) from None


def _wide(x: Tensor) -> torch.dtype:
    """The dtype a smooth activation is evaluated in: one step wider than ``x`` (float64 at most)."""
    import torch

    return torch.float64 if x.dtype in (torch.float32, torch.float64) else torch.float32


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x·Φ(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""
    import torch

    d = x.to(_wide(x))
    if approximate == "none":
        y = 0.5 * d * torch.erfc(d * (-1.0 / math.sqrt(2.0)))
    elif approximate == "tanh":
        # 0.5·(1 + tanh u) = σ(2u): same function, no 1 + tanh cancellation for negative x.
        y = d * torch.sigmoid(2.0 * SQRT_2_OVER_PI * (d + TANH_CUBIC * d * d * d))
    else:
        raise ActivationError(f"gelu: approximate={approximate!r}; use 'none' (exact, erf) or 'tanh'")
    return y.to(x.dtype)


def silu(x: Tensor) -> Tensor:
    """SiLU(x) = x·σ(x) (a.k.a. swish), evaluated wide and rounded once."""
    import torch

    d = x.to(_wide(x))
    return (d * torch.sigmoid(d)).to(x.dtype)


def relu(x: Tensor) -> Tensor:
    """max(0, x) with +0.0 for every x <= 0 (torch.relu passes -0.0 through; ``+ 0.0`` clears the sign)."""
    import torch

    return torch.clamp_min(x, 0.0) + 0.0


def leaky_relu(x: Tensor, negative_slope: float = HF_LEAKY_SLOPE) -> Tensor:
    """``x`` where ``x >= 0``, ``negative_slope·x`` where ``x < 0``; any finite slope (PReLU-style > 1 too)."""
    import torch

    if not isinstance(negative_slope, (int, float)) or not math.isfinite(negative_slope):
        raise ActivationError(f"leaky_relu: negative_slope={negative_slope!r} must be a finite number")
    # torch.where, not max(x, a·x): the max trick is only right for 0 <= a <= 1.
    return torch.where(x >= 0, x, x * negative_slope)


def kernel(name: str) -> Callable[[Tensor], Tensor]:
    """The kernel of HF ``hidden_act`` ``name`` (leaky ReLU with HF's default slope 0.01)."""
    kind = check_name(name)
    if kind == "gelu_tanh":
        return partial(gelu, approximate="tanh")
    if kind == "leaky_relu":
        return partial(leaky_relu, negative_slope=HF_LEAKY_SLOPE)
    return {"gelu": gelu, "silu": silu, "relu": relu}[kind]
