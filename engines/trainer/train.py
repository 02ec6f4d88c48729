"""`apr pretrain`: gates first (no weights read), then the training loop.

:func:`engines.trainer.plan.preflight` runs every gate and returns the :class:`~engines.trainer.plan.Plan`
without touching a weight. :func:`train` then builds the model (init weights loaded through the engine, which
verifies they arrived), and runs AdamW with warm-up + cosine, gradient clipping, gradient
accumulation and DDP (``torchrun``; gloo on CPU). Batches depend only on (seed, step), so a
``--resume``d run reproduces an uninterrupted one exactly. A non-finite loss or gradient
stops the run, keeps the last good checkpoint and says which one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from engines.errors import AprError, UsageError
from engines.trainer import data as data_mod
from engines.trainer.checkpoint import is_complete, save_checkpoint
from engines.trainer.plan import Plan
from engines.trainer.schedule import LRSchedule, default_warmup
from engines.trainer.state import STATE_FILE, TrainerState, load_state, save_state

CKPT_DIR = "checkpoints"
METRICS = "metrics.jsonl"


@dataclass
class PretrainOptions:
    dataset: list[str]
    tokenizer: str
    output: Path
    num_steps: int
    batch_size: int
    seq_length: int
    lr: float
    init: Path | None = None
    arch: str | None = None
    vocab_size: int | None = None
    val_shards: list[str] = field(default_factory=list)
    grad_accum: int = 1
    device: str = "auto"
    compile: bool = False
    force_under_provisioned: bool = False
    preflight_only: bool = False
    resume: bool = False
    force: bool = False
    seed: int = 0
    warmup_steps: int | None = None
    min_lr_ratio: float = 0.1
    lr_schedule: str = "cosine"  # "constant": no horizon, lr stays at --lr after warm-up
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int | None = None
    save_every: int | None = None
    val_tokens: int = 20_480
    eval_at_start: bool | None = None
    keep_checkpoints: int = 2
    threads: int | None = None
    progress: bool = True
    synthetic: bool = False  # smoke run on generated data (engines.trainer.synthetic); no --dataset
    halt_after: int | None = None  # test hook: die (like a kill) right after this many steps
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))


def _prepare_output(opts: PretrainOptions, rank: int) -> Path | None:
    """Refuse to clobber; return the checkpoint to resume from (or None)."""
    out = opts.output
    ckpts = sorted(p for p in (out / CKPT_DIR).glob("step-*") if (p / STATE_FILE).is_file() and is_complete(p))
    if opts.resume:
        if ckpts:
            return ckpts[-1]
        opts.log(f"note: --resume found no checkpoint under {out / CKPT_DIR}; starting from step 0")
        if rank == 0:
            (out / METRICS).unlink(missing_ok=True)  # records of the lost steps would be duplicated
    elif out.exists() and any(out.iterdir()):
        if not opts.force:
            what = "a finished checkpoint" if is_complete(out) else "files of another run"
            raise AprError(f"{out}: already holds {what}; refusing to overwrite it",
                           hint="pass --resume to continue that run, --force to start over, or another --output")
        if rank == 0:
            shutil.rmtree(out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    return None


def _rewind_metrics(path: Path, step: int) -> None:
    """Keep metrics up to the resumed step so the file reads as one uninterrupted run."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            and (json.loads(line).get("step", 0) < step or ("val_loss" in json.loads(line)
                                                            and json.loads(line)["step"] <= step))]
    write_text_atomic(path, "".join(k + "\n" for k in kept))


def _evaluate(model: Any, windows: Any, batch: int, device: Any) -> float:
    import torch

    from engines.trainer.model import window_loss

    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(windows), batch):
            x = torch.from_numpy(windows[start : start + batch]).to(device)
            total += float(window_loss(model(x[:, :-1]), x[:, 1:])) * len(x)
    model.train(was_training)
    return total / len(windows)


class _Progress:
    def __init__(self, enabled: bool, total: int, start: int) -> None:
        self.bar: Any = None
        if enabled and sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("step {task.completed}/{task.total}"), BarColumn(),
                                TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False)
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=start, info="")

    def update(self, step: int, info: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=step, info=info)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def adamw(param_groups: list[dict[str, Any]], *, compiled: bool, **options: Any) -> Any:
    """``torch.optim.AdamW(param_groups, **options)``; for an eager run, the same optimizer minus a 2 s import.

    torch wraps ``Adam.step`` in ``_use_grad_for_differentiable``, which imports torch._dynamo on
    every call for a graph break that only matters under torch.compile, and marks some
    Optimizer methods with ``_disable_dynamo``, whose first call imports it too: 2-3 s of every
    `apr pretrain` start on 2 cores, for nothing in an eager run. There, ``step`` runs the very
    same unwrapped ``Adam.step`` under ``torch.no_grad()`` (what the wrapper does when
    ``differentiable`` is False) and the marks are pre-set as the wrapper would cache them, so
    the numbers, the state dict and the hooks are AdamW's own (tests/engines/trainer/test_train.py
    checks bit-identical parameters). If a torch release changes these internals, plain AdamW is used.
    """
    import inspect

    import torch

    raw_step = inspect.unwrap(torch.optim.Adam.step)
    if compiled or raw_step is torch.optim.Adam.step or options.get("differentiable"):
        return torch.optim.AdamW(param_groups, **options)
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        inner = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if inner is not None and getattr(inner, "__dynamo_disable", None) is None:
            setattr(inner, "__dynamo_disable", inner)  # the cache `_disable_dynamo` fills on first call

    class EagerAdamW(torch.optim.AdamW):
        def step(self, closure: Any = None) -> Any:
            with torch.no_grad():
                return raw_step(self, closure)

    return EagerAdamW(param_groups, **options)


def train(opts: PretrainOptions, engine: Any, plan: Plan) -> dict[str, Any]:
    import torch
    import torch.distributed as dist

    from engines.trainer.checkpoint import load_checkpoint, load_into
    from engines.trainer.model import window_loss

    world, rank = plan.world_size, plan.rank
    torch.set_num_threads(opts.threads or max(1, (os.cpu_count() or 1) // world))
    if opts.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif opts.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here", hint="use --device cpu or auto")
    else:
        device = torch.device(opts.device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    resume_from = _prepare_output(opts, rank)
    if world > 1:
        dist.barrier()
    torch.manual_seed(opts.seed)
    model = engine.build_model(plan.config, seed=opts.seed)
    start, tokens_seen, init_facts = 0, 0, None
    optimizer_state = None
    if resume_from is not None:
        ckpt = load_checkpoint(resume_from, require_tokenizer=False)
        if ckpt.config != plan.config:
            raise AprError(f"{resume_from}: its architecture differs from this command's",
                           hint="resume with the same --arch/--init/--vocab-size as the original run")
        load_into(model, ckpt.state_dict, source=str(resume_from))
        state = load_state(resume_from / STATE_FILE)  # weights_only: a state file never runs code
        start, tokens_seen, optimizer_state = state.step, state.tokens_seen, state.optimizer
        if rank == 0:
            _rewind_metrics(opts.output / METRICS, start)
            opts.log(f"resuming from {resume_from} (step {start})")
    elif opts.init is not None:
        init_facts = engine.load_init(model, opts.init, device=opts.device)
        optimizer_state = engine.init_optimizer_state(opts.init)  # None: only weights are inherited
    model.to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = adamw([{"params": decay, "weight_decay": opts.weight_decay},
                       {"params": no_decay, "weight_decay": 0.0}], compiled=opts.compile, lr=opts.lr,
                      betas=(0.9, 0.95), eps=1e-8)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    wrapped: Any = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def batch_loss(x: Any) -> Any:
        return window_loss(wrapped(x[:, :-1]), x[:, 1:])

    # Compiling the loss with the model lets inductor fuse the fp32 log-softmax over the vocab.
    loss_fn = torch.compile(batch_loss) if opts.compile else batch_loss

    sampler = data_mod.WindowSampler(plan.shards, plan.split.train, opts.seq_length, opts.seed)
    val_windows = plan.held_out.windows
    warmup = opts.warmup_steps if opts.warmup_steps is not None else default_warmup(opts.num_steps)
    horizon = engine.lr_horizon(opts.num_steps, opts.grad_accum) if opts.lr_schedule == "cosine" else None
    schedule = LRSchedule(opts.lr_schedule, opts.lr, warmup, horizon, opts.min_lr_ratio)
    eval_every = opts.eval_every or max(1, opts.num_steps // 5)
    save_every = opts.save_every or eval_every
    rows = opts.batch_size * world * opts.grad_accum
    metrics_path = opts.output / METRICS
    last_ckpt: Path | None = resume_from
    last_val: float | None = None

    def log_metrics(record: dict[str, Any]) -> None:
        if rank == 0:
            with open(metrics_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def save(step: int, directory: Path, final: bool) -> None:
        nonlocal last_ckpt
        if rank == 0:
            meta = {"step": step, "tokens_seen": tokens_seen, "val_loss": last_val, "seed": opts.seed,
                    "dataset_manifest_sha256": plan.shards.manifest_sha256, "validation": plan.split.description,
                    "init": str(opts.init) if opts.init else None, "lr": opts.lr, "batch_size": opts.batch_size,
                    "grad_accum": opts.grad_accum, "world_size": world, "seq_length": opts.seq_length,
                    "num_steps": opts.num_steps, "parameters": plan.n_params, "final": final,
                    "general": _model_card_of(opts.init)}
            save_checkpoint(directory, plan.config, model.state_dict(), plan.tokenizer.path, meta)
            if not final:
                save_state(directory / STATE_FILE, TrainerState(step, tokens_seen, optimizer.state_dict()))
                _prune(opts.output / CKPT_DIR, opts.keep_checkpoints)
            last_ckpt = directory
        if world > 1:
            dist.barrier()

    def stop_non_finite(what: str, value: float, step: int) -> None:
        log_metrics({"step": step, "event": f"non-finite {what}", "value": str(value)})
        kept = f"the last good checkpoint is {last_ckpt}" if last_ckpt else "no checkpoint had been written yet"
        raise AprError(f"{what} became {value} at step {step}; training stopped, nothing was overwritten, {kept}",
                       hint="lower --lr, raise --warmup-steps or check the data; --resume continues from that checkpoint")

    if rank == 0:
        opts.log(f"validation: {plan.split.description}; {val_windows.shape[0]} windows x {opts.seq_length} tokens; "
                 f"metrics -> {metrics_path}")
    eval_start = opts.eval_at_start if opts.eval_at_start is not None else opts.init is not None
    if start == 0 and eval_start and rank == 0:
        last_val = _evaluate(model, val_windows, opts.batch_size, device)
        log_metrics({"step": 0, "val_loss": last_val, "val_tokens": int(val_windows.shape[0] * opts.seq_length)})
    progress = _Progress(opts.progress and rank == 0, opts.num_steps, start)
    t_last, tok_rate = time.perf_counter(), 0.0
    model.train()
    try:
        for step in range(start, opts.num_steps):
            lr = engine.learning_rate(step, lr_max=opts.lr, warmup=warmup, total=horizon, min_ratio=opts.min_lr_ratio)
            engine.set_lr(optimizer, lr)
            batch = sampler.global_batch(step, rows)
            optimizer.zero_grad(set_to_none=True)
            loss_sum = torch.zeros((), dtype=torch.float64)
            for micro in range(opts.grad_accum):
                first = (micro * world + rank) * opts.batch_size
                x = torch.from_numpy(batch[first : first + opts.batch_size]).to(device)
                sync = wrapped.no_sync() if world > 1 and micro < opts.grad_accum - 1 else nullcontext()
                with sync:
                    loss = loss_fn(x)
                    (loss / opts.grad_accum).backward()
                loss_sum += loss.detach().double().cpu()
            mean_loss = loss_sum / opts.grad_accum
            if world > 1:
                dist.all_reduce(mean_loss, op=dist.ReduceOp.SUM)
                mean_loss /= world
            value = float(mean_loss)
            if not math.isfinite(value):
                stop_non_finite("loss", value, step)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip))
            if not math.isfinite(grad_norm):
                stop_non_finite("gradient norm", grad_norm, step)
            stepped_lr = [g["lr"] for g in optimizer.param_groups]  # read at the step, not after it
            optimizer.step()
            tokens_seen += rows * opts.seq_length
            now = time.perf_counter()
            tok_rate = rows * opts.seq_length / max(now - t_last, 1e-9)
            t_last = now
            # group_lr: what each AdamW param group actually stepped with (the schedule reaches all of them).
            log_metrics({"step": step, "loss": value, "lr": lr, "group_lr": stepped_lr,
                         "grad_norm": grad_norm,
                         "tokens_seen": tokens_seen, "tokens_per_s": round(tok_rate, 1)})
            done = step + 1
            if rank == 0 and (done % eval_every == 0 or done == opts.num_steps):
                last_val = _evaluate(model, val_windows, opts.batch_size, device)
                log_metrics({"step": done, "val_loss": last_val})
            val_text = f"{last_val:.4f}" if last_val is not None else "-"
            progress.update(done, f"loss {value:.4f} val {val_text} {tok_rate:,.0f} tok/s")
            if done % save_every == 0 and done < opts.num_steps:
                save(done, opts.output / CKPT_DIR / f"step-{done:06d}", final=False)
            if opts.halt_after is not None and done >= opts.halt_after:
                sys.stderr.flush()
                os._exit(137)  # simulate a kill: no cleanup, no final checkpoint
            t_last = time.perf_counter()  # tokens/s measures training steps, not evaluation or saving
    finally:
        progress.close()
    save(opts.num_steps, opts.output, final=True)
    if world > 1:
        dist.destroy_process_group()
    return {"output": str(opts.output), "steps": opts.num_steps, "tokens_seen": tokens_seen, "val_loss": last_val,
            "init": init_facts, "resumed_from": str(resume_from) if resume_from else None,
            "validation": plan.split.description, "tokens_per_s": round(tok_rate, 1),
            "schedule": schedule.to_dict()}


def _model_card_of(init: Path | None) -> dict[str, str]:
    """A fine-tuned model keeps its base model's licence and links (see engines.model_card)."""
    from engines import model_card

    if init is None:
        return {}
    if init.is_file() and init.suffix == ".gguf":
        from engines.trainer.importer import gguf_hf_config

        return model_card.from_gguf_values(gguf_hf_config(init)[1])
    return model_card.from_directory(init if init.is_dir() else init.parent)


def _prune(directory: Path, keep: int) -> None:
    if keep <= 0:
        return
    steps = sorted(p for p in directory.glob("step-*") if p.is_dir())
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
