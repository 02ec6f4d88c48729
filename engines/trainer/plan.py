"""`apr pretrain`'s plan: every gate run and every input opened before a weight is read.

:func:`preflight` resolves the tokenizer, the architecture (``--init`` config, ``--arch`` or the
default), runs the vocab gate and the Chinchilla gate, opens and checks the shards, and
describes the held-out split: everything ``--preflight-only`` reports, as a :class:`Plan`.
Kept apart from :mod:`engines.trainer.train` (the training loop) because a refused or
``--preflight-only`` run needs none of the loop; like it, this module imports no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.errors import UsageError, require_paths
from engines.trainer import data as data_mod
from engines.trainer import synthetic
from engines.trainer.chinchilla import GateDecision, enforce, exempt
from engines.trainer.config import ArchConfig, describe
from engines.trainer.validation import HeldOut

if TYPE_CHECKING:  # train.py imports this module: the options type is only an annotation here
    from engines.trainer.train import PretrainOptions


@dataclass
class Plan:
    config: ArchConfig
    tokenizer: Any  # preflight.TokenizerFacts
    n_params: int
    vocab: Any  # preflight.VocabCheck
    gate: GateDecision
    shards: data_mod.ShardSet
    val_shards: data_mod.ShardSet | None
    split: data_mod.Split
    world_size: int
    rank: int
    held_out: HeldOut

    def report(self) -> dict[str, Any]:
        return {
            "architecture": describe(self.config), "parameters": self.n_params,
            "tokenizer": {"path": str(self.tokenizer.path), "vocab_size": self.tokenizer.vocab_size,
                          "eos_id": self.tokenizer.eos_id, "sha256": self.tokenizer.sha256},
            "vocab_check": self.vocab.to_dict(), "chinchilla": self.gate.to_dict(),
            "dataset": {"shards": [str(p) for p in self.shards.paths], "tokens": self.shards.tokens,
                        "manifest_sha256": self.shards.manifest_sha256},
            "validation": {**self.split.to_dict(), **self.held_out.to_dict()}, "world_size": self.world_size,
        }


def _dist_env() -> tuple[int, int]:
    return int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))


def preflight(opts: PretrainOptions, engine: Any) -> Plan:
    """Every gate, no weights read. Raises AprError (exit 1) naming the gate id when one refuses.

    Missing input paths and shard folders without shards are refused first (UsageError, exit 2).
    """
    from engines.trainer.preflight import tokenizer_facts

    for name in ("batch_size", "seq_length", "grad_accum"):
        if getattr(opts, name) <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {getattr(opts, name)}")
    if opts.num_steps < 0 or (opts.num_steps == 0 and opts.init is None):
        raise UsageError(f"--num-steps must be positive, got {opts.num_steps}",
                         hint="--num-steps 0 is only for --init (load, evaluate and save the init unchanged)")
    if opts.synthetic == bool(opts.dataset):
        raise UsageError("pass either --dataset SHARDS or --synthetic" if not opts.synthetic else
                         "--synthetic generates its own data; do not combine it with --dataset",
                         hint="--synthetic is a smoke run of the pipeline on generated tokens")
    if opts.init is not None and (opts.arch is not None or opts.vocab_size is not None):
        raise UsageError("--init fixes the architecture; do not combine it with --arch / --vocab-size",
                         hint="drop --arch/--vocab-size, or drop --init to train from scratch")
    # Inputs first: a mistyped path must be the one thing reported, before any gate prints findings.
    require_paths([*opts.dataset, *opts.val_shards], hint="--dataset / --val-shards take encode-corpus output "
                  "folders or shard-*.bin files")
    require_paths([opts.tokenizer], hint="--tokenizer takes a tokenizer.json, an import-hf folder or a checkpoint")
    opts.init = engine.resolve_init(opts.init)
    shards = engine.open_shards(opts.dataset) if not opts.synthetic else None
    val = engine.open_val_shards(opts.val_shards, opts.seq_length) if opts.val_shards else None
    tok = tokenizer_facts(opts.tokenizer)
    config = engine.config_from_init(opts.init) if opts.init is not None else engine.resolve_arch(
        opts.arch, opts.vocab_size)
    vocab = engine.check_vocab(tok.vocab_size, config.vocab_size, init=opts.init is not None,
                               tokenizer=str(tok.path))
    if config.eos_token_id is None and tok.eos_id is not None:
        # A from-scratch preset cannot know the tokenizer's EOS; without it the checkpoint says
        # nowhere where generation stops and `apr export` refuses it (found by FALSIFY-LIFECYCLE-001).
        config = config.replace(eos_token_id=tok.eos_id)
    world, rank = _dist_env()
    n_params = engine.count_parameters(config)
    per_step = engine.planned_tokens(1, opts.batch_size, opts.seq_length, grad_accum=opts.grad_accum,
                                     world_size=world)
    reason = engine.chinchilla_exemption(synthetic=opts.synthetic, has_init=opts.init is not None,
                                         steps=opts.num_steps)
    if reason is not None:
        gate = exempt(n_params, opts.num_steps, per_step, reason)
    else:
        gate = engine.chinchilla(n_params, opts.num_steps, per_step, force=opts.force_under_provisioned)
    enforce(gate)
    if gate.verdict == "exempt" and rank == 0:
        opts.log(f"note: {gate.message}")
    elif gate.verdict != "ok" and rank == 0:
        extra = f"; suggested --num-steps {gate.suggested_steps:,}" if gate.suggested_steps else ""
        # A bypass is logged as one: the run log must show the gate was overridden, not passed.
        what = "BYPASSED by --force-under-provisioned" if gate.verdict == "forced" else f"({gate.verdict})"
        opts.log(f"warning: Chinchilla gate {what}: {gate.message}{extra}")
    if shards is None:  # --synthetic: generated now that the vocab and EOS are known
        rows = opts.batch_size * world * opts.grad_accum
        count = synthetic.planned_count(opts.num_steps, rows, opts.seq_length, opts.val_tokens)
        stream = engine.synthetic_tokens(count, min(tok.vocab_size, config.vocab_size), tok.eos_id, opts.seed)
        shards = engine.open_shards([str(synthetic.write_shards(stream, tok.vocab_size, tok.eos_id))])
    data_mod.check_ids(shards, config.vocab_size)
    if val is not None:
        data_mod.check_ids(val, config.vocab_size)
    held = engine.held_out(shards, val, seq_length=opts.seq_length, max_tokens=opts.val_tokens,
                           eos_id=shards.eos_id if shards.eos_id is not None else tok.eos_id)
    return Plan(config, tok, n_params, vocab, gate, shards, val, held.split, world, rank, held)
