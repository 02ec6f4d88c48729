"""What the pretrain contracts' falsifiers share: running `apr pretrain` / `apr import`, fixtures.

Integration-level falsifiers run the real command as a subprocess on fixtures built in
``ctx.workspace``, with ``APR_ENGINE_TRAINER`` set to the engine the run was given — so a
deliberately broken engine is exercised through the user-facing command. Expected values (the
published Qwen2.5-0.5B shape, the from-scratch default) are written here independently of the
engine's presets. This module imports nothing from the family modules that use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext

ARCH = "FALSIFY-APR-PRETRAIN-ARCH-"
CHIN = "FALSIFY-APR-PRETRAIN-CHINCHILLA-"

# Qwen/Qwen2.5-0.5B as published on its model card's config.json (our field names).
PUBLISHED_QWEN = {"family": "qwen2", "vocab_size": 151_936, "hidden_size": 896, "num_attention_heads": 14,
                  "num_kv_heads": 2, "intermediate_size": 4864, "num_hidden_layers": 24,
                  "max_position_embeddings": 32_768, "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6,
                  "tie_word_embeddings": True, "qkv_bias": True}
QWEN_PARAMS = 494_032_768
QWEN_TOKENIZER_IDS = 151_665  # 151,643 BPE entries + 22 added tokens
SCRATCH_DEFAULT = {"vocab_size": 50_257, "num_attention_heads": 16, "num_kv_heads": 4}


# --- helpers --------------------------------------------------------------------------------------


def apr(ctx: RunContext, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``apr ARGS`` with this run's trainer engine; never raises on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    full_env["APR_ENGINE_TRAINER"] = ctx.engine("trainer").name
    full_env.setdefault("PYTHONHASHSEED", "0")
    return subprocess.run([sys.executable, "-m", "engines.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False, cwd=ctx.workspace)


def tail_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1][:400]


def preflight(ctx: RunContext, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """``apr pretrain --preflight-only --format json ARGS`` -> (exit code, report or {}, stderr)."""
    proc = apr(ctx, "pretrain", "--preflight-only", "--format", "json", "--no-progress", *args, env=env)
    report: dict[str, Any] = {}
    if proc.returncode == 0:
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"apr pretrain --format json printed non-JSON: {proc.stdout[:300]}") from exc
    elif proc.returncode not in (1, 2):
        raise RuntimeError(f"apr pretrain crashed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return proc.returncode, report, proc.stderr


def small_fixture(ctx: RunContext) -> tuple[Path, Path]:
    """(tokenizer.json of a real 2k BPE, shard dir of standard-library code encoded with it)."""
    from engines.trainer.fixtures import small_tokenizer, stdlib_shards

    tok = ctx.workspace / "small-tok" / "tokenizer.json"
    if not tok.is_file():
        small_tokenizer(tok)
    shards = ctx.workspace / "small-shards"
    if not shards.is_dir():
        stdlib_shards(shards, tok, start=0, count=12, max_chars=3000)
    return tok, shards


def qwen_fixture(ctx: RunContext, config: dict[str, Any] | None = None, name: str = "qwen-init") -> tuple[Path, Path]:
    """(config-only Qwen2.5-0.5B init dir with the real Qwen tokenizer, shards encoded with it)."""
    from engines.trainer.fixtures import encode_shards, qwen_init_dir, stdlib_texts

    init = qwen_init_dir(ctx.workspace / name, config=config)
    shards = ctx.workspace / "qwen-shards"
    if not shards.is_dir():
        encode_shards(shards, init / "tokenizer.json", stdlib_texts(0, 4, max_chars=2000))
    return init, shards


RUN = ("--num-steps", "1", "--batch-size", "1", "--seq-length", "16", "--lr", "1e-4")


def output_dir(ctx: RunContext, name: str = "out") -> str:
    return str(ctx.workspace / name)


# --- apr-pretrain-arch-polymorphic-v1 -------------------------------------------------------------

# --- the Chinchilla gate through `apr pretrain --preflight-only` (ours and chinchilla-gate-v1) ------


def scratch_source(ctx: RunContext) -> tuple[str, ...]:
    """From-scratch arguments for the small fixture: ``--arch tiny`` with the tokenizer's vocab."""
    from engines.trainer.fixtures import tokenizer_size

    tok, _ = small_fixture(ctx)
    return ("--arch", "tiny", "--vocab-size", str(tokenizer_size(tok)))


def tiny_init(ctx: RunContext, name: str = "tiny-init") -> Path:
    """A real tiny checkpoint (random weights) for the small fixture's tokenizer, built once per workspace."""
    from engines.trainer.fixtures import tiny_checkpoint

    tok, _ = small_fixture(ctx)
    dest = ctx.workspace / name
    if not (dest / "model.safetensors").is_file():
        tiny_checkpoint(dest, tok, seed=ctx.seed + 7)
    return dest


def gate_run(ctx: RunContext, source: tuple[str, ...], steps: int, *extra: str, seq: int = 64,
             env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """The gate on the small fixture: preflight of ``steps`` x batch 1 x ``seq`` with ``source``
    (``--arch ...`` or ``--init ...``) -> (exit code, report or {}, stderr)."""
    tok, shards = small_fixture(ctx)
    return preflight(ctx, "--dataset", str(shards), "--tokenizer", str(tok), *source, "--num-steps", str(steps),
                     "--batch-size", "1", "--seq-length", str(seq), "--lr", "1e-4", "--output", output_dir(ctx),
                     *extra, env=env)


def gate_at(ctx: RunContext, source: tuple[str, ...], tokens: int, *extra: str) -> tuple[int, dict[str, Any], str]:
    """The gate at D = ``tokens`` exactly: batch 1 x seq 1 makes D = --num-steps, so a bound k·N and
    k·N - 1 are both reachable whatever N is (with seq 64 only multiples of 64 are)."""
    return gate_run(ctx, source, tokens, *extra, seq=1)


def gate_missed(report: dict[str, Any], tokens: int, label: str) -> list[str]:
    """[] when the command's own report says D = ``tokens`` (the fixture really hit the bound)."""
    got = report.get("preflight", {}).get("chinchilla", {}).get("tokens")
    return [] if got == tokens else [f"{label}: the command planned D = {got}, not steps x 1 x 1 = {tokens:,}"]


def gate_n_params(ctx: RunContext, source: tuple[str, ...]) -> int:
    """N as the command reports it for ``source`` (the gate must be consistent with its own N)."""
    code, report, err = gate_run(ctx, source, 1, "--force-under-provisioned")
    if code != 0:
        raise RuntimeError(f"preflight of the fixture failed (exit {code}): {err[-500:]}")
    return int(report["preflight"]["parameters"])
