"""FALSIFY-QA-011..014: `apr qa`'s format-parity gate (GGUF vs the checkpoint it came from).

Read on engines/exporter/format_parity.py: the GGUF and its reference checkpoint are decoded
teacher-forced, step by step, through the torch engine's production decode path (which
re-runs the sequence per token: it has no KV cache), and top-1 must agree at every step
except a near-tie (logit cosine >= 0.98).
"""

from __future__ import annotations

import json
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers._export_support import apr, tail
from falsifiers.aprender.apr_cli_qa._support import fixtures

GATE = "QA-FORMAT-PARITY"
FLOOR = 64  # the contract's floor, held here rather than asked of the engine


def _gate(report: Any) -> Any:
    return next((g for g in report.gates if g.id == GATE), None)


@falsifier("FALSIFY-QA-011", level="integration", engines=["exporter"])
def absent_reference_skips(ctx: RunContext) -> Verdict:
    """Read as: `apr qa` on a GGUF with no reference checkpoint beside it and no --reference reports the
    format-parity gate SKIP (not FAIL) and exits 0; the same GGUF beside its checkpoint is compared
    (PASS), so the SKIP is about absence only."""
    import json

    _, solo = fixtures(ctx, gguf_beside=False)
    proc = apr(ctx, "qa", solo, "--format", "json", "--no-progress")
    try:
        gate = next(g for g in json.loads(proc.stdout)["gates"] if g["id"] == GATE)
    except (ValueError, KeyError, StopIteration):
        return ctx.falsified(f"`apr qa {solo.name}` printed no {GATE} gate (exit {proc.returncode}): {tail(proc, 200)}",
                             counterexample=proc.stdout[-300:])
    if gate["status"] != "SKIP" or proc.returncode != 0:
        return ctx.falsified(f"no reference anywhere: {GATE} is {gate['status']} ({gate['reason']}), exit {proc.returncode}",
                             counterexample=gate)
    _, beside = fixtures(ctx)
    compared = _gate(ctx.engine("exporter").qa(beside))
    if compared is None or compared.status != "PASS":
        return ctx.falsified(f"with its checkpoint beside it the GGUF's {GATE} is "
                             f"{getattr(compared, 'status', None)}: {getattr(compared, 'reason', '')}",
                             counterexample=getattr(compared, "reason", None))
    return ctx.held(f"absent reference: SKIP, exit 0 ({gate['reason'][:80]}...); present: PASS ({compared.reason})")


@falsifier("FALSIFY-QA-012", level="integration", engines=["exporter"])
def explicit_reference_is_honoured(ctx: RunContext) -> Verdict:
    """Read as: `--reference PATH` (alias --safetensors-path) is used verbatim: a PATH that does not
    exist FAILs the gate (exit 1, not SKIP), and an existing reference that is NOT the GGUF's source
    (other weights) FAILs it, even though the true source sits beside the GGUF."""
    from engines.exporter.fixtures import tiny_checkpoint

    _ckpt, gguf = fixtures(ctx)
    other = ctx.workspace / "other-weights"  # same architecture and tokenizer, other random weights
    if not (other / "config.json").is_file():
        tiny_checkpoint(other, "qwen2", seed=ctx.seed + 1)
    bad = []
    missing = ctx.workspace / "no-such-reference"
    proc = apr(ctx, "qa", gguf, "--safetensors-path", missing, "--format", "json", "--no-progress")
    try:
        gate = next(g for g in json.loads(proc.stdout)["gates"] if g["id"] == GATE)
        if gate["status"] != "FAIL" or proc.returncode == 0:
            bad.append(f"--safetensors-path {missing.name} (absent): {gate['status']}, exit {proc.returncode}")
    except (ValueError, KeyError, StopIteration):
        bad.append(f"--safetensors-path {missing.name}: no {GATE} gate, exit {proc.returncode}: {tail(proc, 200)}")
    diverging = _gate(ctx.engine("exporter").qa(gguf, reference=other))
    if diverging is None or diverging.status != "FAIL":
        bad.append(f"--reference {other.name} (other weights): {getattr(diverging, 'status', None)} "
                   f"({getattr(diverging, 'reason', '')})")
    if bad:
        return ctx.falsified("an explicit reference was not honoured: " + "; ".join(bad), counterexample=bad[0])
    return ctx.held(f"absent explicit reference: FAIL, exit 1; diverging explicit reference: FAIL ({diverging.reason[:90]})")


@falsifier("FALSIFY-QA-013", level="integration", engines=["exporter"])
def decode_floor_is_64_steps(ctx: RunContext) -> Verdict:
    """Read as: the gate compares max(64, --max-tokens) decode steps: --max-tokens 8, 63 and 64 give 64,
    65 gives 65 (boundary and one step each side), and a live run with --max-tokens 8 really compares
    >= 64 steps (steps_compared in its details)."""
    engine = ctx.engine("exporter")
    bad = []
    for asked, expected in ((None, FLOOR), (1, FLOOR), (8, FLOOR), (FLOOR - 1, FLOOR), (FLOOR, FLOOR),
                            (FLOOR + 1, FLOOR + 1), (100, 100)):
        got = engine.format_parity_steps(asked)
        if got != expected:
            bad.append(f"--max-tokens {asked}: {got} steps, expected {expected}")
    ckpt, gguf = fixtures(ctx)
    live = {}
    for asked in (8, FLOOR + 1):
        gate = _gate(engine.qa(gguf, reference=ckpt, max_tokens=asked))
        compared = (getattr(gate, "details", None) or {}).get("steps_compared")
        live[asked] = compared
        if compared != max(FLOOR, asked):
            bad.append(f"live --max-tokens {asked}: {compared} steps compared ({getattr(gate, 'reason', '')})")
    if bad:
        return ctx.falsified("; ".join(bad), counterexample=bad[0], measured={"steps_for_max_tokens_8": live.get(8)})
    return ctx.held(f"floor {FLOOR}: --max-tokens 8/63/64 -> 64, 65 -> 65, 100 -> 100; live runs compared {live}")


@falsifier("FALSIFY-QA-014", level="algorithm", engines=["exporter"])
def late_divergence_fails(ctx: RunContext) -> Verdict:
    """Read as: the gate's verdict on per-step results: a first divergence at step 32 of 64 (or at the
    last step) FAILs, not SKIPs, naming the step; all steps agreeing PASSes; a disagreement with
    cosine exactly 0.98 is a near-tie (PASS) and 0.979999 is not (FAIL)."""
    from engines.exporter.format_parity import DecodeStep

    engine = ctx.engine("exporter")

    def steps(diverge_at: int | None, cosine: float = 0.5) -> list[DecodeStep]:
        return [DecodeStep(i, 7, 9 if i == diverge_at else 7, cosine if i == diverge_at else 1.0) for i in range(FLOOR)]

    cases = {  # name: (steps, expected status, text the reason must contain)
        "all agree": (steps(None), "PASS", ""),
        "diverge at step 32": (steps(32), "FAIL", "32"),
        "diverge at the last step (63)": (steps(63), "FAIL", "63"),
        "diverge at step 0": (steps(0), "FAIL", "step 0"),
        "near-tie at 32, cosine 0.98": (steps(32, 0.98), "PASS", ""),
        "disagree at 32, cosine 0.979999": (steps(32, 0.979999), "FAIL", "32"),
    }
    bad = []
    for name, (s, status, text) in cases.items():
        verdict = engine.judge_format_parity(s, FLOOR)
        if verdict.status != status or text not in verdict.reason:
            bad.append(f"{name}: {verdict.status} ({verdict.reason}), expected {status}" + (f" naming {text!r}" if text else ""))
    if bad:
        return ctx.falsified(f"{len(bad)} of {len(cases)} verdicts wrong: " + "; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held(f"{len(cases)} per-step reports judged right (late divergence FAILs naming its step; near-tie at 0.98 exempt)")
