"""Falsifiers of the reference contract alibi-slopes-v1 (FALSIFY-AS-001..003): ALiBi attention slopes.

The other project's claims are about its serving crate's ``ALiBi::new(n).slopes()``; here they are read
against the trainer engine's ``alibi_slopes(n)`` (and the ``alibi_bias`` it feeds), over every head count
1..256 -- powers of two and the others, where llama.cpp/ggml (and Press et al.'s reference code) give the
heads past the largest power of two an interleaved second sequence. The expected slopes are computed here
from ggml's rule written independently of the engine (direct exponents, no repeated powers).
"""

from __future__ import annotations

import math
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

HEAD_COUNTS = range(1, 257)
CONTRACT_COUNTS = (1, 2, 4, 8, 12, 16, 32)  # FALSIFY-AS-002's list
HEAD0_TOL = 1e-7  # FALSIFY-AS-001's tolerance on slopes(8)[0] == 0.5, applied to head 0 of every n
# Engine (m0 ** (h+1)) vs direct exponent 2 ** (-8(h+1)/p): measured max relative difference 1.18e-14
# (53 float64 eps, from the repeated power at h ~ 255); 1e-13 leaves ~8x headroom and still catches any
# wrong exponent (the smallest wrong-formula error over 1..256 heads is > 1e-3 relative).
REL_TOL = 1e-13


def ggml_slope(n: int, h: int, max_bias: float = 8.0) -> float:
    """Slope of head ``h`` of ``n`` as ggml's soft_max_ext computes it, as one direct power of two:
    p = 2^floor(log2 n); h < p: 2^(-max_bias(h+1)/p); else 2^(-(max_bias/2)(2(h-p)+1)/p)."""
    p = 2 ** math.floor(math.log2(n))
    if h < p:
        return 2.0 ** (-max_bias * (h + 1) / p)
    return 2.0 ** (-(max_bias / 2.0) * (2 * (h - p) + 1) / p)


def _slopes(ctx: RunContext, n: int) -> list[float]:
    got = ctx.engine("trainer").alibi_slopes(n)
    if len(got) != n:
        raise AssertionError(f"alibi_slopes({n}) returned {len(got)} slopes")
    return [float(s) for s in got]


@falsifier("FALSIFY-AS-001", level="algorithm", engines=["trainer"])
def head_zero_slope_is_m0(ctx: RunContext) -> Verdict:
    """slopes(8)[0] == 0.5 within 1e-7 (never 1.0); likewise head 0 == m0 = 2^(-8/p) for every n in 1..256."""
    s8 = _slopes(ctx, 8)[0]
    if not abs(s8 - 0.5) <= HEAD0_TOL:
        return ctx.falsified(f"alibi_slopes(8)[0] = {s8!r}, not 0.5 (2^(-8/8)); 1.0 means the (h+1) offset is "
                             "missing", counterexample={"n": 8, "head0": s8})
    bad = {}
    for n in HEAD_COUNTS:
        want, got = ggml_slope(n, 0), _slopes(ctx, n)[0]
        if not abs(got - want) <= HEAD0_TOL:
            bad[n] = {"head0": got, "m0": want}
    if bad:
        n = next(iter(bad))
        return ctx.falsified(f"head-0 slope differs from m0 for {len(bad)} head counts, e.g. n={n}: {bad[n]}",
                             counterexample=bad)
    return ctx.held(f"slopes(8)[0] = {s8}; head 0 = m0 for n = 1..{HEAD_COUNTS[-1]} (read as ggml's m0 = 2^(-8/p), "
                    "p the largest power of two <= n: 2^(-8/n) when n is one)", measured={"head0_n8": s8})


@falsifier("FALSIFY-AS-002", level="algorithm", engines=["trainer"])
def slopes_in_open_unit_interval(ctx: RunContext) -> Verdict:
    """Every slope is in (0, 1) for n in {1,2,4,8,12,16,32} and all n up to 256; strictly decreasing over the
    first power-of-two block."""
    bad: list[dict[str, Any]] = []
    for n in sorted({*CONTRACT_COUNTS, *HEAD_COUNTS}):
        got = _slopes(ctx, n)
        bad += [{"n": n, "head": h, "slope": s} for h, s in enumerate(got) if not 0.0 < s < 1.0]
        p = 2 ** math.floor(math.log2(n))
        bad += [{"n": n, "head": h + 1, "slope": got[h + 1], "previous": got[h], "why": "not decreasing"}
                for h in range(p - 1) if not got[h + 1] < got[h]]
    if bad:
        return ctx.falsified(f"{len(bad)} slopes outside (0, 1) or out of order, e.g. {bad[0]}",
                             counterexample=bad[:10], measured={"violations": len(bad)})
    return ctx.held(f"all slopes in (0, 1), first block strictly decreasing, for n in 1..{HEAD_COUNTS[-1]}")


@falsifier("FALSIFY-AS-003", level="algorithm", engines=["trainer"])
def slopes_match_ggml(ctx: RunContext) -> Verdict:
    """slopes(8) == [2^-1 .. 2^-8] and slopes(1) == [2^-8] exactly; every n in 1..256 matches ggml's rule
    (interleaved second sequence past the largest power of two); the bias is -slope·|i - j|."""
    import torch

    exact = {8: [2.0 ** -(h + 1) for h in range(8)], 1: [2.0 ** -8]}
    bad: list[dict[str, Any]] = [{"n": n, "slopes": _slopes(ctx, n), "want": want}
                                 for n, want in exact.items() if _slopes(ctx, n) != want]
    for n in HEAD_COUNTS:
        for h, got in enumerate(_slopes(ctx, n)):
            want = ggml_slope(n, h)
            if not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=0.0):
                bad.append({"n": n, "head": h, "slope": got, "ggml": want})
    n, t = 12, 6
    biases = ctx.engine("trainer").alibi_bias(n, t, dtype=torch.float64)
    want_bias = torch.tensor([[[-ggml_slope(n, h) * abs(i - j) for j in range(t)] for i in range(t)]
                              for h in range(n)], dtype=torch.float64)
    if tuple(biases.shape) != (n, t, t) or not torch.allclose(biases, want_bias, rtol=REL_TOL, atol=0.0):
        bad.append({"alibi_bias": f"({n} heads, T={t}) differs from -slope*|i-j|",
                    "max_abs_diff": float((biases - want_bias).abs().max()) if biases.shape == want_bias.shape
                    else f"shape {tuple(biases.shape)}"})
    if bad:
        return ctx.falsified(f"{len(bad)} slopes differ from ggml's rule, e.g. {bad[0]}", counterexample=bad[:10],
                             measured={"violations": len(bad)})
    return ctx.held(f"slopes(8) = 2^-1..2^-8, slopes(1) = [2^-8], and all n = 1..{HEAD_COUNTS[-1]} match ggml "
                    "(non-powers of two included); bias = -slope*|i-j|")


CONTRACT = "alibi-slopes-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
