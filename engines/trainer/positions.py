"""Absolute position encoding: the sinusoidal table and the additive token + position embedding.

The original Transformer (Vaswani et al. 2017) adds a position vector to each token embedding
instead of rotating queries and keys. ``PE(pos, 2i) = sin(pos * w_i)`` and
``PE(pos, 2i + 1) = cos(pos * w_i)`` with ``w_i = base^(-2i/d)``: even columns hold sines,
odd columns cosines, interleaved. Angles are formed in float64 so a large position keeps its
phase (``pos * w_i`` in fp32 loses the fractional part beyond 2^24) and only the finished
table is rounded to the requested dtype.

The addition refuses any position outside ``[0, max_positions)`` (the table's length) with an
error naming the offending position: a silent clamp or wrap-around would give two different
positions the same vector, which a model cannot detect.

Imports torch at module level; the engine imports this module only inside its methods.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from engines.errors import AprError

DEFAULT_BASE = 10_000.0


class PositionError(AprError):
    """A position outside the table, or inputs whose shapes cannot be added."""


def frequencies(dim: int, *, base: float = DEFAULT_BASE) -> Tensor:
    """``w_i = base^(-2i/d)`` for ``i = 0 .. d/2 - 1`` (float64)."""
    if dim <= 0 or dim % 2:
        raise PositionError(f"sinusoidal position encoding needs an even, positive width; got d = {dim}",
                            hint="each sine column is paired with a cosine column: choose an even hidden size",
                            exit_code=2)
    i = torch.arange(dim // 2, dtype=torch.float64)
    return torch.pow(torch.tensor(base, dtype=torch.float64), -2.0 * i / dim)


def sinusoidal(positions: Tensor, dim: int, *, base: float = DEFAULT_BASE, dtype: torch.dtype = torch.float32) -> Tensor:
    """``PE`` for any (integer or real) ``positions`` of shape ``[...]`` -> ``[..., dim]``."""
    angles = positions.to(torch.float64)[..., None] * frequencies(dim, base=base)
    table = torch.empty((*positions.shape, dim), dtype=torch.float64)
    table[..., 0::2] = torch.sin(angles)
    table[..., 1::2] = torch.cos(angles)
    return table.to(dtype)


def sinusoidal_table(max_positions: int, dim: int, *, base: float = DEFAULT_BASE,
                     dtype: torch.dtype = torch.float32) -> Tensor:
    """The ``[max_positions, dim]`` lookup table (row t is ``PE(t)``)."""
    if max_positions <= 0:
        raise PositionError(f"max_positions must be positive; got {max_positions}", exit_code=2)
    return sinusoidal(torch.arange(max_positions), dim, base=base, dtype=dtype)


def check_positions(positions: Tensor, max_positions: int) -> None:
    """Refuse any position ``< 0`` or ``>= max_positions``, naming the first offender."""
    bad = (positions < 0) | (positions >= max_positions)
    if bool(bad.any()):
        first = int(positions[bad].flatten()[0])
        raise PositionError(
            f"position {first} is outside the position table [0, {max_positions}) "
            f"({int(bad.sum())} of {positions.numel()} positions out of range)",
            hint=f"truncate the sequence to at most {max_positions} tokens or build the table with more positions")


def add_positions(token_embed: Tensor, pos_table: Tensor, positions: Tensor | None = None) -> Tensor:
    """``out[..., t, :] = token_embed[..., t, :] + pos_table[positions[t], :]``.

    ``token_embed`` is ``[T, d]`` or ``[B, T, d]``; ``positions`` (default ``0 .. T-1``) has shape
    ``[T]``. The sum is taken in the promoted dtype of the two inputs, never narrower.
    """
    if token_embed.dim() < 2 or pos_table.dim() != 2:
        raise PositionError(f"expected token embeddings [..., T, d] and a table [max_positions, d]; got "
                            f"{tuple(token_embed.shape)} and {tuple(pos_table.shape)}", exit_code=2)
    t, d = token_embed.shape[-2], token_embed.shape[-1]
    if pos_table.shape[1] != d:
        raise PositionError(f"position table width {pos_table.shape[1]} != token embedding width {d}", exit_code=2)
    if positions is None:
        positions = torch.arange(t, device=token_embed.device)
    if tuple(positions.shape) != (t,):
        raise PositionError(f"positions must have shape ({t},) (one per token); got {tuple(positions.shape)}",
                            exit_code=2)
    check_positions(positions, pos_table.shape[0])
    dtype = torch.promote_types(token_embed.dtype, pos_table.dtype)
    return token_embed.to(dtype) + pos_table[positions.long()].to(dtype)


class AbsolutePositionEmbedding(nn.Module):
    """Token embedding + absolute position embedding (fixed sinusoidal buffer, or a learned table)."""

    def __init__(self, vocab_size: int, dim: int, max_positions: int, *, learned: bool = False,
                 base: float = DEFAULT_BASE) -> None:
        super().__init__()
        self.vocab_size, self.max_positions = vocab_size, max_positions
        self.embed_tokens = nn.Embedding(vocab_size, dim)
        table = sinusoidal_table(max_positions, dim, base=base)
        if learned:
            self.embed_positions: Tensor = nn.Parameter(table.clone())
        else:
            self.register_buffer("embed_positions", table, persistent=False)

    def forward(self, input_ids: Tensor) -> Tensor:
        if input_ids.numel() == 0:
            raise PositionError("no tokens to embed (empty input)", exit_code=2)
        if bool(((input_ids < 0) | (input_ids >= self.vocab_size)).any()):
            raise PositionError(f"token id outside the vocabulary [0, {self.vocab_size})", exit_code=2)
        return add_positions(self.embed_tokens(input_ids), self.embed_positions)
