"""The real trainer engine (registered as ``trainer=torch``, the default).

Thin: each member delegates to the module that implements it, so a deliberately broken
subclass (:mod:`engines.trainer.mutants`) can change exactly one decision. Heavy imports
happen inside the methods that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.errors import AprError
from engines.trainer import chinchilla, config, params, preflight

if TYPE_CHECKING:
    from engines.trainer.chinchilla import GateDecision
    from engines.trainer.config import ArchConfig
    from engines.trainer.importer import ImportResult
    from engines.trainer.preflight import VocabCheck

ID_INIT_DROPPED = "FALSIFY-APR-PRETRAIN-ARCH-011"


class TorchTrainer:
    """Plain-PyTorch Llama/Qwen2 trainer."""

    name = "torch"

    # --- architecture ---------------------------------------------------------------------------
    def preset(self, name: str) -> ArchConfig:
        return config.preset(name)

    def resolve_arch(self, arch: str | None, vocab_size: int | None = None) -> ArchConfig:
        if arch is None:
            base = self.preset("default")
        elif arch in config.PRESETS:
            base = self.preset(arch)
        else:
            base = config.resolve_arch(arch)
        return base.replace(vocab_size=vocab_size) if vocab_size is not None else base

    def config_from_hf(self, hf: dict[str, Any], source: str = "config.json") -> ArchConfig:
        return config.from_hf_config(hf, source=source)

    def config_from_init(self, init: Path) -> ArchConfig:
        init = Path(init)
        if init.is_file() and init.suffix == ".gguf":
            from engines.trainer.importer import gguf_hf_config

            hf, _ = gguf_hf_config(init)
            return self.config_from_hf(hf, source=f"{init} (GGUF metadata)")
        path = init / "config.json" if init.is_dir() else init
        if not path.exists():
            raise AprError(f"{init}: --init not found (expected a checkpoint directory or a .gguf file)",
                           hint="pass the --output of `apr import` / `apr pretrain`, or a GGUF file")
        return self.config_from_hf(config.read_hf_config(path), source=str(path))

    def count_parameters(self, cfg: ArchConfig) -> int:
        return params.count_parameters(cfg)

    # --- gates ----------------------------------------------------------------------------------
    def planned_tokens(self, steps: int, batch_size: int, seq_length: int, *, grad_accum: int = 1,
                       world_size: int = 1) -> int:
        return chinchilla.planned_tokens(steps, batch_size, seq_length, grad_accum=grad_accum, world_size=world_size)

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> GateDecision:
        return chinchilla.decide(n_params, steps, tokens_per_step, force=force)

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        return preflight.check_vocab(tokenizer_vocab, model_vocab, init=init, tokenizer=tokenizer)

    # --- model ----------------------------------------------------------------------------------
    def attention(self, q: Any, k: Any, v: Any) -> Any:
        from engines.trainer.model import gqa_attention

        return gqa_attention(q, k, v)

    def gqa_attention(self, q: Any, k: Any, v: Any) -> Any:
        """:meth:`attention` (the model's path) after checking shapes and that KV divides H."""
        from engines.trainer.gqa import check_qkv

        check_qkv(q, k, v)
        return self.attention(q, k, v)

    def attention_weights(self, q: Any, k: Any) -> Any:
        """The causal softmax weights [B, H, T, S] of :meth:`attention`, for inspection."""
        from engines.trainer.gqa import causal_weights

        return causal_weights(q, k)

    # --- absolute positions ---------------------------------------------------------------------
    def sinusoidal_positions(self, positions: Any, dim: int, *, base: float = 10_000.0) -> Any:
        """PE(pos) [..., dim]: sin at even columns, cos at odd, w_i = base^(-2i/dim)."""
        from engines.trainer.positions import sinusoidal

        return sinusoidal(positions, dim, base=base)

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        """token_embed + pos_table[positions]; a position outside the table is refused (PositionError)."""
        from engines.trainer.positions import add_positions

        return add_positions(token_embed, pos_table, positions)

    def build_model(self, cfg: ArchConfig, *, seed: int = 0) -> Any:
        from engines.trainer.model import build_model

        return build_model(cfg, seed=seed, attention_fn=self.attention)

    def read_init_state(self, init: Path, cfg: ArchConfig) -> dict[str, Any]:
        """Init weights (HF names, validated against ``cfg``) from a checkpoint dir or a GGUF."""
        from engines.trainer.checkpoint import check_state_dict, load_checkpoint

        init = Path(init)
        if init.is_file() and init.suffix == ".gguf":
            from engines.trainer.importer import read_gguf

            state = read_gguf(init, unpermute_qk=self.unpermute_qk).state_dict
            return check_state_dict(cfg, state, source=str(init))
        return load_checkpoint(init, require_tokenizer=False).state_dict

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        import torch

        from engines.trainer.checkpoint import load_into

        state = self.read_init_state(init, model.config)
        load_into(model, state, source=str(init))
        # The guard: the weights the model now holds ARE the init's, whatever the device.
        embed = model.model.embed_tokens.weight.detach().cpu()
        if not torch.equal(embed, state["model.embed_tokens.weight"].to(torch.float32).cpu()):
            raise AprError(f"{init}: the init weights did not end up in the model (device {device})",
                           hint="this is a bug in the trainer; refusing to train from scratch silently",
                           exit_code=3, falsifier=ID_INIT_DROPPED)
        return {"init": str(init), "tensors": len(state), "device_requested": device}

    # --- import ---------------------------------------------------------------------------------
    unpermute_qk = True  # GGUF `llama` arch stores q/k rows permuted; undo it on import

    def import_model(self, source: Path, output: Path, *, force: bool = False) -> ImportResult:
        from engines.trainer.importer import import_model

        return import_model(Path(source), Path(output), force=force, unpermute_qk=self.unpermute_qk,
                            config_from_hf=self.config_from_hf)

    # --- schedule (engines/trainer/schedule.py) --------------------------------------------------
    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        from engines.trainer.schedule import factor

        return factor(step, warmup=warmup, total=total, min_ratio=min_ratio)

    def learning_rate(self, step: int, *, lr_max: float, warmup: int, total: int | None,
                      min_ratio: float = 0.0) -> float:
        """The lr of optimizer ``step``: ``lr_max`` x :meth:`lr_factor` (``total`` None: constant after warm-up)."""
        return lr_max * self.lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)

    def lr_horizon(self, num_steps: int, grad_accum: int) -> int:
        """The cosine's horizon: the optimizer steps the run takes. ``--num-steps`` counts optimizer steps
        (each consumes ``grad_accum`` micro-batches), so the horizon is ``num_steps`` whatever ``grad_accum``."""
        return num_steps

    def set_lr(self, optimizer: Any, lr: float) -> None:
        """Give every parameter group (decayed matrices and undecayed norms/biases alike) this step's lr."""
        for group in optimizer.param_groups:
            group["lr"] = lr
