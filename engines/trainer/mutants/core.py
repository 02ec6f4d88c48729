"""Broken trainer engines for presets and arch defaults, the vocab preflight, Chinchilla counts and
bands, GGUF q/k un-permute at import, warm-up and `apr inspect` (one realistic defect each).

Each subclasses the real :class:`~engines.trainer.engine.TorchTrainer` and changes exactly one
decision the way a plausible bug would. None of them merely raises: a falsifier must *observe*
the wrong behaviour (a wrong number, a refusal that should pass, a pass that should refuse).
Registered, like the others, in the table of :mod:`engines.trainer.plugin`
under ``broken-...`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from engines.trainer import chinchilla, config
from engines.trainer.config import ArchConfig
from engines.trainer.engine import TorchTrainer
from engines.trainer.preflight import PreflightError, VocabCheck, check_vocab


class QwenPresetRope(TorchTrainer):
    """qwen2_0_5b() copied from a Llama preset: rope θ 10,000 instead of 1,000,000."""

    def preset(self, name: str) -> ArchConfig:
        base = super().preset(name)
        return base.replace(rope_theta=10_000.0) if name == "qwen2-0.5b" else base


class ScratchMHA(TorchTrainer):
    """The from-scratch default forgets its KV-head override: plain MHA (16/16) instead of GQA 4:1."""

    def preset(self, name: str) -> ArchConfig:
        base = super().preset(name)
        return base.replace(num_kv_heads=base.num_attention_heads) if name == "default" else base


class DefaultsMissingField(TorchTrainer):
    """Config extraction fills missing fields with LlamaConfig-style defaults instead of refusing."""

    DEFAULTS: ClassVar[dict[str, Any]] = {"rope_theta": 10_000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
                "num_key_value_heads": None, "max_position_embeddings": 2048, "attention_bias": False,
                "hidden_act": "silu"}

    def config_from_hf(self, hf: dict[str, Any], source: str = "config.json") -> ArchConfig:
        filled = dict(hf)
        for key, value in self.DEFAULTS.items():
            if filled.get(key) is None and not (key == "rope_theta" and filled.get("rope_parameters")):
                filled[key] = value if value is not None else filled.get("num_attention_heads")
        return config.from_hf_config(filled, source=source)


class GQATilesKV(TorchTrainer):
    """GQA that expands KV heads with ``repeat`` (tiling) instead of ``repeat_interleave``.

    Query head h then reads KV head ``h % KV`` instead of ``h // (H/KV)``: shapes are right,
    1:1 attention is unaffected, every grouped ratio computes the wrong thing.
    """

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        import torch.nn.functional as F

        n_rep = q.shape[1] // k.shape[1]
        k, v = k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class StrictVocabUnderInit(TorchTrainer):
    """The pre-relaxation preflight: strict equality even with --init (Qwen2.5 can never be fine-tuned)."""

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        return check_vocab(tokenizer_vocab, model_vocab, init=False, tokenizer=tokenizer)


class RelaxedWithoutInit(TorchTrainer):
    """The relaxed ``tokenizer <= model`` bound applied without --init too."""

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        return check_vocab(tokenizer_vocab, model_vocab, init=True, tokenizer=tokenizer)


class BoundOffByOne(TorchTrainer):
    """Under --init, compares the tokenizer's max id (size - 1) with the model vocab: size model+1 slips through."""

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        if init and tokenizer_vocab - 1 <= model_vocab:
            return VocabCheck(tokenizer_vocab, model_vocab, True, "tokenizer <= model", model_vocab - tokenizer_vocab)
        if init:
            raise PreflightError(f"tokenizer {tokenizer_vocab} > model {model_vocab}",
                                 falsifier="FALSIFY-APR-PRETRAIN-ARCH-010")
        return check_vocab(tokenizer_vocab, model_vocab, init=init, tokenizer=tokenizer)


class BoundExclusive(TorchTrainer):
    """Refuses ``tokenizer >= model`` instead of ``>``: a tokenizer that fills every embedding row is refused."""

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        if tokenizer_vocab == model_vocab:
            raise PreflightError(f"tokenizer {tokenizer_vocab} ids >= model {model_vocab} rows",
                                 falsifier="FALSIFY-APR-PRETRAIN-ARCH-010")
        return check_vocab(tokenizer_vocab, model_vocab, init=init, tokenizer=tokenizer)


class AcceptsEncoder(TorchTrainer):
    """No family check: any config with the right numbers is built as a Llama decoder."""

    def config_from_hf(self, hf: dict[str, Any], source: str = "config.json") -> ArchConfig:
        patched = dict(hf)
        if patched.get("model_type") not in config.HF_CLASS:
            patched["model_type"], patched["architectures"] = "llama", ["LlamaForCausalLM"]
            patched.pop("is_encoder_decoder", None)
        return config.from_hf_config(patched, source=source)


class InitCpuOnly(TorchTrainer):
    """Init weights wired only for an explicit ``--device cpu``: ``auto``/``cuda`` silently train from scratch."""

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        if device != "cpu":
            return {"init": str(init), "tensors": 0, "device_requested": device}
        return super().load_init(model, init, device=device)


class CountTiedTwice(TorchTrainer):
    """Counts ``lm_head`` even when it is the tied embedding (N too large by vocab x hidden)."""

    def count_parameters(self, cfg: ArchConfig) -> int:
        n = super().count_parameters(cfg)
        return n + cfg.vocab_size * cfg.hidden_size if cfg.tie_word_embeddings else n


class TokensIgnoreAccum(TorchTrainer):
    """D computed from the per-process micro-batch: gradient accumulation is forgotten."""

    def planned_tokens(self, steps: int, batch_size: int, seq_length: int, *, grad_accum: int = 1,
                       world_size: int = 1) -> int:
        return steps * batch_size * world_size * seq_length


class SuggestFloor(TorchTrainer):
    """The suggested --num-steps rounds down, so following the advice still falls short of 20·N."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.suggested_steps is None:
            return decision
        from dataclasses import replace

        return replace(decision, suggested_steps=chinchilla.OPTIMAL * n_params // tokens_per_step)


class RefuseBelow5N(TorchTrainer):
    """The refusal threshold is the *severe* one (5·N): runs between 5·N and 10·N pass with a warning."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.verdict == "refuse" and not decision.severe:
            from dataclasses import replace

            return replace(decision, verdict="warn")
        return decision


class SevereUnworded(TorchTrainer):
    """Severity compared against 5 *steps'* tokens instead of 5·N: the severe wording never appears."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.severe:
            from dataclasses import replace

            severe = decision.tokens < chinchilla.SEVERE * tokens_per_step
            message = decision.message.replace("SEVERELY under-provisioned (below 5·N)",
                                               "under-provisioned (below 10·N)")
            return replace(decision, severe=severe, message=message)
        return decision


class FloorInclusive(TorchTrainer):
    """The floor written ``D <= 10·N: refuse`` instead of ``D < 10·N``: a run of exactly 10·N tokens is refused."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.tokens == chinchilla.FLOOR * n_params:
            from dataclasses import replace

            return replace(decision, verdict="forced" if force else "refuse", message=decision.message.replace(
                "is below the Chinchilla-optimal", "is under-provisioned (below 10·N); need"))
        return decision


class OptimalExclusive(TorchTrainer):
    """Compute-optimal written ``D > 20·N`` instead of ``D >= 20·N``: exactly 20·N tokens still warns."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.tokens == chinchilla.OPTIMAL * n_params:
            from dataclasses import replace

            return replace(decision, verdict="warn", suggested_steps=steps,
                           message=decision.message.replace("compute-optimal", "below the Chinchilla-optimal 20·N"))
        return decision


class SevereInclusive(TorchTrainer):
    """Severity written ``D <= 5·N`` instead of ``D < 5·N``: exactly 5·N tokens is called SEVERELY short."""

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> Any:
        decision = super().chinchilla(n_params, steps, tokens_per_step, force=force)
        if decision.tokens == chinchilla.SEVERE * n_params:
            from dataclasses import replace

            return replace(decision, severe=True, message=decision.message.replace(
                "under-provisioned (below 10·N)", "SEVERELY under-provisioned (below 5·N)"))
        return decision


class ImportKeepsPermutation(TorchTrainer):
    """`apr import` of a llama-arch GGUF forgets to un-permute q/k (RoPE pairs the wrong rows)."""

    unpermute_qk = False


class WarmupIntDiv(TorchTrainer):
    """Warm-up factor computed with integer division: the learning rate is 0 for the whole warm-up."""

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        if warmup > 0 and step < warmup:
            return float((step + 1) // warmup)
        return super().lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)


class InspectSafetensorsAsConfig(TorchTrainer):
    """`apr inspect model.safetensors` reads the tensor file itself as the config.json (any non-GGUF file is a config)."""

    def config_from_init(self, init: Path) -> ArchConfig:
        init = Path(init)
        if init.is_file() and init.suffix != ".gguf":
            return self.config_from_hf(config.read_hf_config(init), source=str(init))
        return super().config_from_init(init)

