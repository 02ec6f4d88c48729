"""`apr export`, `apr qa`, `apr bench`: argument parsing and output only; the work is in the engine.

The engine is :func:`engines.cli.engine_for("exporter")`, so `apr --engine-impl exporter=NAME`
(or APR_ENGINE_EXPORTER=NAME) runs the same commands on another registered exporter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from engines.errors import AprError, UsageError, require_paths


def _engine() -> Any:
    from engines.cli import engine_for

    return engine_for("exporter")


def _status(args: argparse.Namespace, message: str) -> AbstractContextManager[Any]:
    """A rich spinner on a terminal; nothing when piped, with --no-progress or NO_COLOR."""
    if getattr(args, "no_progress", False) or os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a GGUF (llama.cpp) from a checkpoint directory",
        description="Export a checkpoint directory (config.json, model.safetensors, tokenizer.json) to GGUF. "
        "The file is read back and checked against the required key/tensor table before it is renamed into place.",
    )
    p.add_argument("checkpoint", type=Path, help="checkpoint directory (HF layout)")
    p.add_argument("--format", dest="out_format", default="gguf", choices=["gguf"], help="output format (gguf)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .gguf file (its directory must exist)")
    p.add_argument("--dtype", default="f16", choices=["f32", "f16", "q8_0"], help="tensor type for matrices (default f16)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no spinner")
    # Hidden: skip the read-back self-check, so falsifiers can inspect what the writer alone produced.
    p.add_argument("--no-verify", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run_export)

    q = subparsers.add_parser(
        "qa",
        help="quality gates on a checkpoint directory or a GGUF file",
        description="Run the qa gates (tokenizer embedded, metadata complete, tensor inventory, finite weights, "
        "tokenizer round trip, greedy decode, GGUF read-back). Each gate is PASS, FAIL or SKIP with a reason; "
        "exit 1 when any gate fails.",
    )
    q.add_argument("target", type=Path, help="checkpoint directory or .gguf file")
    q.add_argument("--format", dest="report_format", default="text", choices=["text", "json"])
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-progress", action="store_true", help="no spinner")
    q.set_defaults(func=run_qa)

    b = subparsers.add_parser(
        "bench",
        help="prefill/decode tokens per second with a JSON receipt",
        description="Measure prefill and decode throughput: a checkpoint on the torch engine, a GGUF on llama.cpp.",
    )
    b.add_argument("target", type=Path, help="checkpoint directory or .gguf file")
    b.add_argument("--format", dest="report_format", default="text", choices=["text", "json"])
    b.add_argument("--prompt-tokens", type=int, default=128)
    b.add_argument("--decode-tokens", type=int, default=32)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--threads", type=int, default=None, help="threads (default: min(2, cores))")
    b.add_argument("-o", "--output", type=Path, default=None, help="also write the receipt JSON here (atomically)")
    b.add_argument("--force", action="store_true", help="replace an existing receipt file")
    b.add_argument("--no-progress", action="store_true", help="no spinner")
    b.set_defaults(func=run_bench)


def run_export(args: argparse.Namespace) -> int:
    out: Path = args.output
    if out.suffix.lower() != ".gguf":
        raise UsageError(f"--output {out} should end in .gguf", hint="name the file model.gguf (or similar)")
    require_paths([args.checkpoint], hint="pass the folder written by `apr pretrain` or `apr import`")
    with _status(args, f"exporting {args.checkpoint} -> {out}"):
        result = _engine().export(args.checkpoint, out, dtype=args.dtype, force=args.force, verify=not args.no_verify)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        check = "read back and checked" if result.verified else "NOT checked (--no-verify)"
        print(
            f"wrote {result.path} ({result.bytes:,} bytes, arch {result.arch}, {result.dtype}, {result.n_tensors} tensors, "
            f"{result.n_tokens:,} tokens incl. {result.n_placeholders} placeholders) in {result.seconds:.2f} s; {check}"
        )
    return 0


def run_qa(args: argparse.Namespace) -> int:
    require_paths([args.target], hint="pass a checkpoint folder or a .gguf file")
    with _status(args, f"qa {args.target}"):
        report = _engine().qa(args.target, seed=args.seed)
    if args.report_format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"apr qa {report.target} ({report.kind})")
        for col in ("gate", "status", "reason"):
            table.add_column(col)
        style = {"PASS": "green", "FAIL": "bold red", "SKIP": "yellow"}
        for g in report.gates:
            table.add_row(g.id, f"[{style[g.status]}]{g.status}[/]", g.reason)
        Console(soft_wrap=False, width=max(120, Console().width)).print(table)
        print("qa: " + ("all gates passed or skipped" if report.ok else "FAILED"))
    return 0 if report.ok else 1


def run_bench(args: argparse.Namespace) -> int:
    require_paths([args.target], hint="pass a checkpoint folder or a .gguf file")
    if args.output is not None:
        if args.output.exists() and not args.force:
            raise AprError(f"{args.output} already exists; refusing to overwrite it", hint="pass --force")
        if not args.output.parent.is_dir():
            raise AprError(f"the directory {args.output.parent} does not exist", hint="create it first")
    with _status(args, f"bench {args.target}"):
        receipt = _engine().bench(
            args.target, prompt_tokens=args.prompt_tokens, decode_tokens=args.decode_tokens,
            repeats=args.repeats, threads=args.threads,
        )
    data = receipt.to_json()
    text = json.dumps(data, indent=2)
    if args.output is not None:
        write_text_atomic(args.output, text + "\n")
    if args.report_format == "json":
        print(text)
    else:
        rt = receipt.runtime
        print(f"apr bench {receipt.target} on {rt['engine']} {rt.get('version')} ({receipt.threads} threads, {receipt.machine['cpu']})")
        for label, phase in (("prefill", receipt.prefill), ("decode", receipt.decode)):
            print(f"  {label:8s} {phase.tokens:5d} tokens  median {phase.median_tokens_per_s:10.1f} tok/s  samples {phase.tokens_per_s}")
        for note in receipt.notes:
            print(f"  note: {note}")
    return 0
