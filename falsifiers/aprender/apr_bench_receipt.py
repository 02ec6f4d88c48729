"""Falsifiers of the reference contract apr-bench-receipt-v1 (F-BENCH-*): `apr bench` receipts as evidence.

Read on our `apr bench --format json` receipt (engines/exporter/bench.py, receipt.py): every
receipt says which compute path produced it (``provenance.compute_class``, derived from the
device the weights ran on, plus the build's ``feature_set``), keeps its raw per-phase samples
(``samples_ms``, ``n``), and a comparison with a ``--baseline`` from another compute class
records its ratio but never arms a ``--threshold``. The validator (``apr bench --check``,
engine ``validate_receipt``) proves itself on its case table before giving a verdict.

The broken receipts used here are built by these falsifiers from a LIVE receipt, not taken from
the engine's own case table, so the validator is judged against cases it did not choose.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._export_support import apr, tail

CLASSES = {"cpu", "cuda", "metal", "wgpu", "unknown"}  # the contract's vocabulary
CASE_FLOOR = 14  # the contract's vacuity floor
CROSS = "cross-class-existence-only"


def _live_receipt(ctx: RunContext, *extra: str | Path, name: str = "receipt.json") -> tuple[dict[str, Any] | None, str]:
    """A real `apr bench --format json` receipt on a tiny checkpoint (16 prompt, 4 decode tokens, 3 repeats)."""
    from falsifiers._export_support import checkpoint

    ckpt = checkpoint(ctx, "qwen2", name="model")
    out = ctx.workspace / name
    proc = apr(ctx, "bench", ckpt, "--prompt-tokens", "16", "--decode-tokens", "4", "--repeats", "3",
               "--format", "json", "--no-progress", "-o", out, "--force", *extra)
    if proc.returncode != 0:
        return None, f"`apr bench` exit {proc.returncode}: {tail(proc, 300)}"
    return json.loads(proc.stdout), ""


def _probe(ctx: RunContext, receipt: dict[str, Any], probes: dict[str, tuple[dict[str, Any], bool]]) -> list[str]:
    """Each probe: (receipt, must it be accepted?) judged by the engine's validator."""
    engine = ctx.engine("exporter")
    bad = []
    if engine.validate_receipt(receipt):
        bad.append(f"the live receipt itself is rejected: {engine.validate_receipt(receipt)[:2]}")
    for name, (r, accept) in probes.items():
        problems = engine.validate_receipt(r)
        if accept and problems:
            bad.append(f"{name}: rejected ({problems[:2]}) but is valid")
        elif not accept and not problems:
            bad.append(f"{name}: ACCEPTED")
    return bad


def _changed(receipt: dict[str, Any], change: Any) -> dict[str, Any]:
    r = copy.deepcopy(receipt)
    change(r)
    return r


@falsifier("F-BENCH-001", level="integration", engines=["exporter"])
def compute_class_required_and_derived(ctx: RunContext) -> Verdict:
    """A live receipt carries provenance.compute_class, in the vocabulary, equal to the class of the device
    it records and reachable by its feature_set (which must match what this torch build has compiled in);
    the validator rejects a receipt without compute_class, with cuda outside its feature_set, or with an
    unknown word."""
    receipt, why = _live_receipt(ctx)
    if receipt is None:
        return ctx.falsified(why, counterexample=why)
    prov = receipt.get("provenance") or {}
    cls, features, device = prov.get("compute_class"), prov.get("feature_set") or [], prov.get("device")
    bad = []
    expected = {"cpu": "cpu", "cuda": "cuda", "mps": "metal"}.get(str(device), "unknown")
    if cls not in CLASSES or cls != expected:
        bad.append(f"compute_class {cls!r} for device {device!r} (expected {expected!r})")
    import torch

    if ("cuda" in features) != bool(torch.backends.cuda.is_built()):
        bad.append(f"feature_set {features} vs this torch build (cuda compiled in: {torch.backends.cuda.is_built()})")
    if cls == "cuda" and not torch.cuda.is_available():
        bad.append("compute_class cuda on a machine where torch sees no CUDA device")
    bad += _probe(ctx, receipt, {
        "compute_class removed": (_changed(receipt, lambda r: r["provenance"].pop("compute_class", None)), False),
        "compute_class cuda, feature_set ['cpu']": (_changed(receipt, lambda r: r["provenance"].update(
            compute_class="cuda", feature_set=["cpu"])), False),
        "compute_class 'gpu' (not in the vocabulary)": (_changed(receipt, lambda r: r["provenance"].update(compute_class="gpu")), False),
        "compute_class cuda with cuda compiled in": (_changed(receipt, lambda r: r["provenance"].update(
            compute_class="cuda", feature_set=["cpu", "cuda"])), True),
    })
    if bad:
        return ctx.falsified("; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held(f"live receipt: compute_class {cls} (device {device}, features {features}); the validator "
                    "rejects a missing, unreachable or unknown class")


@falsifier("F-BENCH-002", level="integration", engines=["exporter"])
def cross_class_cannot_arm_threshold(ctx: RunContext) -> Verdict:
    """`apr bench --baseline B --threshold 0.5` with B from another compute class (cuda) records the ratio
    as cross-class-existence-only WITHOUT a threshold; with a same-class baseline the threshold is armed
    (so the refusal is about class, not a threshold that never arms); the validator rejects a
    cross-class receipt carrying a threshold and accepts it without."""
    receipt, why = _live_receipt(ctx)
    if receipt is None:
        return ctx.falsified(why, counterexample=why)
    other = _changed(receipt, lambda r: r["provenance"].update(compute_class="cuda", feature_set=["cpu", "cuda"], device="cuda"))
    cross_path = ctx.workspace / "baseline-cuda.json"
    cross_path.write_text(json.dumps(other), encoding="utf-8")
    bad = []
    got, why = _live_receipt(ctx, "--baseline", cross_path, "--threshold", "0.01", name="vs-cuda.json")
    if got is None:
        bad.append(f"cuda baseline: {why}")
    elif got.get("comparability") != CROSS or "threshold" in got:
        bad.append(f"cuda baseline: comparability {got.get('comparability')!r}, threshold {got.get('threshold')!r} "
                   "(a cross-class ratio armed a gate)")
    # Same class, in-process (the engine's bench, fewer tokens): the threshold must arm here.
    from falsifiers._export_support import checkpoint

    same = ctx.engine("exporter").bench(checkpoint(ctx, "qwen2", name="model"), prompt_tokens=8, decode_tokens=2,
                                        repeats=2, baseline=receipt, threshold=0.01).to_json()
    if same.get("comparability") != "same-class" or "threshold" not in same:
        bad.append(f"cpu baseline: comparability {same.get('comparability')!r}, threshold {same.get('threshold')!r} "
                   "(same class, threshold not armed)")
    cross_receipt = _changed(receipt, lambda r: r.update(comparability=CROSS, comparison={"baseline_compute_class": "cuda"}))
    bad += _probe(ctx, receipt, {
        "cross-class with a threshold": (_changed(cross_receipt, lambda r: r.update(
            threshold={"min_decode_median_ratio": 0.9, "passed": False})), False),
        "cross-class without a threshold": (cross_receipt, True),
    })
    if bad:
        return ctx.falsified("; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held("cuda baseline: ratio recorded, threshold not armed; cpu baseline: threshold armed; the validator "
                    "rejects cross-class + threshold and accepts cross-class alone")


@falsifier("F-BENCH-003", level="integration", engines=["exporter"])
def raw_samples_survive(ctx: RunContext) -> Verdict:
    """A live receipt keeps, per phase, samples_ms with n == len(samples_ms) >= 1, not all equal when more
    than one, and a median_tokens_per_s that this falsifier recomputes from them (to the 3 decimals
    written); the validator rejects missing, empty, constant samples and n disagreeing with them."""
    receipt, why = _live_receipt(ctx)
    if receipt is None:
        return ctx.falsified(why, counterexample=why)
    bad = []
    for phase in ("prefill", "decode"):
        ph = receipt.get(phase) or {}
        samples = ph.get("samples_ms")
        if not isinstance(samples, list) or not samples:
            bad.append(f"{phase}: samples_ms = {samples!r}")
            continue
        if ph.get("n") != len(samples) or len(samples) != 3:
            bad.append(f"{phase}: n = {ph.get('n')}, {len(samples)} samples, 3 repeats asked")
        if len(set(samples)) == 1:
            bad.append(f"{phase}: constant samples {samples}")
        median = statistics.median(ph["tokens"] / (ms / 1000.0) for ms in samples)
        # written rounded to 3 decimals: |error| <= 5e-4; 1e-3 leaves room for that rounding only
        if abs(median - float(ph.get("median_tokens_per_s", -1))) > 1e-3:
            bad.append(f"{phase}: median_tokens_per_s {ph.get('median_tokens_per_s')} but the samples give {median:.4f}")
    bad += _probe(ctx, receipt, {
        "decode.samples_ms removed": (_changed(receipt, lambda r: r["decode"].pop("samples_ms")), False),
        "decode.samples_ms empty": (_changed(receipt, lambda r: r["decode"].update(samples_ms=[], n=0)), False),
        "decode.samples_ms constant": (_changed(receipt, lambda r: r["decode"].update(samples_ms=[50.0] * 3, n=3)), False),
        "prefill.n off by one": (_changed(receipt, lambda r: r["prefill"].update(n=len(r["prefill"].get("samples_ms") or []) + 1)), False),
    })
    if bad:
        return ctx.falsified("; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held(f"live receipt keeps {receipt['prefill']['n']}+{receipt['decode']['n']} raw samples, medians recomputable; "
                    "missing/empty/constant/miscounted samples rejected")


@falsifier("F-BENCH-004", level="integration", engines=["exporter"])
def validator_proves_itself(ctx: RunContext) -> Verdict:
    """The validator's case table holds >= 14 cases (the contract's floor, held here), both verdicts
    occur, each case gets its declared verdict from the engine's validator, and `apr bench --check`
    runs that self-test (self_test.cases >= 14, ok) before its verdicts: exit 0 on the valid cases
    written to files, exit 1 on an invalid one."""
    engine = ctx.engine("exporter")
    cases = engine.receipt_cases()
    bad = []
    if len(cases) < CASE_FLOOR:
        bad.append(f"the case table has {len(cases)} cases, below the floor {CASE_FLOOR}")
    kinds = {c.expected for c in cases}
    if kinds != {"GREEN", "RED"}:
        bad.append(f"the case table declares only {kinds}: it cannot show discrimination")
    for case in cases:
        got = "RED" if engine.validate_receipt(case.receipt) else "GREEN"
        if got != case.expected:
            bad.append(f"case {case.id} ({case.description}): {got}, declared {case.expected}")
    green = [c for c in cases if c.expected == "GREEN"]
    red = [c for c in cases if c.expected == "RED"]
    files = []
    for c in green[:3] + red[:1]:
        path = ctx.workspace / f"case-{c.id}.json"
        path.write_text(json.dumps(c.receipt), encoding="utf-8")
        files.append(path)
    for label, argv, want_rc in (("valid receipts", files[:-1], 0), ("an invalid receipt", files[-1:], 1)):
        if not argv:
            continue
        proc = apr(ctx, "bench", "--check", *argv, "--format", "json")
        try:
            self_test = json.loads(proc.stdout)["self_test"]
        except (ValueError, KeyError):
            bad.append(f"`apr bench --check` on {label}: exit {proc.returncode}, no self_test: {tail(proc, 200)}")
            continue
        if proc.returncode != want_rc or not self_test.get("ok") or int(self_test.get("cases", 0)) < CASE_FLOOR:
            bad.append(f"`apr bench --check` on {label}: exit {proc.returncode} (want {want_rc}), self_test {self_test}")
    if bad:
        return ctx.falsified(f"{len(bad)} problem(s): " + "; ".join(bad[:3]), counterexample=bad[0],
                             measured={"cases": len(cases)})
    return ctx.held(f"{len(cases)} cases ({len(green)} GREEN, {len(red)} RED) behave as declared; `apr bench --check` "
                    "self-tests first, exit 0 on valid, 1 on invalid", measured={"cases": len(cases)})


CONTRACT = "apr-bench-receipt-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
