"""The decoder: Llama/Qwen2 family in plain PyTorch, parameter names identical to Hugging Face.

One code path for every GQA ratio (1:1, 4:1, 7:1, 8:1...): queries keep ``H`` heads, keys and
values keep ``KV`` heads, and query head ``h`` reads KV head ``h // (H // KV)`` (the HF
``repeat_kv`` convention, i.e. ``repeat_interleave`` along heads). RoPE uses HF's
``rotate_half`` pairing (i, i + d/2) with cos/sin computed in fp32; RMSNorm computes in fp32;
the MLP is gated ``down(act(gate(x)) * up(x))`` with ``act`` the config's ``hidden_act`` (SiLU, i.e.
SwiGLU, for every published Llama/Qwen2; kernels in :mod:`engines.trainer.activations`). ``state_dict()`` keys are the HF ones
(``model.layers.0.self_attn.q_proj.weight``...), so a ``Qwen2ForCausalLM`` /
``LlamaForCausalLM`` loads our weights with no missing or unexpected keys and the logits agree
to float rounding.

This module imports torch at module level because it defines ``nn.Module`` classes; the
plugin and the CLI import it only inside functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engines.trainer import activations
from engines.trainer.config import ArchConfig

AttentionFn = Callable[[Tensor, Tensor, Tensor], Tensor]


def gqa_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Causal attention, q ``[B, H, T, D]``, k/v ``[B, KV, T, D]`` with ``H % KV == 0``.

    ``enable_gqa`` makes SDPA map query head h to KV head ``h // (H // KV)`` without
    materialising repeated K/V (same numbers as HF's ``repeat_kv`` + SDPA).
    """
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=q.shape[1] != k.shape[1])


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """``[B, KV, T, D] -> [B, KV*n_rep, T, D]``, each KV head repeated for its query group."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)


def reference_mha_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """The oracle for GQA: full multi-head attention after repeating each KV head explicitly."""
    n_rep = q.shape[1] // k.shape[1]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    t = q.shape[-2]
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.variance_epsilon = eps

    def forward(self, x: Tensor) -> Tensor:
        # fp32 statistics whatever the activation dtype (bf16 variance underflows).
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * h.to(dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # not a checkpoint tensor (as in HF)

    def forward(self, positions: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        inv_freq: Tensor = self.inv_freq  # type: ignore[assignment]  # a registered buffer
        freqs = positions.float()[:, None] * inv_freq.float()[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, config: ArchConfig, attention_fn: AttentionFn) -> None:
        super().__init__()
        d = config.dim_per_head
        self.n_heads, self.n_kv, self.head_dim = config.num_attention_heads, config.num_kv_heads, d
        self.q_proj = nn.Linear(config.hidden_size, self.n_heads * d, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, self.n_kv * d, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, self.n_kv * d, bias=config.qkv_bias)
        # HF Llama's attention_bias also puts a bias on o_proj; Qwen2 never has one.
        self.o_proj = nn.Linear(self.n_heads * d, config.hidden_size, bias=config.o_proj_bias)
        self.attention_fn = attention_fn

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        out = self.attention_fn(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))


ActivationFn = Callable[[Tensor], Tensor]


class MLP(nn.Module):
    def __init__(self, config: ArchConfig) -> None:
        super().__init__()
        # Replaced by build_model with the engine's kernel for the same name (so a broken engine's
        # activation is the one the model really runs); a plain attribute, not a parameter.
        self.act_fn: ActivationFn = activations.kernel(config.hidden_act)
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: ArchConfig, attention_fn: AttentionFn) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config, attention_fn)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class DecoderBody(nn.Module):
    """HF's ``model.`` prefix: embeddings, layers, final norm."""

    def __init__(self, config: ArchConfig, attention_fn: AttentionFn) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config, attention_fn) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config.dim_per_head, config.rope_theta)

    def forward(self, input_ids: Tensor) -> Tensor:
        x = self.embed_tokens(input_ids)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        cos, sin = self.rotary_emb(positions, x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x)


class CausalLM(nn.Module):
    """The whole model: ``model.*`` + ``lm_head`` (tied to ``model.embed_tokens`` when configured)."""

    def __init__(self, config: ArchConfig, attention_fn: AttentionFn = gqa_attention) -> None:
        super().__init__()
        self.config = config
        self.model = DecoderBody(config, attention_fn)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids: Tensor) -> Tensor:
        """Logits ``[B, T, vocab]`` for token ids ``[B, T]``."""
        return self.lm_head(self.model(input_ids))

    def init_weights(self, seed: int, std: float = 0.02) -> None:
        """HF's initialisation (normal(0, std) matrices and embeddings, zero biases, unit norms), seeded."""
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                    if module.bias is not None:
                        module.bias.zero_()
                elif isinstance(module, nn.Embedding):
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                elif isinstance(module, RMSNorm):
                    module.weight.fill_(1.0)

    def hf_state_dict(self) -> dict[str, Tensor]:
        """Tensors to save under HF names: ``lm_head.weight`` only when untied (HF's convention)."""
        state = {k: v for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        return state


def build_model(config: ArchConfig, *, seed: int = 0, attention_fn: AttentionFn = gqa_attention,
                activation_fn: ActivationFn | None = None) -> CausalLM:
    model = CausalLM(config, attention_fn)
    if activation_fn is not None:
        for module in model.modules():
            if isinstance(module, MLP):
                module.act_fn = activation_fn
    model.init_weights(seed)
    return model


def next_token_loss(logits: Tensor, input_ids: Tensor) -> Tensor:
    """Mean next-token cross-entropy in fp32: position t predicts token t+1."""
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), input_ids[:, 1:].reshape(-1)
    )


def window_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy where ``targets`` are already shifted (``x[:, 1:]`` of a seq+1 window)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
