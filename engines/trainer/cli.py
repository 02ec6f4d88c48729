"""`apr pretrain`, `apr import`, `apr inspect` (added to the `apr` dispatcher by engines.cli).

Light at import time: handlers import torch & co. Every handler uses the trainer engine chosen
by ``engines.cli.engine_for("trainer")`` (default ``torch``; the hidden ``--engine-impl
trainer=NAME`` swaps in another registered engine, which is how falsifiers exercise mutants
through the real command).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engines.errors import UsageError, require_paths


def _engine() -> Any:
    from engines.cli import engine_for

    return engine_for("trainer")


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "format", "text") == "json":
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(text)


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pretrain", help="train (or fine-tune from --init) a Llama/Qwen2 decoder on encode-corpus shards",
        description="Gates first (architecture, vocab, Chinchilla; exit 1 naming the gate id when one "
        "refuses), then AdamW with warm-up + cosine, held-out validation, atomic HF-loadable checkpoints.",
    )
    p.add_argument("--dataset", nargs="+", default=[], metavar="SHARDS",
                   help="shard files or directories (required unless --synthetic)")
    p.add_argument("--synthetic", action="store_true",
                   help="smoke run on generated, learnable tokens instead of --dataset; without --init the "
                   "Chinchilla gate does not apply")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json, import-hf dir or checkpoint dir")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--init", type=Path, help="checkpoint directory or .gguf to fine-tune from")
    src.add_argument("--arch", help="preset (tiny, default, qwen2-0.5b) or an HF config.json (from scratch)")
    p.add_argument("--vocab-size", type=int, help="override the preset's vocab_size (from scratch only)")
    p.add_argument("--val-shards", nargs="+", default=[], metavar="SHARDS", help="held-out shards")
    p.add_argument("--num-steps", type=int, required=True)
    p.add_argument("--batch-size", type=int, required=True, help="rows per process per micro-step")
    p.add_argument("--seq-length", type=int, required=True)
    p.add_argument("--lr", type=float, required=True, help="peak learning rate")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
    p.add_argument("--force-under-provisioned", action="store_true", help="train even below 10·N tokens")
    p.add_argument("--preflight-only", action="store_true", help="run every gate and exit; reads no weights")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output")
    p.add_argument("--force", action="store_true", help="replace an existing --output")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--lr-schedule", choices=["cosine", "constant"], default="cosine",
                   help="after warm-up: cosine decay to --min-lr-ratio over --num-steps optimizer steps, or constant")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--save-every", type=int)
    p.add_argument("--val-tokens", type=int, default=20_480, help="held-out tokens per evaluation")
    p.add_argument("--eval-at-start", action=argparse.BooleanOptionalAction, default=None,
                   help="measure val loss before step 0 (default: on with --init)")
    p.add_argument("--keep-checkpoints", type=int, default=2)
    p.add_argument("--threads", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--halt-after", type=int, help=argparse.SUPPRESS)
    p.set_defaults(func=run_pretrain)

    imp = subparsers.add_parser("import", help="HF model directory or GGUF file -> checkpoint directory")
    imp.add_argument("source", type=Path)
    imp.add_argument("--output", type=Path, required=True)
    imp.add_argument("--force", action="store_true")
    imp.add_argument("--format", choices=["text", "json"], default="text")
    imp.set_defaults(func=run_import)

    ins = subparsers.add_parser("inspect", help="architecture, parameter count and metadata of a checkpoint/GGUF/safetensors/config")
    ins.add_argument("path", type=Path)
    ins.add_argument("--format", choices=["text", "json"], default="text")
    ins.set_defaults(func=run_inspect)


def options_from_args(args: argparse.Namespace) -> Any:
    from engines.trainer.train import PretrainOptions

    return PretrainOptions(
        dataset=list(args.dataset), tokenizer=args.tokenizer, output=args.output, num_steps=args.num_steps,
        batch_size=args.batch_size, seq_length=args.seq_length, lr=args.lr, init=args.init, arch=args.arch,
        vocab_size=args.vocab_size, val_shards=list(args.val_shards), grad_accum=args.grad_accum,
        device=args.device, compile=args.compile, force_under_provisioned=args.force_under_provisioned,
        preflight_only=args.preflight_only, synthetic=args.synthetic, resume=args.resume, force=args.force, seed=args.seed,
        warmup_steps=args.warmup_steps, min_lr_ratio=args.min_lr_ratio, lr_schedule=args.lr_schedule, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, eval_every=args.eval_every, save_every=args.save_every,
        val_tokens=args.val_tokens, eval_at_start=args.eval_at_start, keep_checkpoints=args.keep_checkpoints,
        threads=args.threads, progress=not args.no_progress, halt_after=args.halt_after,
    )


def run_pretrain(args: argparse.Namespace) -> int:
    from engines.trainer.plan import preflight
    from engines.trainer.train import train

    if args.init is not None and args.vocab_size is not None:
        raise UsageError("--vocab-size only applies to a from-scratch --arch; --init fixes the vocab")
    opts = options_from_args(args)
    engine = _engine()
    plan = preflight(opts, engine)
    report = {"engine": engine.name, "preflight": plan.report()}
    if args.preflight_only:
        cfg, gate = plan.config, plan.gate
        _emit(args, {**report, "preflight_only": True},
              f"preflight passed: {cfg.family} {cfg.num_hidden_layers}L h{cfg.hidden_size} "
              f"heads {cfg.num_attention_heads}/{cfg.num_kv_heads} vocab {cfg.vocab_size:,}; "
              f"N = {plan.n_params:,}; tokenizer {plan.tokenizer.vocab_size:,} ({plan.vocab.rule}); "
              f"Chinchilla {gate.verdict}: D = {gate.tokens:,} ({gate.ratio:.3g}·N); {plan.split.description}")
        return 0
    summary = train(opts, engine, plan)
    if plan.rank == 0:
        _emit(args, {**report, "result": summary},
              f"trained {summary['steps']} steps, {summary['tokens_seen']:,} tokens; val loss "
              f"{summary['val_loss']}; checkpoint {summary['output']}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    require_paths([args.source], hint="pass a Hugging Face model folder or a .gguf file")
    result = _engine().import_model(args.source, args.output, force=args.force)
    _emit(args, result.to_dict(), f"imported {result.kind} {result.source} -> {result.output}: "
          f"{result.config.family}, {result.parameters:,} parameters, {result.tensors} tensors")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from engines.trainer.checkpoint import read_meta, tokenizer_in
    from engines.trainer.config import describe

    path: Path = args.path
    require_paths([path], hint="pass a checkpoint folder, a .gguf file, a .safetensors file or a config.json")
    engine = _engine()
    config = engine.config_from_init(path)
    kind = "checkpoint" if path.is_dir() else {".gguf": "gguf", ".safetensors": "safetensors"}.get(path.suffix, "config")
    payload: dict[str, Any] = {"path": str(path), "format": kind, "architecture": describe(config),
                               "parameters": engine.count_parameters(config)}
    if path.is_dir():
        payload["meta"] = read_meta(path)
        tok = tokenizer_in(path)
        if tok is not None:
            from engines.trainer.preflight import tokenizer_facts

            facts = tokenizer_facts(path)
            payload["tokenizer"] = {"path": str(tok), "vocab_size": facts.vocab_size, "eos_id": facts.eos_id}
    text = "\n".join([f"{path}: {config.family} ({config.hf_class})",
                      *(f"  {k}: {v}" for k, v in describe(config).items()),
                      f"  parameters: {payload['parameters']:,}",
                      *([f"  tokenizer: {payload['tokenizer']['vocab_size']:,} ids"] if "tokenizer" in payload else []),
                      *([f"  step: {payload['meta'].get('step')}  val_loss: {payload['meta'].get('val_loss')}"]
                        if payload.get("meta") else [])])
    _emit(args, payload, text)
    sys.stdout.flush()
    return 0
