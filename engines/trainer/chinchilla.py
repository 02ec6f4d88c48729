"""The Chinchilla gate: is the planned token budget D large enough for N parameters?

D = steps x global batch x seq, with global batch = per-process batch x processes x
grad-accum. N is the exact parameter count (:func:`engines.trainer.params.count_parameters`).

* D >= 20 N: ok.
* 10 N <= D < 20 N: warn, and suggest the smallest ``--num-steps`` with D >= 20 N.
* D < 10 N: refuse (exit 1, the gate id in the message) unless ``--force-under-provisioned``.
* D < 5 N: the same, worded as *severely* under-provisioned.

The gate applies to every run that trains on real data, with or without ``--init`` (N is exact
from the architecture either way). Two runs are exempt, with verdict ``exempt`` and the reason
printed: a ``--synthetic`` smoke run without ``--init`` (it checks the pipeline, not what a model
learns) and a zero-step run (``--init`` loaded, evaluated and saved: no training compute to
waste). No heavy imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engines.errors import AprError

GATE_ID = "FALSIFY-APR-PRETRAIN-CHINCHILLA-004"  # the refusal the contract pins
OPTIMAL = 20
FLOOR = 10
SEVERE = 5


class ChinchillaRefused(AprError):
    """D < 10 N without --force-under-provisioned."""


@dataclass(frozen=True)
class GateDecision:
    n_params: int
    tokens: int  # D
    tokens_per_step: int
    ratio: float  # D / N
    verdict: str  # "ok" | "warn" | "forced" | "refuse" | "exempt"
    severe: bool
    suggested_steps: int | None  # smallest --num-steps with D >= 20 N (None when already there)
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def planned_tokens(steps: int, batch_size: int, seq_length: int, *, grad_accum: int = 1, world_size: int = 1) -> int:
    """D for a run: every process sees ``batch_size`` rows per micro-step, ``grad_accum`` micro-steps."""
    return steps * batch_size * world_size * grad_accum * seq_length


def suggested_steps(n_params: int, tokens_per_step: int, *, multiple: int = OPTIMAL) -> int:
    """Smallest step count whose D reaches ``multiple`` x N (ceiling division, never short)."""
    return -(-multiple * n_params // tokens_per_step)


def decide(n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> GateDecision:
    tokens = steps * tokens_per_step
    ratio = tokens / n_params
    suggest = suggested_steps(n_params, tokens_per_step)
    need = f"20·N = {OPTIMAL * n_params:,} tokens (--num-steps {suggest:,})"
    have = f"D = {tokens:,} tokens = {ratio:.3g}·N for N = {n_params:,} parameters"
    if tokens >= OPTIMAL * n_params:
        return GateDecision(n_params, tokens, tokens_per_step, ratio, "ok", False, None, f"{have}: compute-optimal")
    if tokens >= FLOOR * n_params:
        return GateDecision(n_params, tokens, tokens_per_step, ratio, "warn", False, suggest,
                            f"{have} is below the Chinchilla-optimal {need}")
    severe = tokens < SEVERE * n_params
    wording = "SEVERELY under-provisioned (below 5·N)" if severe else "under-provisioned (below 10·N)"
    message = f"{have} is {wording}; the model will not learn what its size promises; {need}"
    return GateDecision(n_params, tokens, tokens_per_step, ratio, "forced" if force else "refuse", severe,
                        suggest, message)


def exemption(*, synthetic: bool, has_init: bool, steps: int) -> str | None:
    """Why the gate does not apply to this run (None: it applies)."""
    if steps == 0:
        return "zero training steps (load, evaluate, save): no training compute to size"
    if synthetic and not has_init:
        return "synthetic smoke run without --init: it tests the pipeline, not what the model learns"
    return None


def exempt(n_params: int, steps: int, tokens_per_step: int, reason: str) -> GateDecision:
    tokens = steps * tokens_per_step
    return GateDecision(n_params, tokens, tokens_per_step, tokens / n_params, "exempt", False, None,
                        f"Chinchilla gate not applied: {reason}")


def enforce(decision: GateDecision) -> None:
    """Raise :class:`ChinchillaRefused` for a refusing decision."""
    if decision.verdict == "refuse":
        raise ChinchillaRefused(
            f"Chinchilla gate refused: {decision.message}",
            hint=f"raise --num-steps to {decision.suggested_steps:,} (or the batch/sequence), use a smaller "
            "model, or pass --force-under-provisioned to train anyway (e.g. a short fine-tune)",
            falsifier=GATE_ID,
        )
