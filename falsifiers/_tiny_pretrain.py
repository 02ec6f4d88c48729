"""A real `apr pretrain` run of a tiny model, in seconds: what the schedule and held-out-set falsifiers share.

The run goes through the user-facing command with the trainer engine of the falsifier's run
(``APR_ENGINE_TRAINER``, see :func:`falsifiers._trainer_support.apr`), on the real 2k BPE and
standard-library shards of :func:`falsifiers._trainer_support.small_fixture`. Imports no family module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts import RunContext
from falsifiers._trainer_support import apr, output_dir, small_fixture

# --arch tiny shrunk to the 2k tokenizer; 1 thread: ~9 agents share 2 cores, and the runs are tiny anyway.
TINY = ("--arch", "tiny", "--force-under-provisioned", "--no-progress", "--threads", "1")


@dataclass
class Run:
    code: int
    stderr: str
    report: dict[str, Any] = field(default_factory=dict)  # the --format json output (exit 0 only)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl records

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.metrics if "loss" in r]

    @property
    def evals(self) -> list[dict[str, Any]]:
        return [r for r in self.metrics if "val_loss" in r]


def vocab_of(tok: Path) -> int:
    from engines.trainer.fixtures import tokenizer_size

    return tokenizer_size(tok)


def pretrain(ctx: RunContext, name: str, *args: str, dataset: Path | None = None, preflight_only: bool = False,
             ) -> Run:
    """``apr pretrain --format json`` on the small fixture (``dataset`` overrides its shards); never raises on exit != 0."""
    tok, shards = small_fixture(ctx)
    out = output_dir(ctx, name)
    proc = apr(ctx, "pretrain", "--dataset", str(dataset or shards), "--tokenizer", str(tok), *TINY,
               "--vocab-size", str(vocab_of(tok)), "--format", "json", "--output", out,
               *(("--preflight-only",) if preflight_only else ()), *args, timeout=300)
    run = Run(proc.returncode, proc.stderr)
    if proc.returncode == 0:
        try:
            run.report = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"apr pretrain --format json printed non-JSON: {proc.stdout[:300]}") from exc
        metrics = Path(out) / "metrics.jsonl"
        if metrics.is_file():
            run.metrics = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]
    elif proc.returncode not in (1, 2):
        raise RuntimeError(f"apr pretrain crashed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return run


def must_succeed(run: Run, what: str) -> Run:
    if run.code != 0:
        raise RuntimeError(f"{what}: apr pretrain exit {run.code}: {run.stderr[-1200:]}")
    return run
