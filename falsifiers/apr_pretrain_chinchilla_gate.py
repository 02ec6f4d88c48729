"""Falsifiers of apr-pretrain-chinchilla-gate-v1 (FALSIFY-APR-PRETRAIN-CHINCHILLA-001..005).

Every check goes through ``apr pretrain`` and reads the gate's verdict from its report, on a
really built model. Every bound is exercised on the dot and one token below it: with batch 1
and sequence length 1, D = --num-steps, so D = k·N and k·N - 1 are reachable for any N.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._trainer_support import (
    CHIN,
    QWEN_PARAMS,
    gate_at,
    gate_missed,
    gate_n_params,
    gate_run,
    scratch_source,
)


def _gate(ctx: RunContext, steps: int, *extra: str, seq: int = 64, env: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, Any], str]:
    """The gate for a from-scratch ``--arch tiny`` run (shared with chinchilla-gate-v1's --init runs)."""
    return gate_run(ctx, scratch_source(ctx), steps, *extra, seq=seq, env=env)


def _at(ctx: RunContext, tokens: int, *extra: str) -> tuple[int, dict[str, Any], str]:
    return gate_at(ctx, scratch_source(ctx), tokens, *extra)


_missed = gate_missed


def _n_params(ctx: RunContext) -> int:
    return gate_n_params(ctx, scratch_source(ctx))


@falsifier("FALSIFY-APR-PRETRAIN-CHINCHILLA-001", level="algorithm", engines=["trainer"])
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


@falsifier("FALSIFY-APR-PRETRAIN-CHINCHILLA-002", level="integration", engines=["trainer"])
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


@falsifier("FALSIFY-APR-PRETRAIN-CHINCHILLA-003", level="integration", engines=["trainer"])
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


@falsifier("FALSIFY-APR-PRETRAIN-CHINCHILLA-004", level="integration", engines=["trainer"])
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


@falsifier("FALSIFY-APR-PRETRAIN-CHINCHILLA-005", level="integration", engines=["trainer"])
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


CONTRACT = "apr-pretrain-chinchilla-gate-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
