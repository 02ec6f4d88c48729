"""Falsifiers of the reference contract apr-cli-model-1-ship-via-cpu-v1 (the other project's decision
to ship its MODEL-1 through the CPU path).

Two claims are about the contract file itself and hold or fail here exactly as there: it passes
`pv validate` (ours), and its version stays 0.x or 1.x while the model ships CPU-only. The others
need that project's 7B model file, its specification and its user documentation, which these
engines do not have: they are declared out of scope, each with its reason.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._contract_checks import declared_version, pv_validates

OUT_OF_SCOPE = {
    "FALSIFY-MODEL-1-SHIP-CPU-001":
        "runs the other project's own 7B Q4K teacher file (`apr run …/qwen2.5-coder-7b-instruct-q4k.apr "
        "--no-gpu`), a model no package ships; our engines' CPU inference is covered by "
        "FALSIFY-EXPORT-LLAMA-* and FALSIFY-EXPORT-LIVE-*",
    "FALSIFY-MODEL-1-SHIP-CPU-002":
        "greps the other project's specification (ship-two-models-spec.md §40), which is not part of "
        "these engines",
    "FALSIFY-MODEL-1-SHIP-CPU-004":
        "greps the other project's README, docs/ and cookbook for a GPU known-issue note",
    "FALSIFY-MODEL-1-SHIP-CPU-006":
        "greps the other project's specification for a back-reference to this contract",
}


@falsifier("FALSIFY-MODEL-1-SHIP-CPU-003", level="algorithm", engines=[])
def contract_validates_via_pv(ctx: RunContext) -> Verdict:
    """Read as: our `pv validate` exits 0 on the file (not --strict: the claim names the plain command)."""
    return pv_validates(ctx)


@falsifier("FALSIFY-MODEL-1-SHIP-CPU-005", level="algorithm", engines=[])
def version_signals_cpu_only_scope(ctx: RunContext) -> Verdict:
    """metadata.version is 0.x or 1.x (CPU-only scope); 2.x would claim CPU and GPU."""
    path, version = declared_version(ctx)
    if not re.match(r"^(0|1)\.", str(version or "")):
        return ctx.falsified(f"{path.name}: metadata.version {version!r} is not 0.x or 1.x while the model ships "
                             "CPU-only", counterexample=version)
    return ctx.held(f"{path.name}: version {version} signals CPU-only scope")


CONTRACT = "apr-cli-model-1-ship-via-cpu-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
    for falsifier_id, reason in OUT_OF_SCOPE.items():
        registry.declare_out_of_scope(falsifier_id, reason, contract=CONTRACT)
