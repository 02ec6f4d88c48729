"""Grouped-query attention as a kernel: the head-ratio check, the head mapping, the weights.

The model's attention (:func:`engines.trainer.model.gqa_attention`, fused SDPA) maps query head
``h`` to KV head ``h // (H // KV)``, which equals ``h * KV // H`` whenever ``KV`` divides ``H``.
This module adds what the fused call does not show: a refusal of a ratio that is not whole
(before any tensor work, naming both head counts), the mapping itself, and the explicit causal
softmax weights ``[B, H, T, S]`` for inspection (same mapping, scores scaled by ``1/sqrt(d)``,
softmax in fp32).

Imports torch at module level; the engine imports it inside its methods.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from engines.errors import AprError


class HeadRatioError(AprError):
    """Query heads that do not split into whole groups over the KV heads."""


def check_heads(num_heads: int, num_kv_heads: int) -> int:
    """The group size ``H // KV``; refuses ``KV <= 0``, ``H <= 0`` or ``H % KV != 0``."""
    if num_heads <= 0 or num_kv_heads <= 0:
        raise HeadRatioError(f"head counts must be positive; got {num_heads} query heads, {num_kv_heads} KV heads",
                             exit_code=2)
    if num_heads % num_kv_heads:
        raise HeadRatioError(
            f"{num_heads} query heads do not split into whole groups over {num_kv_heads} KV heads "
            f"({num_heads} % {num_kv_heads} = {num_heads % num_kv_heads})",
            hint="choose num_kv_heads dividing num_attention_heads (1 = MQA, equal = MHA)", exit_code=2)
    return num_heads // num_kv_heads


def kv_head_index(q_head: int, num_heads: int, num_kv_heads: int) -> int:
    """The KV head query head ``q_head`` reads: ``q_head * KV // H`` (= ``q_head // (H // KV)``)."""
    check_heads(num_heads, num_kv_heads)
    return q_head * num_kv_heads // num_heads


def check_qkv(q: Tensor, k: Tensor, v: Tensor) -> int:
    """Shapes q ``[B, H, T, D]``, k ``[B, KV, S, D]``, v ``[B, KV, S, Dv]``; returns the group size."""
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise HeadRatioError(f"attention expects 4-D q/k/v [batch, heads, tokens, head_dim]; got "
                             f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}", exit_code=2)
    if k.shape[:3] != v.shape[:3] or q.shape[0] != k.shape[0] or q.shape[-1] != k.shape[-1]:
        raise HeadRatioError(f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} do not fit together "
                             "(k and v need the same batch, heads and length; q and k the same head_dim)",
                             exit_code=2)
    return check_heads(q.shape[1], k.shape[1])


def causal_weights(q: Tensor, k: Tensor) -> Tensor:
    """Softmax attention weights ``[B, H, T, S]`` (causal, fp32), KV head ``h // group`` per query head."""
    group = check_heads(q.shape[1], k.shape[1])
    k = k.repeat_interleave(group, dim=1) if group > 1 else k
    scores = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    t, s = q.shape[-2], k.shape[-2]
    # Top-left aligned, as SDPA's is_causal: query t sees keys 0..t.
    mask = torch.ones(t, s, dtype=torch.bool, device=q.device).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
