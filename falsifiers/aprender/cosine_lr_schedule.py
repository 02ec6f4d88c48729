"""Falsifiers of the reference contract cosine-lr-schedule-v1 (FALSIFY-COSINE-*, entrenar/): warm-up + cosine
learning-rate schedule.

How the claims are read on our trainer:

* The contract's schedule decays to zero; ours decays to ``--min-lr-ratio`` x ``--lr`` (default 0.1),
  so every check runs it with ``min_ratio = 0`` (`apr pretrain --min-lr-ratio 0`).
* 001-004 ask the engine's schedule (``TrainerEngine.learning_rate``, the function `apr pretrain`
  calls every optimizer step) for the lr at given steps with the contract's givens (warm-up 100,
  max_steps 1000, lr_max 3e-4; max_steps None = `apr pretrain --lr-schedule constant`).
* 005 ("the CPU embedding optimizer gets the current lr every step") is read as: in a real
  `apr pretrain` run, every AdamW parameter group (weight-decayed matrices — the embedding among
  them — and the undecayed norms/biases) steps with the schedule's lr at every step. The run logs
  each group's lr (``group_lr`` in metrics.jsonl). Scaled down from 1000 steps to a tiny run.
* 006 ("max_steps is calibrated to the real horizon") is read as: in a real run with
  ``--grad-accum 2``, the cosine horizon the run reports equals the optimizer steps it took and the
  lr of its last step is < 5 % of peak; plus the contract's own arithmetic example, asked of the
  engine's horizon rule.

The schedule's warm-up starts at ``lr_max / warmup`` (step 0 already trains), not at 0 as the
contract's equations say; no falsifier of the contract tests that point, and we keep it.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._tiny_pretrain import must_succeed, pretrain

WARMUP, MAX_STEPS, LR_MAX = 100, 1000, 3e-4  # the contract's givens


def _lr(ctx: RunContext, step: int, *, total: int | None = MAX_STEPS, warmup: int = WARMUP,
        lr_max: float = LR_MAX) -> float:
    return float(ctx.engine("trainer").learning_rate(step, lr_max=lr_max, warmup=warmup, total=total, min_ratio=0.0))


def _contract_cosine(step: int) -> float:
    """The contract's decay formula, written here independently of the engine."""
    return 0.5 * LR_MAX * (1 + math.cos(math.pi * (step - WARMUP) / (MAX_STEPS - WARMUP)))


@falsifier("FALSIFY-COSINE-001", level="algorithm", engines=["trainer"])
def midpoint_is_half_peak(ctx: RunContext) -> Verdict:
    """lr(550) = 1.5e-4 within 1e-8 (the contract's tolerance; float error here is ~1e-20); the midpoint also
    separates its neighbours (lr(549) > 1.5e-4 > lr(551)) and each matches the contract's formula."""
    got = {s: _lr(ctx, s) for s in (549, 550, 551)}
    wrong = [f"lr({s}) = {v:.10g}, formula {_contract_cosine(s):.10g}" for s, v in got.items()
             if abs(v - _contract_cosine(s)) >= 1e-8]
    if abs(got[550] - 1.5e-4) >= 1e-8 or wrong or not got[549] > 1.5e-4 > got[551]:
        return ctx.falsified(f"lr(550) = {got[550]:.10g}, expected 1.5e-4 (warm-up 100, max 1000, peak 3e-4)"
                             + (f"; {'; '.join(wrong)}" if wrong else ""),
                             counterexample={str(s): v for s, v in got.items()})
    return ctx.held("lr(550) = 1.5e-4 (midpoint of the decay), neighbours on either side",
                    measured={"lr_549": got[549], "lr_550": got[550], "lr_551": got[551]})


@falsifier("FALSIFY-COSINE-002", level="algorithm", engines=["trainer"])
def decays_after_warmup(ctx: RunContext) -> Verdict:
    """lr(200) > lr(800): the lr is not constant after warm-up (the regression the contract was written for)."""
    early, late = _lr(ctx, 200), _lr(ctx, 800)
    if not early > late:
        return ctx.falsified(f"lr(200) = {early:.6g} is not above lr(800) = {late:.6g}: no decay after warm-up",
                             counterexample={"lr_200": early, "lr_800": late})
    return ctx.held(f"lr(200) = {early:.6g} > lr(800) = {late:.6g}", measured={"lr_200": early, "lr_800": late})


@falsifier("FALSIFY-COSINE-003", level="algorithm", engines=["trainer"])
def strictly_decreasing_to_near_zero(ctx: RunContext) -> Verdict:
    """lr over steps 100..999 strictly decreasing, lr(100) = peak, lr(999) < 1 % of peak."""
    lrs = [_lr(ctx, s) for s in range(MAX_STEPS)]
    rises = [s for s in range(WARMUP, MAX_STEPS - 1) if not lrs[s + 1] < lrs[s]]
    problems = []
    if rises:
        s = rises[0]
        problems.append(f"lr({s + 1}) = {lrs[s + 1]:.6g} >= lr({s}) = {lrs[s]:.6g} ({len(rises)} such steps)")
    if abs(lrs[WARMUP] - LR_MAX) > 1e-12:
        problems.append(f"lr({WARMUP}) = {lrs[WARMUP]:.6g}, not the peak {LR_MAX}")
    if not lrs[-1] < 0.01 * LR_MAX:
        problems.append(f"lr(999) = {lrs[-1]:.6g} is not below 1% of peak ({0.01 * LR_MAX:.3g})")
    measured = {"lr_100": lrs[WARMUP], "lr_999": lrs[-1], "non_decreasing_steps": len(rises)}
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured=measured)
    return ctx.held(f"strictly decreasing over 100..999, lr(999) = {lrs[-1]:.3g}", measured=measured)


@falsifier("FALSIFY-COSINE-004", level="algorithm", engines=["trainer"])
def unknown_horizon_is_constant(ctx: RunContext) -> Verdict:
    """With no horizon (max_steps None = `--lr-schedule constant`) the lr is exactly the peak from warm-up on,
    at 200 and 1000 and every step between (and not yet at step 98, the last-but-one warm-up step)."""
    off = [(s, v) for s in range(WARMUP, 1001) if (v := _lr(ctx, s, total=None)) != LR_MAX]
    ramp = _lr(ctx, WARMUP - 2, total=None)
    if off or not ramp < LR_MAX:
        where = off[0] if off else (WARMUP - 2, ramp)
        return ctx.falsified(f"max_steps None: lr({where[0]}) = {where[1]:.6g}, expected "
                             f"{'the peak ' + str(LR_MAX) if off else 'a warm-up value below the peak'}",
                             counterexample={"step": where[0], "lr": where[1]}, measured={"steps_off_peak": len(off)})
    return ctx.held("max_steps None: lr = 3e-4 at every step 100..1000 (200 and 1000 included)",
                    measured={"lr_200": _lr(ctx, 200, total=None), "lr_1000": _lr(ctx, 1000, total=None)})


def _schedule_run(ctx: RunContext, name: str, steps: int, warmup: int, grad_accum: int) -> tuple[Any, dict[str, Any]]:
    run = must_succeed(pretrain(ctx, name, "--num-steps", str(steps), "--batch-size", "1", "--seq-length", "16",
                                "--lr", str(LR_MAX), "--warmup-steps", str(warmup), "--min-lr-ratio", "0",
                                "--grad-accum", str(grad_accum), "--eval-every", str(10 * steps),
                                "--val-tokens", "32", "--seed", str(ctx.seed)), f"{name} run")
    return run, run.report["result"]["schedule"]


@falsifier("FALSIFY-COSINE-005", level="integration", engines=["trainer"])
def every_param_group_follows_schedule(ctx: RunContext) -> Verdict:
    """Each AdamW param group's lr (logged after every step of a real run) equals the schedule at that step."""
    steps, warmup = int(ctx.params.get("steps", 40)), int(ctx.params.get("warmup", 4))
    run, sched = _schedule_run(ctx, "groups", steps, warmup, 1)
    records = run.steps
    if [r["step"] for r in records] != list(range(steps)):
        raise RuntimeError(f"expected one metrics record per step 0..{steps - 1}, got {[r['step'] for r in records]}")
    groups = {len(r["group_lr"]) for r in records}
    if min(groups) < 2:  # with a single group a group left behind could not show
        raise RuntimeError(f"the run's optimizer has {groups} param group(s); the check needs at least two")
    mismatches = []
    for r in records:
        want = _lr(ctx, r["step"], total=sched["horizon"], warmup=sched["warmup"], lr_max=sched["lr_max"])
        # Same float computation on both sides: equal to the last bit (1e-12 relative leaves room for none else).
        mismatches += [(r["step"], g, lr, want) for g, lr in enumerate(r["group_lr"])
                       if not math.isclose(lr, want, rel_tol=1e-12, abs_tol=0.0)]
    measured = {"steps": steps, "param_groups": max(groups), "mismatches": len(mismatches)}
    if mismatches:
        step, group, lr, want = mismatches[0]
        return ctx.falsified(f"step {step}: param group {group} stepped with lr {lr:.6g}, the schedule says "
                             f"{want:.6g} ({len(mismatches)} mismatches over {steps} steps)",
                             counterexample={"step": step, "group": group, "lr": lr, "schedule": want},
                             measured=measured)
    return ctx.held(f"all {max(groups)} param groups matched the schedule at all {steps} steps", measured=measured)


@falsifier("FALSIFY-COSINE-006", level="integration", engines=["trainer"])
def horizon_is_optimizer_steps(ctx: RunContext) -> Verdict:
    """Real run with --grad-accum 2: horizon == optimizer steps taken, last-step lr < 5 % of peak; and the
    contract's example (1,227,172 micro-batches, accumulation 32 -> 38,349 steps) under the engine's rule."""
    steps, accum = int(ctx.params.get("steps", 16)), 2
    run, sched = _schedule_run(ctx, "horizon", steps, 2, accum)
    taken = len(run.steps)
    final = run.steps[-1]["lr"] if run.steps else float("nan")
    problems = []
    if sched["horizon"] != taken:
        problems.append(f"the cosine horizon is {sched['horizon']} but the run took {taken} optimizer steps "
                        f"(--num-steps {steps}, --grad-accum {accum})")
    if not final < 0.05 * LR_MAX:
        problems.append(f"lr at the final step = {final:.6g} = {final / LR_MAX:.1%} of peak, not < 5%")
    # The contract's example: the engine's horizon for 38,349 optimizer steps of 32 micro-batches each.
    optimizer_steps = math.ceil(1_227_172 / 32)
    horizon = int(ctx.engine("trainer").lr_horizon(optimizer_steps, 32))
    example = _lr(ctx, optimizer_steps - 1, total=horizon)
    if not example < 0.05 * LR_MAX:
        problems.append(f"contract example: horizon {horizon:,} for {optimizer_steps:,} optimizer steps leaves "
                        f"lr = {example / LR_MAX:.1%} of peak at the last step")
    measured = {"optimizer_steps": taken, "horizon": sched["horizon"], "final_lr_ratio": final / LR_MAX,
                "example_horizon": horizon, "example_final_lr_ratio": example / LR_MAX}
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured=measured)
    return ctx.held(f"horizon = {taken} optimizer steps; final lr {final / LR_MAX:.2%} of peak; example horizon "
                    f"{horizon:,}", measured=measured)


CONTRACT = "cosine-lr-schedule-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
