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
from engines.exporter.format_parity import DECODE_FLOOR


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
    q.add_argument("--reference", "--safetensors-path", dest="reference", type=Path, default=None,
                   help="checkpoint directory the GGUF was exported from, for the format-parity gate "
                   "(default: <name>/ or the GGUF's own folder when it holds config.json + *.safetensors; "
                   "none found: the gate is skipped)")
    q.add_argument("--max-tokens", type=int, default=None,
                   help=f"decode steps the format-parity gate compares (at least {DECODE_FLOOR}; fewer is raised to it)")
    q.add_argument("--no-progress", action="store_true", help="no spinner")
    q.set_defaults(func=run_qa)

    r = subparsers.add_parser(
        "run",
        help="continue a prompt with a checkpoint directory or a GGUF (torch engine)",
        description="Generate --max-tokens tokens after PROMPT: greedy at --temperature 0 (default), seeded "
        "sampling otherwise. --format json adds the ids and each step's log-probability and entropy.",
    )
    r.add_argument("target", type=Path, help="checkpoint directory or .gguf file")
    r.add_argument("prompt", help="text to continue")
    r.add_argument("--max-tokens", type=int, default=16)
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--format", dest="report_format", default="text", choices=["text", "json"])
    r.add_argument("--no-progress", action="store_true", help="no spinner")
    r.set_defaults(func=run_generate)

    b = subparsers.add_parser(
        "bench",
        help="prefill/decode tokens per second with a JSON receipt",
        description="Measure prefill and decode throughput: a checkpoint on the torch engine, a GGUF on llama.cpp.",
    )
    b.add_argument("target", type=Path, nargs="?", help="checkpoint directory or .gguf file (not with --check)")
    b.add_argument("--format", dest="report_format", default="text", choices=["text", "json"])
    b.add_argument("--prompt-tokens", type=int, default=128)
    b.add_argument("--decode-tokens", type=int, default=32)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--threads", type=int, default=None, help="threads (default: min(2, cores))")
    b.add_argument("-o", "--output", type=Path, default=None, help="also write the receipt JSON here (atomically)")
    b.add_argument("--force", action="store_true", help="replace an existing receipt file")
    b.add_argument("--baseline", type=Path, default=None, help="a receipt to compare the decode median with")
    b.add_argument("--threshold", type=float, default=None,
                   help="minimum decode-median ratio vs --baseline (armed only when both ran on the same compute class)")
    b.add_argument("--check", type=Path, nargs="+", default=None, metavar="RECEIPT",
                   help="validate receipts instead of measuring: the validator first proves itself on its case "
                   "table; exit 0 all valid, 1 any invalid, 3 when the validator fails its own table")
    b.add_argument("--no-progress", action="store_true", help="no spinner")
    b.set_defaults(func=run_bench)


def run_export(args: argparse.Namespace) -> int:
    out: Path = args.output
    require_paths([args.checkpoint], hint="pass the folder written by `apr pretrain` or `apr import`")
    if out.suffix.lower() != ".gguf":
        raise UsageError(f"--output {out} should end in .gguf", hint="name the file model.gguf (or similar)")
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
        report = _engine().qa(args.target, seed=args.seed, reference=args.reference, max_tokens=args.max_tokens)
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


def run_generate(args: argparse.Namespace) -> int:
    require_paths([args.target], hint="pass a checkpoint folder or a .gguf file")
    with _status(args, f"run {args.target}"):
        result = _engine().generate(args.target, args.prompt, max_tokens=args.max_tokens,
                                    temperature=args.temperature, seed=args.seed)
    if args.report_format == "json":
        print(json.dumps(result.to_json(), indent=2, allow_nan=False))
    else:
        print(result.prompt + result.text)
        mean = sum(s["logprob"] for s in result.steps) / len(result.steps)
        print(f"({len(result.ids)} tokens, temperature {result.temperature:g}, mean log-probability {mean:.3f})",
              file=sys.stderr)
    return 0


def run_check_receipts(args: argparse.Namespace) -> int:
    from engines.exporter.receipt import self_test

    if args.target is not None:
        raise UsageError("--check validates receipts; it takes no model target", hint="drop the target")
    require_paths(args.check, hint="pass receipt files written by `apr bench -o`")
    engine = _engine()
    test = self_test(engine.validate_receipt, engine.receipt_cases())
    results: dict[str, list[str]] = {}
    if test.ok:
        for path in args.check:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                results[str(path)] = [f"not readable as JSON: {exc}"]
                continue
            results[str(path)] = engine.validate_receipt(data)
    payload = {"self_test": test.to_json(), "receipts": {p: {"valid": not v, "problems": v} for p, v in results.items()}}
    if args.report_format == "json":
        print(json.dumps(payload, indent=2))
    elif not test.ok:
        print(f"apr bench --check: the validator failed its own case table ({test.cases} cases, floor {test.floor}); "
              "no verdict:\n  " + "\n  ".join(test.misbehaving or [f"only {test.cases} cases"]), file=sys.stderr)
    else:
        print(f"validator self-test: {test.cases} cases behave as declared")
        for path, problems in results.items():
            print(f"{path}: " + ("valid" if not problems else "INVALID\n  - " + "\n  - ".join(problems)))
    if not test.ok:
        return 3
    return 1 if any(results.values()) else 0


def run_bench(args: argparse.Namespace) -> int:
    if args.check is not None:
        return run_check_receipts(args)
    if args.target is None:
        raise UsageError("apr bench needs a target (checkpoint directory or .gguf), or --check RECEIPT")
    require_paths([args.target, args.baseline], hint="pass a checkpoint folder or a .gguf file (and an existing --baseline)")
    baseline = None
    if args.baseline is not None:
        try:
            baseline = json.loads(args.baseline.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"--baseline {args.baseline} is not JSON: {exc}", hint="pass a receipt from `apr bench -o`") from exc
    if args.output is not None:
        if args.output.exists() and not args.force:
            raise AprError(f"{args.output} already exists; refusing to overwrite it", hint="pass --force")
        if not args.output.parent.is_dir():
            raise AprError(f"the directory {args.output.parent} does not exist", hint="create it first")
    with _status(args, f"bench {args.target}"):
        receipt = _engine().bench(
            args.target, prompt_tokens=args.prompt_tokens, decode_tokens=args.decode_tokens,
            repeats=args.repeats, threads=args.threads, baseline=baseline, threshold=args.threshold,
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
        print(f"  compute class {receipt.provenance['compute_class']} (features {', '.join(receipt.provenance['feature_set'])})")
        if receipt.comparison is not None:
            print(f"  vs baseline: decode median ratio {receipt.comparison['decode_median_ratio']} ({receipt.comparability})")
    if receipt.threshold is not None and not receipt.threshold["passed"]:
        print(f"apr bench: decode median ratio {receipt.comparison['decode_median_ratio']} is below the threshold "
              f"{receipt.threshold['min_decode_median_ratio']}", file=sys.stderr)
        return 1
    return 0
