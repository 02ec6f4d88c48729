"""FALSIFY-QA-002/003/004/006/009/010: what the model commands print, through the real `apr` command.

Each runs `apr` as a subprocess with the exporter engine under test (``--engine-impl``), on a
tiny real checkpoint (stdlib-trained BPE, random weights) and its GGUF export.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers._export_support import apr, tail
from falsifiers.aprender.apr_cli_qa._support import (
    command_tree,
    fixtures,
    float32_artifacts,
    is_leaf,
    non_finite,
    strict_json,
)

MISSING = "/nonexistent/model.gguf"
MISSING_WORDS = re.compile(r"not found|does not exist|no such file", re.IGNORECASE)
NAN_INF = re.compile(r"(?<![A-Za-z])(nan|[-+]?inf(inity)?)(?![A-Za-z])", re.IGNORECASE)
ERROR_WORDS = re.compile(r"\berror\b|\bFAIL(ED)?\b|\binvalid\b", re.IGNORECASE)


def model_commands() -> list[tuple[tuple[str, ...], list[str]]]:
    """(command path, argv with the model replaced by MISSING) for every leaf command whose first
    positional argument is a filesystem path; other required arguments get harmless values."""
    from engines.cli import build_parser

    out = []
    for path, sub in command_tree(build_parser()):
        if not is_leaf(sub):
            continue
        positionals = [a for a in sub._actions if not a.option_strings]
        if not positionals or positionals[0].type is not Path:
            continue
        argv = [*path, MISSING, *("x" for _ in positionals[1:] if _.nargs not in ("?", "*"))]
        for action in sub._actions:
            if action.option_strings and action.required:
                argv += [action.option_strings[-1], "out-" + action.dest]
        out.append((path, argv))
    return out


@falsifier("FALSIFY-QA-002", level="integration", engines=["exporter"])
def missing_model_is_a_clear_error(ctx: RunContext) -> Verdict:
    """Read as: every command taking a model path (enumerated from the parser), given a path that does
    not exist, exits 1 or 2 with a message naming the path and saying it does not exist, no
    traceback; and the exporter engine's own entry points (qa, bench, run) refuse it the same way."""
    from engines.errors import AprError

    bad = []
    commands = model_commands()
    for _path, argv in commands:
        proc = apr(ctx, *argv)
        err = proc.stderr
        if proc.returncode not in (1, 2) or MISSING not in err or not MISSING_WORDS.search(err) or "Traceback" in err:
            bad.append(f"apr {' '.join(argv)}: exit {proc.returncode}, stderr {err.strip()[-200:]!r}")
    engine = ctx.engine("exporter")
    missing = ctx.workspace / "nonexistent" / "model.gguf"
    calls = {"qa": lambda: engine.qa(missing), "bench": lambda: engine.bench(missing, prompt_tokens=4, decode_tokens=1, repeats=1),
             "generate": lambda: engine.generate(missing, "x", max_tokens=1)}
    for name, call in calls.items():
        try:
            result = call()
            bad.append(f"engine.{name}({missing}) returned {type(result).__name__} instead of refusing the missing file")
        except AprError as exc:
            if str(missing) not in str(exc) or not MISSING_WORDS.search(str(exc)):
                bad.append(f"engine.{name}: error does not name the missing file: {exc}")
    if bad:
        return ctx.falsified(f"{len(bad)} case(s): " + "; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held(f"{len(commands)} model commands ({', '.join(' '.join(p) for p, _ in commands)}) and the engine's "
                    "qa/bench/generate refuse a missing model by name, exit 1-2, no traceback")


def _json_runs(ctx: RunContext, ckpt: Path, gguf: Path) -> dict[str, list[str | Path]]:
    receipt = ctx.workspace / "receipt.json"
    from engines.exporter.receipt import base_receipt

    receipt.write_text(json.dumps(base_receipt()), encoding="utf-8")
    return {
        "inspect checkpoint": ["inspect", ckpt, "--format", "json"],
        "inspect gguf": ["inspect", gguf, "--format", "json"],
        "qa gguf": ["qa", gguf, "--format", "json", "--no-progress"],
        "run": ["run", ckpt, "def f(x):", "--max-tokens", "4", "--format", "json"],
        "export": ["export", ckpt, "-o", ctx.workspace / "again.gguf", "--force", "--no-progress", "--json"],
        "bench --check": ["bench", "--check", receipt, "--format", "json"],
    }


@falsifier("FALSIFY-QA-003", level="integration", engines=["exporter"])
def json_output_is_valid(ctx: RunContext) -> Verdict:
    """Read as: every JSON-emitting command's output parses as strict JSON (no NaN/Infinity literals)
    and holds no f32 precision artifact (an f32 widened to f64, e.g. 9.999999974752427e-07)."""
    ckpt, gguf = fixtures(ctx)
    bad = []
    runs = _json_runs(ctx, ckpt, gguf)
    for name, argv in runs.items():
        proc = apr(ctx, *argv)
        if proc.returncode != 0:
            bad.append(f"{name}: exit {proc.returncode}: {tail(proc, 200)}")
            continue
        try:
            data = strict_json(proc.stdout)
        except ValueError as exc:
            bad.append(f"{name}: not valid JSON: {exc}")
            continue
        artifacts = float32_artifacts(data)
        if artifacts:
            bad.append(f"{name}: f32 artifacts {artifacts[:3]}")
    if bad:
        return ctx.falsified(f"{len(bad)} of {len(runs)} JSON outputs: " + "; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held(f"{len(runs)} JSON outputs ({', '.join(runs)}) parse strictly, without f32 artifacts")


@falsifier("FALSIFY-QA-004", level="integration", engines=["exporter"])
def no_nan_or_inf_in_output(ctx: RunContext) -> Verdict:
    """Read as: `apr run MODEL 'def f(x):' --max-tokens 8` (greedy; our generation command) on a tiny
    real checkpoint (text and JSON) and on its GGUF (JSON) exits 0 and prints no NaN/Inf: not in any
    JSON number, not in the summary line (the generated text itself is model output, not scanned)."""
    ckpt, gguf = fixtures(ctx)
    bad = []
    text = apr(ctx, "run", ckpt, "def f(x):", "--max-tokens", "8")  # text once: the same numbers as json
    if text.returncode != 0:
        bad.append(f"apr run {ckpt.name}: exit {text.returncode}: {tail(text, 200)}")
    elif NAN_INF.search(text.stderr):
        bad.append(f"apr run {ckpt.name}: stderr {text.stderr.strip()[-200:]!r}")
    for target in (ckpt, gguf):
        js = apr(ctx, "run", target, "def f(x):", "--max-tokens", "8", "--format", "json")
        if js.returncode != 0:
            bad.append(f"apr run {target.name} --format json: exit {js.returncode}: {tail(js, 200)}")
        else:
            data = json.loads(js.stdout)  # the lenient parser, so that NaN is found rather than refused
            found = non_finite(data)
            if found:
                bad.append(f"apr run {target.name} --format json: {found[:3]}")
            elif not data.get("steps"):
                bad.append(f"apr run {target.name} --format json: no steps reported")
    if bad:
        return ctx.falsified(f"{len(bad)} case(s): " + "; ".join(bad[:3]), counterexample=bad[0])
    return ctx.held("apr run on the checkpoint and its GGUF (8 greedy tokens, text + json): finite log-probabilities "
                    "and entropies, no NaN/Inf printed")


def _signals_error(stdout: str, stderr: str) -> bool:
    """An error or a FAIL shown to the user (JSON outputs are judged by their fields, not by words)."""
    try:
        data = strict_json(stdout)
    except ValueError:
        return bool(ERROR_WORDS.search(stdout) or ERROR_WORDS.search(stderr))
    bad_gate = any(g.get("status") == "FAIL" for g in data.get("gates", [])) if isinstance(data, dict) else False
    invalid = isinstance(data, dict) and (data.get("ok") is False or any(
        not r.get("valid", True) for r in (data.get("receipts") or {}).values()))
    return bad_gate or invalid or bool(ERROR_WORDS.search(stderr))


def _nan_checkpoint(ctx: RunContext, ckpt: Path) -> Path:
    """A copy of ``ckpt`` with one NaN in a layer weight (a diverged training run looks like this)."""
    import shutil

    import numpy as np
    from safetensors.numpy import load_file, save_file

    dest = ctx.workspace / "nan-ckpt"
    if not dest.is_dir():
        shutil.copytree(ckpt, dest)
        state = load_file(str(dest / "model.safetensors"))
        name = next(n for n in sorted(state) if n.endswith("mlp.down_proj.weight"))
        state[name] = state[name].copy()
        state[name][0, 0] = np.nan
        save_file(state, str(dest / "model.safetensors"), metadata={"format": "pt"})
    return dest


@falsifier("FALSIFY-QA-006", level="integration", engines=["exporter"])
def error_output_implies_nonzero_exit(ctx: RunContext) -> Verdict:
    """Read as: whenever an `apr` invocation shows an error or a FAIL (text: the words; JSON: a FAIL
    gate, ok=false or an invalid receipt), its exit code is not 0. Driven through invocations that
    must fail (missing model, a checkpoint with a NaN weight, an invalid receipt) and ones that must
    not (the healthy GGUF), so both sides of the implication are exercised."""
    from engines.exporter.receipt import base_receipt

    ckpt, gguf = fixtures(ctx)
    nan_ckpt = _nan_checkpoint(ctx, ckpt)
    broken = base_receipt()
    del broken["decode"]["samples_ms"]
    bad_receipt = ctx.workspace / "broken-receipt.json"
    bad_receipt.write_text(json.dumps(broken), encoding="utf-8")
    cases: dict[str, tuple[list[str | Path], bool]] = {  # argv, must it signal an error?
        "validate missing model": (["qa", MISSING], True),
        "qa NaN checkpoint": (["qa", nan_ckpt, "--no-progress"], True),
        "qa NaN checkpoint json": (["qa", nan_ckpt, "--format", "json"], True),
        "bench --check broken receipt": (["bench", "--check", bad_receipt], True),
        "qa healthy gguf": (["qa", gguf, "--no-progress"], False),
    }
    bad = []
    for name, (argv, must_fail) in cases.items():
        proc = apr(ctx, *argv)
        shown = _signals_error(proc.stdout, proc.stderr)
        if shown and proc.returncode == 0:
            bad.append(f"{name}: shows an error/FAIL and exits 0 (an exit-code lie)")
        elif must_fail and not shown:
            bad.append(f"{name}: exit {proc.returncode} without showing any error or FAIL")
        elif not must_fail and proc.returncode != 0:
            bad.append(f"{name}: exit {proc.returncode} on a healthy input: {tail(proc, 200)}")
    if bad:
        return ctx.falsified(f"{len(bad)} of {len(cases)} invocations: " + "; ".join(bad), counterexample=bad[0])
    return ctx.held(f"{len(cases)} invocations: every shown error/FAIL came with a non-zero exit; the healthy one exits 0")


def _inspect(ctx: RunContext, target: Path) -> subprocess.CompletedProcess[str]:
    from falsifiers._trainer_support import apr as apr_trainer

    return apr_trainer(ctx, "inspect", str(target), "--format", "json")


@falsifier("FALSIFY-QA-009", level="integration", engines=["trainer"])
def inspect_reads_three_formats(ctx: RunContext) -> Verdict:
    """Read as: `apr inspect` works on a GGUF, a checkpoint directory (our APR checkpoint format) and a
    .safetensors file (architecture from its sibling config.json), and reports the same architecture
    and parameter count for the same model in all three."""
    ckpt, gguf = fixtures(ctx)
    targets = {"gguf": gguf, "checkpoint": ckpt, "safetensors": ckpt / "model.safetensors"}
    seen: dict[str, tuple[Any, Any]] = {}
    bad = []
    for kind, target in targets.items():
        proc = _inspect(ctx, target)
        if proc.returncode != 0:
            bad.append(f"{kind}: `apr inspect {target.name}` exit {proc.returncode}: {tail(proc, 200)}")
            continue
        data = json.loads(proc.stdout)
        seen[kind] = ((data.get("architecture") or {}).get("family"), data.get("parameters"))
    if not bad and len(set(seen.values())) != 1:
        bad.append(f"the three formats disagree: {seen}")
    if bad:
        return ctx.falsified("; ".join(bad), counterexample=bad[0])
    family, n = next(iter(seen.values()))
    return ctx.held(f"apr inspect reads GGUF, checkpoint dir and .safetensors: {family}, {n:,} parameters in each")


@falsifier("FALSIFY-QA-010", level="integration", engines=["exporter"])
def architecture_agrees_across_commands(ctx: RunContext) -> Verdict:
    """Read as: for one model, `apr inspect --format json` .architecture.family, `apr qa --format json`'s
    metadata gate (details.arch) and `apr export --json` .arch name the same architecture, for the
    checkpoint and for its GGUF (our `check`/`oracle` are qa and inspect)."""
    ckpt, gguf = fixtures(ctx)
    reports: dict[str, Any] = {}
    bad = []
    for label, target in (("checkpoint", ckpt), ("gguf", gguf)):
        ins = apr(ctx, "inspect", target, "--format", "json")
        qa = apr(ctx, "qa", target, "--format", "json", "--no-progress")
        if ins.returncode != 0:
            bad.append(f"inspect {label}: exit {ins.returncode}: {tail(ins, 200)}")
        else:
            reports[f"inspect {label}"] = json.loads(ins.stdout)["architecture"]["family"]
        try:
            gate = next(g for g in json.loads(qa.stdout)["gates"] if g["id"] == "QA-ARCH-METADATA")
            reports[f"qa {label}"] = gate.get("details", {}).get("arch")
        except (ValueError, KeyError, StopIteration) as exc:
            bad.append(f"qa {label}: no metadata gate in its JSON ({exc}); exit {qa.returncode}: {tail(qa, 200)}")
    exp = apr(ctx, "export", ckpt, "-o", ctx.workspace / "again.gguf", "--force", "--no-progress", "--json")
    if exp.returncode != 0:
        bad.append(f"export: exit {exp.returncode}: {tail(exp, 200)}")
    else:
        reports["export"] = json.loads(exp.stdout)["arch"]
    if not bad and len(set(reports.values())) != 1:
        bad.append(f"the commands disagree on the architecture: {reports}")
    if bad:
        return ctx.falsified("; ".join(bad), counterexample=bad[0])
    return ctx.held(f"one architecture ({next(iter(reports.values()))}) across {', '.join(reports)}")
