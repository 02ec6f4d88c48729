"""Falsifiers of the reference contract absolute-position-v1 (FALSIFY-AP-*): sinusoidal absolute position encoding.

The other project's claims are about its Rust kernel adding a position vector to each token
embedding and about the sinusoid table. Read here as the trainer engine's
:meth:`add_positions` (token embeddings + rows of a position table, positions outside the
table refused) and :meth:`sinusoidal_positions` (``PE(pos, 2i) = sin(pos w_i)``,
``PE(pos, 2i+1) = cos(pos w_i)``, ``w_i = 10000^(-2i/d)``), both in
:mod:`engines.trainer.positions`. Each "proptest" is a seeded random sample (the run's seed),
small enough to run in well under a second.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

SAMPLES = 48
# AP-007: engine tables are fp32; each of the three PE values entering the rotation identity
# carries <= 6e-8 rounding, so the identity's residual is <= ~2e-7. Measured worst over 40 seeds
# (~30k (pos, k) pairs x all i, pos and k up to 4096): 7.1e-8. 1e-6 is 5x the analytic bound,
# far below a wrong frequency (residuals ~1).
ROTATION_ATOL = 1e-6


def _gen(ctx: RunContext) -> Any:
    import torch

    return torch.Generator().manual_seed(ctx.seed)


def _randint(gen: Any, low: int, high: int) -> int:
    """Uniform integer in [low, high]."""
    import torch

    return int(torch.randint(low, high + 1, (1,), generator=gen))


@falsifier("FALSIFY-AP-001", level="algorithm", engines=["trainer"])
def add_preserves_shape(ctx: RunContext) -> Verdict:
    """Read as: add_positions returns the token embeddings' shape, for [T, d] and [B, T, d] inputs."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    for n in range(SAMPLES):
        t, d = _randint(gen, 1, 32), _randint(gen, 1, 64)
        # Half the draws are the contract's 2-D (seq_len, d); half carry a batch axis as the model does.
        shape = (t, d) if n % 2 == 0 else (_randint(gen, 1, 4), t, d)
        token = torch.randn(shape, generator=gen)
        table = torch.randn(t + _randint(gen, 0, 8), d, generator=gen)
        try:
            out = engine.add_positions(token, table)
        except RuntimeError as exc:  # torch refusing to broadcast a valid input is a shape defect too
            return ctx.falsified(f"token embeddings {tuple(shape)} + table {tuple(table.shape)} failed: {exc}",
                                 counterexample={"token_shape": list(shape), "table_shape": list(table.shape)})
        if tuple(out.shape) != shape:
            return ctx.falsified(f"token embeddings {shape} + positions gave shape {tuple(out.shape)}",
                                 counterexample={"token_shape": list(shape), "output_shape": list(out.shape)})
    return ctx.held(f"{SAMPLES} random shapes (T 1..32, d 1..64, with and without a batch axis) preserved",
                    measured={"samples": SAMPLES})


@falsifier("FALSIFY-AP-002", level="algorithm", engines=["trainer"])
def zero_positions_are_identity(ctx: RunContext) -> Verdict:
    """An all-zero position table leaves the token embeddings bit-identical (x + 0 == x)."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    for _ in range(SAMPLES):
        t, d, max_pos = _randint(gen, 1, 32), _randint(gen, 1, 64), 64
        token = torch.randn(t, d, generator=gen) * 10.0 ** _randint(gen, -3, 3)
        positions = torch.randint(0, max_pos, (t,), generator=gen)
        out = engine.add_positions(token, torch.zeros(max_pos, d), positions)
        if tuple(out.shape) != tuple(token.shape) or not torch.equal(out, token):
            worst = float((out - token).abs().max()) if out.shape == token.shape else None
            return ctx.falsified(f"zero position embedding changed the tokens (T={t}, d={d}): max |diff| {worst}",
                                 counterexample={"t": t, "d": d, "max_abs_diff": worst})
    return ctx.held(f"{SAMPLES} random (T, d, positions) with a zero table: output == tokens exactly",
                    measured={"samples": SAMPLES})


def _bound_case(engine: Any, token: Any, table: Any, position: int) -> tuple[str, Any]:
    """('refused', error) | ('accepted', output row) for one token at ``position``."""
    import torch

    from engines.errors import AprError

    try:
        return "accepted", engine.add_positions(token, table, torch.tensor([position]))[0]
    except AprError as exc:
        return "refused", exc


@falsifier("FALSIFY-AP-003", level="algorithm", engines=["trainer"])
def positions_beyond_the_table_are_refused(ctx: RunContext) -> Verdict:
    """Position max-1 is accepted (and exact); max, max+1 and -1 are refused (or clamped to the edge row)."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    for _ in range(8):
        max_pos, d = _randint(gen, 2, 64), _randint(gen, 1, 16)
        table, token = torch.randn(max_pos, d, generator=gen), torch.randn(1, d, generator=gen)
        status, got = _bound_case(engine, token, table, max_pos - 1)
        if status != "accepted" or not torch.equal(got, token[0] + table[max_pos - 1]):
            return ctx.falsified(f"position {max_pos - 1} (the last row of a {max_pos}-row table) was "
                                 f"{status}: {got}" if status == "refused" else
                                 f"position {max_pos - 1} did not add the table's last row",
                                 counterexample={"max_position": max_pos, "position": max_pos - 1})
        # Clamping is what the contract also allows: the out-of-range row must then be the edge row.
        for position, edge in ((max_pos, max_pos - 1), (max_pos + 1, max_pos - 1), (-1, 0)):
            status, got = _bound_case(engine, token, table, position)
            if status == "accepted" and not torch.equal(got, token[0] + table[edge]):
                hit = [r for r in range(max_pos) if torch.equal(got, token[0] + table[r])]
                return ctx.falsified(
                    f"position {position} with max_position {max_pos} was accepted without error and not "
                    f"clamped: it added table row {hit[0] if hit else '?'}",
                    counterexample={"max_position": max_pos, "position": position, "row_used": hit[:1]})
    return ctx.held("8 random tables: position max-1 added exactly; max, max+1 and -1 refused or clamped",
                    measured={"tables": 8})


@falsifier("FALSIFY-AP-004", level="algorithm", engines=["trainer"])
def finite_inputs_give_finite_output(ctx: RunContext) -> Verdict:
    """Finite fp32 inputs up to half the fp32 maximum (so the exact sum is representable) give finite output."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    half_max = torch.finfo(torch.float32).max / 2
    top = math.log10(half_max)

    def draw(t: int, d: int) -> Any:
        # Log-uniform magnitudes from 1e-30 to max/2 with random signs: every binade gets hit.
        mags = torch.pow(10.0, torch.rand(t, d, generator=gen, dtype=torch.float64) * (top + 30) - 30)
        signs = torch.where(torch.rand(t, d, generator=gen) < 0.5, -1.0, 1.0).double()
        return (mags * signs).clamp(-half_max, half_max).float()

    for n in range(SAMPLES):
        t, d = _randint(gen, 1, 16), _randint(gen, 1, 32)
        token, table = draw(t, d), draw(t, d)
        if n == 0:  # the boundary: both at +/- max/2, whose sum is exactly the largest finite float
            token.fill_(half_max)
            table.fill_(half_max)
            table[::2] = -half_max
            token[::2] = -half_max
        out = engine.add_positions(token, table)
        if not bool(torch.isfinite(out).all()):
            idx = tuple(int(i) for i in (~torch.isfinite(out)).nonzero()[0])
            return ctx.falsified(f"finite inputs {float(token[idx]):.6g} + {float(table[idx]):.6g} gave "
                                 f"{float(out[idx])} at {idx}",
                                 counterexample={"token": float(token[idx]), "position": float(table[idx]),
                                                 "output": str(float(out[idx]))})
    return ctx.held(f"{SAMPLES} random fp32 draws (|x| 1e-30 .. max/2, both signs, incl. the +/-max/2 boundary) "
                    "all finite", measured={"samples": SAMPLES})


@falsifier("FALSIFY-AP-005", level="algorithm", engines=["trainer"])
def sinusoid_components_within_unit_range(ctx: RunContext) -> Verdict:
    """Every PE(pos, j) lies in [-1, 1], for integer and real positions up to 1e6."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    worst = 0.0
    for n in range(SAMPLES):
        d = 2 * _randint(gen, 1, 256)
        pos = torch.rand(32, generator=gen, dtype=torch.float64) * 10.0 ** _randint(gen, 0, 6)
        pos = pos.round() if n % 2 == 0 else pos
        pe = engine.sinusoidal_positions(pos, d)
        peak = float(pe.abs().max())
        worst = max(worst, peak)
        if peak > 1.0:
            j = int(pe.abs().amax(dim=0).argmax())
            return ctx.falsified(f"PE component {peak:.6g} outside [-1, 1] (d={d}, column {j})",
                                 counterexample={"d": d, "column": j, "value": peak})
    return ctx.held(f"{SAMPLES} draws of 32 positions, d 2..512: max |PE| {worst:.9g}", measured={"max_abs": worst})


@falsifier("FALSIFY-AP-006", level="algorithm", engines=["trainer"])
def zero_position_is_sin0_cos0(ctx: RunContext) -> Verdict:
    """PE(0) is 0 in every even column (sin 0) and exactly 1 in every odd column (cos 0)."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    widths = sorted({2, 4, *(2 * _randint(gen, 1, 256) for _ in range(SAMPLES))})
    for d in widths:
        pe = engine.sinusoidal_positions(torch.tensor([0]), d)[0]
        bad = [j for j in range(d) if float(pe[j]) != (0.0 if j % 2 == 0 else 1.0)]
        if bad:
            j = bad[0]
            return ctx.falsified(f"PE(0, {j}) = {float(pe[j])}, expected {0 if j % 2 == 0 else 1} (d={d}; "
                                 f"{len(bad)} of {d} columns wrong)", counterexample={"d": d, "column": j,
                                                                                     "value": float(pe[j])})
    return ctx.held(f"PE(0) = (0, 1, 0, 1, ...) exactly for {len(widths)} widths d 2..512",
                    measured={"widths": len(widths)})


@falsifier("FALSIFY-AP-007", level="algorithm", engines=["trainer"])
def shift_is_a_rotation(ctx: RunContext) -> Verdict:
    """PE(pos+k) equals PE(pos) rotated pairwise by k*w_i, w_i = 10000^(-2i/d) computed here independently."""
    import torch

    engine, gen = ctx.engine("trainer"), _gen(ctx)
    worst = 0.0
    for n in range(SAMPLES):
        d = 2 * _randint(gen, 1, 64)
        pos = torch.randint(0, 4097, (16,), generator=gen).double()
        if n % 2:  # real-valued positions too: the identity is about angles, not table rows
            pos = pos + torch.rand(16, generator=gen, dtype=torch.float64)
        k = torch.randint(0, 4097, (16,), generator=gen).double()
        omega = 10_000.0 ** (-2.0 * torch.arange(d // 2, dtype=torch.float64) / d)
        base = engine.sinusoidal_positions(pos, d).double()
        shifted = engine.sinusoidal_positions(pos + k, d).double()
        ang = k[:, None] * omega[None, :]
        even = base[:, 0::2] * torch.cos(ang) + base[:, 1::2] * torch.sin(ang)  # sin(a + b)
        odd = base[:, 1::2] * torch.cos(ang) - base[:, 0::2] * torch.sin(ang)  # cos(a + b)
        err = torch.maximum((shifted[:, 0::2] - even).abs(), (shifted[:, 1::2] - odd).abs())
        worst = max(worst, float(err.max()))
        if float(err.max()) > ROTATION_ATOL:
            r, i = (int(x) for x in (err == err.max()).nonzero()[0])
            return ctx.falsified(f"PE({float(pos[r]) + float(k[r]):.6g}) differs from PE({float(pos[r]):.6g}) "
                                 f"rotated by k*w_{i} (k={int(k[r])}, d={d}) by {float(err.max()):.3g} "
                                 f"(> {ROTATION_ATOL})",
                                 counterexample={"pos": float(pos[r]), "k": int(k[r]), "i": i, "d": d,
                                                 "residual": float(err.max())})
    return ctx.held(f"{SAMPLES}x16 (pos, k) draws up to 4096: worst rotation residual {worst:.3g} (tol {ROTATION_ATOL})",
                    measured={"max_residual": worst})


CONTRACT = "absolute-position-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
