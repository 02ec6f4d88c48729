"""Deliberately broken trainer engines around `--init`, the Chinchilla gate's scope and `--synthetic`.

One realistic defect each (see :mod:`engines.trainer.mutants`); listed there and in the plugin.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.trainer import chinchilla
from engines.trainer.config import ArchConfig
from engines.trainer.engine import TorchTrainer


class InitMissingScratch(TorchTrainer):
    """A missing --init path is "tolerated": a warning, then the from-scratch default is trained."""

    def resolve_init(self, init: Path | None) -> Path | None:
        if init is not None and not Path(init).exists():
            print(f"warning: --init {init} not found; training from scratch", file=sys.stderr)
            return None
        return super().resolve_init(init)


class InitFallbackRandom(TorchTrainer):
    """Unreadable init weights (bad magic, empty file) fall back to the random init with a warning."""

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        try:
            return super().load_init(model, init, device=device)
        except AprError as exc:
            print(f"warning: could not load {init} ({exc}); keeping the random init", file=sys.stderr)
            return {"init": str(init), "tensors": 0, "device_requested": device}


class InitResizesVocab(TorchTrainer):
    """Init embeddings whose row count differs from config.json are padded/truncated (resize_token_embeddings)."""

    def read_init_state(self, init: Path, cfg: ArchConfig) -> dict[str, Any]:
        import torch

        from engines.trainer.checkpoint import _read_weights, check_state_dict

        if not Path(init).is_dir():
            return super().read_init_state(init, cfg)
        state = dict(_read_weights(Path(init)))
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            if name in state and state[name].shape[0] != cfg.vocab_size:
                rows = state[name][: cfg.vocab_size]
                pad = torch.zeros(cfg.vocab_size - rows.shape[0], rows.shape[1], dtype=rows.dtype)
                state[name] = torch.cat([rows, pad])
        return check_state_dict(cfg, state, source=str(init))


class InitReinitLinears(TorchTrainer):
    """A leftover ``post_init()`` after loading: every Linear is re-initialised; embeddings and norms survive."""

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        import torch

        facts = super().load_init(model, init, device=device)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.Linear) and module.weight is not model.model.embed_tokens.weight:
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.02)
        return facts


class InitCarriesOptimizer(TorchTrainer):
    """--init from an intermediate checkpoint also restores its AdamW moments and step counter."""

    def init_optimizer_state(self, init: Path) -> dict[str, Any] | None:
        from engines.trainer.state import STATE_FILE, load_state

        path = Path(init) / STATE_FILE
        return load_state(path).optimizer if path.is_file() else None


class InitUnseededJitter(TorchTrainer):
    """Symmetry-breaking jitter added to the loaded norms from a clock-seeded generator: loads differ run to run."""

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        import torch

        facts = super().load_init(model, init, device=device)
        gen = torch.Generator().manual_seed(time.time_ns())
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.add_(torch.randn(p.shape, generator=gen) * 1e-3)
        return facts


class InitAutoOnly(TorchTrainer):
    """Init weights wired only for the default ``--device auto``: an explicit device silently trains from scratch."""

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        if device != "auto":
            return {"init": str(init), "tensors": 0, "device_requested": device}
        return super().load_init(model, init, device=device)


class ChinchillaInitExempt(TorchTrainer):
    """Fine-tunes from --init are exempt from the gate (as if it only sized from-scratch runs)."""

    def chinchilla_exemption(self, *, synthetic: bool, has_init: bool, steps: int) -> str | None:
        if has_init:
            return "fine-tune from --init"
        return super().chinchilla_exemption(synthetic=synthetic, has_init=has_init, steps=steps)


class ChinchillaSilentForce(TorchTrainer):
    """--force-under-provisioned turns the verdict into a plain ok: the override leaves no trace in the log."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        return replace(decision, verdict="ok") if decision.verdict == "forced" else decision


class ChinchillaGatesSynthetic(TorchTrainer):
    """The synthetic-run exemption is not threaded through: smoke runs are refused like real ones."""

    def chinchilla_exemption(self, *, synthetic: bool, has_init: bool, steps: int) -> str | None:
        return super().chinchilla_exemption(synthetic=False, has_init=has_init, steps=steps)


class ChinchillaRoundedRatio(TorchTrainer):
    """The floor compared on the ratio as displayed (one decimal): 9.96·N .. 10·N - 1 round up to 10 and pass."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.verdict in ("refuse", "forced") and round(decision.ratio, 1) >= chinchilla.FLOOR:
            return replace(decision, verdict="warn", severe=False)
        return decision


class ChinchillaNoWarnBand(TorchTrainer):
    """Anything at or above the 10·N floor is called compute-optimal: the [10·N, 20·N) warning never shows."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        return replace(decision, verdict="ok", suggested_steps=None) if decision.verdict == "warn" else decision


class SyntheticUniform(TorchTrainer):
    """--synthetic draws i.i.d. uniform ids from the alphabet: the learnable pattern is lost, nothing can be learned."""

    def synthetic_tokens(self, count: int, vocab_size: int, eos_id: int | None, seed: int) -> Any:
        import numpy as np

        real = super().synthetic_tokens(count, vocab_size, eos_id, seed)
        alphabet = np.unique(real[real != eos_id]) if eos_id is not None else np.unique(real)
        out = np.random.default_rng(seed).choice(alphabet, size=count).astype("<u4")
        if eos_id is not None:
            out[real == eos_id] = eos_id
        return out

