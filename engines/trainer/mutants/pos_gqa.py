"""Deliberately broken trainer engines for absolute positions and the GQA kernel (one defect each).

Kept apart from :mod:`engines.trainer.mutants` (which imports and lists them) so that module stays
readable; every class is registered by :mod:`engines.trainer.plugin` under its ``broken-...`` name.
None merely raises: each computes a plausible wrong number or accepts what it should refuse.
"""

from __future__ import annotations

import math
from typing import Any

from engines.trainer.engine import TorchTrainer

# --- absolute positions -------------------------------------------------------------------------


class PosSeqFirstBroadcast(TorchTrainer):
    """Position rows unsqueezed for a seq-first [T, B, d] layout: a [T, d] input becomes [T, T, d]."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        import torch

        from engines.trainer.positions import check_positions

        if positions is None:
            positions = torch.arange(token_embed.shape[-2])
        check_positions(positions, pos_table.shape[0])
        return token_embed + pos_table[positions][:, None, :]


class PosAddLayerNorm(TorchTrainer):
    """A post-embedding LayerNorm (BERT-style) folded into the add: zero positions no longer give the tokens."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        import torch.nn.functional as F

        out = super().add_positions(token_embed, pos_table, positions)
        return F.layer_norm(out, out.shape[-1:])


class PosWrapAround(TorchTrainer):
    """Positions taken modulo the table length (ring-buffer indexing): position max silently becomes 0."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        import torch

        if positions is None:
            positions = torch.arange(token_embed.shape[-2])
        return super().add_positions(token_embed, pos_table, positions % pos_table.shape[0])


class PosAddHalf(TorchTrainer):
    """The add done in fp16 "to save memory" and cast back: finite fp32 inputs above 65504 become inf."""

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        import torch

        dtype = torch.promote_types(token_embed.dtype, pos_table.dtype)
        return super().add_positions(token_embed.half(), pos_table.half(), positions).to(dtype)


class PosTableScaled(TorchTrainer):
    """The sqrt(d) embedding scale applied to the sinusoid table instead of the token embeddings."""

    def sinusoidal_positions(self, positions: Any, dim: int, *, base: float = 10_000.0) -> Any:
        return super().sinusoidal_positions(positions, dim, base=base) * math.sqrt(dim)


class PosConcatLayout(TorchTrainer):
    """tensor2tensor's layout: all sines then all cosines, where the contract interleaves them."""

    def sinusoidal_positions(self, positions: Any, dim: int, *, base: float = 10_000.0) -> Any:
        import torch

        from engines.trainer.positions import frequencies

        angles = positions.to(torch.float64)[..., None] * frequencies(dim, base=base)
        return torch.cat((torch.sin(angles), torch.cos(angles)), dim=-1).float()


class PosFreqExponent(TorchTrainer):
    """Frequencies base^(-i/d) (the pair index used as the column index): every rotation is at the wrong speed."""

    def sinusoidal_positions(self, positions: Any, dim: int, *, base: float = 10_000.0) -> Any:
        import torch

        i = torch.arange(dim // 2, dtype=torch.float64)
        angles = positions.to(torch.float64)[..., None] * base ** (-i / dim)
        table = torch.empty((*positions.shape, dim), dtype=torch.float64)
        table[..., 0::2], table[..., 1::2] = torch.sin(angles), torch.cos(angles)
        return table.float()


# --- grouped-query attention --------------------------------------------------------------------


def _explicit(q: Any, k: Any, v: Any, *, mask_after_softmax: bool = False, score_dtype: Any = None) -> Any:
    """Explicit causal GQA (repeat_interleave) with one knob per mutant below."""
    import torch

    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if score_dtype is not None:
        scores = scores.to(score_dtype)
    mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    if mask_after_softmax:
        weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)
    else:
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights if v is None else weights.to(q.dtype) @ v.repeat_interleave(group, dim=1)


class GQAMaskAfterSoftmax(TorchTrainer):
    """The causal mask zeroes weights after the softmax: rows normalised over future keys too, sum < 1."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        return _explicit(q, k, v, mask_after_softmax=True)

    def attention_weights(self, q: Any, k: Any) -> Any:
        return _explicit(q.float(), k.float(), None, mask_after_softmax=True)


class GQAMhaPathNotCausal(TorchTrainer):
    """A separate fast path for KV == H (plain MHA) that forgets is_causal; the grouped path is right."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch.nn.functional as F

        if q.shape[1] == k.shape[1]:
            return F.scaled_dot_product_attention(q, k, v)
        return super().attention(q, k, v)


class GQADropoutInEval(TorchTrainer):
    """Attention dropout (p = 0.1) applied whatever the mode: kept weights are scaled by 1/0.9."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch.nn.functional as F

        return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.1,
                                              enable_gqa=q.shape[1] != k.shape[1])


class GQANoRatioCheck(TorchTrainer):
    """No H % KV check: query head h reads KV head h * KV // H, so 6 heads over 4 KV heads run silently."""

    def gqa_attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch

        index = torch.tensor([h * k.shape[1] // q.shape[1] for h in range(q.shape[1])])
        k, v = k.index_select(1, index), v.index_select(1, index)
        return super().attention(q, k, v)


class GQABf16Scores(TorchTrainer):
    """Scores cast to bfloat16 before the softmax (a mixed-precision slip): ~3 significant digits survive."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch

        return _explicit(q, k, v, score_dtype=torch.bfloat16)


class GQAMqaFoldHeads(TorchTrainer):
    """MQA fast path folding heads into the query length ([B, 1, H*T, D]) with is_causal: heads >= 1 see the future."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch.nn.functional as F

        if k.shape[1] != 1 or q.shape[1] == 1:
            return super().attention(q, k, v)
        b, h, t, d = q.shape
        out = F.scaled_dot_product_attention(q.reshape(b, 1, h * t, d), k, v, is_causal=True)
        return out.reshape(b, h, t, v.shape[-1])


class GQAPow2GroupRound(TorchTrainer):
    """Group size rounded up to a power of two (a shift instead of a division): right for 4:1, wrong for 7:1."""

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch

        group = q.shape[1] // k.shape[1]
        shift = max(0, math.ceil(math.log2(group))) if group > 0 else 0
        index = torch.tensor([min(h >> shift, k.shape[1] - 1) for h in range(q.shape[1])], device=k.device)
        return super().attention(q, k.index_select(1, index), v.index_select(1, index))

