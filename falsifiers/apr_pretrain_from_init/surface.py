"""Reference ids FALSIFY-APR-PRETRAIN-INIT-001..005, 007 (out of scope) and 008: the --init flag.

The reference's "APR file" is read as what our ``--init`` takes: a checkpoint folder (config.json +
safetensors weights, from `apr import` / `apr pretrain`) or a GGUF file; its "magic bytes" as the
safetensors header / GGUF magic. "Fails fast before step 1" is observed on the real command: a
non-zero exit whose error line names the culprit, with no training step logged and no checkpoint
written. Our error messages cite our own gate ids, not the reference's, so the id is not required.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import subprocess
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers._contract_checks import pv_validates
from falsifiers._trainer_support import apr, output_dir, small_fixture, tail_of, tiny_init

OUT_OF_SCOPE = {
    "FALSIFY-APR-PRETRAIN-INIT-007":
        "about the other project's repository: its clap field, unit test and integration test must "
        "change in one PR; our flag's observable surface is bound by INIT-001 (help + parse)",
}
# A real run that stops after two steps; under-provisioned on purpose (the gate is not under test).
TRAIN = ("--num-steps", "2", "--batch-size", "1", "--seq-length", "32", "--lr", "1e-4", "--force-under-provisioned",
         "--threads", "1", "--no-progress")


def _pretrain(ctx: RunContext, init: Path, name: str) -> subprocess.CompletedProcess[str]:
    tok, shards = small_fixture(ctx)
    return apr(ctx, "pretrain", "--init", str(init), "--dataset", str(shards), "--tokenizer", str(tok), *TRAIN,
               "--output", output_dir(ctx, name))


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    return (lines[-1] if lines else tail_of(proc))[:400]


def _trained(ctx: RunContext, name: str) -> bool:
    """Did the run reach a training step or write a checkpoint?"""
    out = ctx.workspace / name
    metrics = out / "metrics.jsonl"
    stepped = metrics.is_file() and any("loss" in json.loads(line) for line in metrics.read_text().splitlines()
                                        if line.strip())
    return stepped or (out / "model.safetensors").is_file()


def _refused(ctx: RunContext, init: Path, name: str, *, names: str) -> str | None:
    """None when `apr pretrain --init init` exits non-zero before step 1 with ``names`` in its error line."""
    proc = _pretrain(ctx, init, name)
    line = _error_line(proc)
    if proc.returncode == 0 or _trained(ctx, name):
        return f"{name}: exit {proc.returncode}, trained anyway (a step logged or a checkpoint written); {line}"
    if names not in line:
        return f"{name}: exit {proc.returncode} but the error does not name {names!r}: {line}"
    return None


# --- 001: the flag ----------------------------------------------------------------------------------


def init_flag_findings(parser: argparse.ArgumentParser) -> list[str]:
    """What is wrong with ``--init`` on ``parser``'s `pretrain` (help text, absent -> None, present -> Path)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    pretrain = subs[0].choices.get("pretrain") if subs else None
    if pretrain is None:
        return ["`apr` has no pretrain command"]
    problems = [] if "--init" in pretrain.format_help() else ["`apr pretrain --help` does not mention --init"]
    base = ["pretrain", "--dataset", "d", "--tokenizer", "t.json", "--num-steps", "1", "--batch-size", "1",
            "--seq-length", "8", "--lr", "1e-4", "--output", "o"]
    for argv, want in ((base, None), ([*base, "--init", "models/base"], Path("models/base"))):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                got = getattr(parser.parse_args(argv), "init", "<no attribute>")
        except SystemExit:
            problems.append(f"`apr {' '.join(argv[-2:])}` ...: parse error {err.getvalue().strip()[-200:]}")
            continue
        if got != want or type(got) is not type(want):
            problems.append(f"`apr pretrain {'--init models/base' if want else '(no --init)'}` parsed init as "
                            f"{got!r}, expected {want!r}")
    return problems


@falsifier("FALSIFY-APR-PRETRAIN-INIT-001", level="algorithm", engines=[])
def init_flag_parsed(ctx: RunContext) -> Verdict:
    """`apr pretrain --help` lists --init; absent parses to None, `--init P` to the path P (read as our argparse)."""
    from engines.cli import build_parser

    problems = init_flag_findings(build_parser())
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems)
    return ctx.held("`apr pretrain --help` lists --init; absent -> None, --init models/base -> Path('models/base') "
                    "(read as: our argparse surface of the reference's clap flag)")


# --- 002: no --init, unchanged --------------------------------------------------------------------


@falsifier("FALSIFY-APR-PRETRAIN-INIT-002", level="integration", engines=["trainer"])
def synthetic_scratch_run_unchanged(ctx: RunContext) -> Verdict:
    """`apr pretrain --synthetic --arch tiny` (no --init): exit 0, starts at ~ln(V) (random init), learns the pattern."""
    from engines.trainer.fixtures import tokenizer_size
    from engines.trainer.synthetic import ALPHABET

    tok, _ = small_fixture(ctx)
    vocab = tokenizer_size(tok)
    steps = 40  # measured: val loss 4.5 -> 0.62 over 40 steps at lr 3e-3 (uniform-alphabet floor ln 64 = 4.16)
    proc = apr(ctx, "pretrain", "--synthetic", "--tokenizer", str(tok), "--arch", "tiny", "--vocab-size", str(vocab),
               "--num-steps", str(steps), "--batch-size", "4", "--seq-length", "64", "--lr", "3e-3", "--threads", "1",
               "--no-progress", "--format", "json", "--seed", str(ctx.seed), "--output", output_dir(ctx, "synthetic"))
    if proc.returncode != 0:
        return ctx.falsified(f"`apr pretrain --synthetic` without --init exited {proc.returncode}: {tail_of(proc)}",
                             measured={"exit_code": proc.returncode})
    records = [json.loads(x) for x in (ctx.workspace / "synthetic" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    final_val = [r["val_loss"] for r in records if "val_loss" in r][-1]
    floor = math.log(min(ALPHABET, vocab))  # the best any model can do on i.i.d. ids of the alphabet
    measured = {"steps": len(losses), "first_loss": round(losses[0], 4), "ln_vocab": round(math.log(vocab), 4),
                "final_val_loss": round(final_val, 4), "uniform_alphabet_floor": round(floor, 4)}
    problems = []
    if len(losses) != steps:
        problems.append(f"{len(losses)} steps logged, expected {steps}")
    # A fresh random init predicts ~uniformly: step-0 loss within 0.5 nat of ln(V) (measured 7.62 vs 7.60).
    if abs(losses[0] - math.log(vocab)) > 0.5:
        problems.append(f"step-0 loss {losses[0]:.3f} is not a random init's ~ln({vocab}) = {math.log(vocab):.3f}")
    if final_val > floor / 2:
        problems.append(f"final val loss {final_val:.3f} > half the uniform floor {floor:.3f}: nothing was learned")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems, measured=measured)
    return ctx.held(f"exit 0; {steps} steps from a random init (step-0 loss {losses[0]:.2f} ~ ln V); val loss "
                    f"{final_val:.2f} far below the {floor:.2f} floor of unlearnable data (read as: our --synthetic "
                    "smoke run, a real model on generated tokens)", measured=measured)


# --- 003..005: a bad --init fails fast ------------------------------------------------------------


@falsifier("FALSIFY-APR-PRETRAIN-INIT-003", level="integration", engines=["trainer"])
def missing_init_fails_fast(ctx: RunContext) -> Verdict:
    """`--init <missing path>` exits non-zero before step 1, its error naming the path (no random-init fallback)."""
    missing = ctx.workspace / "no-such-model"
    problem = _refused(ctx, missing, "out-missing", names=str(missing))
    out_created = (ctx.workspace / "out-missing").exists()
    if problem or out_created:
        return ctx.falsified(problem or "the missing --init was refused only after the output folder was created",
                             measured={"output_created": out_created})
    return ctx.held(f"--init {missing.name} (absent): refused before anything was created, naming the path",
                    measured={"output_created": False})


def _corrupt_copy(ctx: RunContext, name: str, weights: bytes) -> Path:
    import shutil

    dest = ctx.workspace / name
    shutil.copytree(tiny_init(ctx), dest, dirs_exist_ok=True)
    (dest / "model.safetensors").write_bytes(weights)
    return dest


@falsifier("FALSIFY-APR-PRETRAIN-INIT-004", level="integration", engines=["trainer"])
def bad_magic_fails_fast(ctx: RunContext) -> Verdict:
    """Garbage / empty safetensors weights and wrong-magic / empty GGUF files: exit non-zero before step 1."""
    cases: dict[str, tuple[Path, str]] = {}
    for name, data in (("garbage-weights", b"APRX" + bytes(range(256)) * 4), ("empty-weights", b"")):
        ckpt = _corrupt_copy(ctx, name, data)
        cases[name] = (ckpt, str(ckpt / "model.safetensors"))
    for name, data in (("wrong-magic.gguf", b"GGUX" + b"\0" * 60), ("empty.gguf", b"")):
        path = ctx.workspace / name
        path.write_bytes(data)
        cases[name] = (path, str(path))
    problems = [p for name, (init, culprit) in cases.items()
                if (p := _refused(ctx, init, f"out-{name}", names=culprit)) is not None]
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems, measured={"refused": 4 - len(problems)})
    return ctx.held("4 corrupt inits (garbage / empty safetensors, wrong-magic / empty GGUF) refused before step 1, "
                    "each naming the file (read as: before any training step; a GGUF's magic is checked in "
                    "preflight, safetensors weights when they are read, right after the model is built, since "
                    "--preflight-only reads no weights by design)", measured={"refused": 4})


@falsifier("FALSIFY-APR-PRETRAIN-INIT-005", level="integration", engines=["trainer"])
def bogus_architecture_fails_fast(ctx: RunContext) -> Verdict:
    """Valid weights but config.json missing a field / promising more vocab rows or layers: refused before step 1."""
    from engines.trainer.fixtures import tokenizer_size

    tok, _ = small_fixture(ctx)
    vocab = tokenizer_size(tok)
    edits: dict[str, tuple[dict[str, Any], str]] = {
        "no-hidden-size": ({"hidden_size": None}, "hidden_size"),
        "vocab-plus-16": ({"vocab_size": vocab + 16}, "model.embed_tokens.weight"),
        "three-layers": ({"num_hidden_layers": 3}, "model.layers.2."),
    }
    problems = []
    for name, (change, culprit) in edits.items():
        dest = _corrupt_copy(ctx, name, (tiny_init(ctx) / "model.safetensors").read_bytes())
        config = json.loads((dest / "config.json").read_text(encoding="utf-8"))
        config.update(change)
        config = {k: v for k, v in config.items() if v is not None}
        (dest / "config.json").write_text(json.dumps(config), encoding="utf-8")
        if (problem := _refused(ctx, dest, f"out-{name}", names=culprit)) is not None:
            problems.append(problem)
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems, measured={"refused": 3 - len(problems)})
    return ctx.held("config.json without hidden_size, with vocab + 16 rows, with 3 layers for 2 layers of weights: "
                    "each refused before step 1 naming the field / tensor (no resize, no partial load)",
                    measured={"refused": 3})


# --- 008 -------------------------------------------------------------------------------------------


@falsifier("FALSIFY-APR-PRETRAIN-INIT-008", level="algorithm", engines=[])
def init_contract_validates(ctx: RunContext) -> Verdict:
    """The contract declaring this id passes our `pv validate` (read as: the reference's own pv validate)."""
    return pv_validates(ctx)
