"""`apr tokenize import-hf | encode-corpus | verify-shards | repair-manifest` (argparse wiring; the work is in the engine).

The engine comes from :func:`engines.cli.engine_for` ("hf" unless ``--engine-impl
tokenizer=NAME`` or ``APR_ENGINE_TOKENIZER`` choose another registered one).
Every subcommand supports ``--format json``. Exit codes: 0 ok, 1 refused input or
corrupt shards, 2 usage, 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def add_commands(subparsers: Any) -> None:
    tokenize = subparsers.add_parser("tokenize", help="import tokenizers, encode corpora into uint32 shards",
                                     description="Tokenizer engine: import-hf, encode-corpus, verify-shards.")
    sub = tokenize.add_subparsers(dest="tokenize_command", metavar="SUBCOMMAND")
    tokenize.set_defaults(func=lambda args: _usage(tokenize))

    imp = sub.add_parser("import-hf", help="tokenizer.json (BPE) -> vocab.json + merges.txt + manifest.json",
                         description="Extract a byte-level BPE tokenizer.json into vocab.json, merges.txt "
                         "(#version: 0.2), a copy of tokenizer.json and manifest.json. Non-BPE input is "
                         "refused before anything is written.")
    imp.add_argument("--input", required=True, type=Path, help="the Hugging Face tokenizer.json")
    imp.add_argument("--output", required=True, type=Path, help="directory to create")
    imp.add_argument("--include-added-tokens", action="store_true",
                     help="also write added tokens (e.g. <|endoftext|>) into vocab.json, at their own ids")
    imp.add_argument("--force", action="store_true", help="replace --output if it exists")
    imp.add_argument("--format", choices=("text", "json"), default="text")
    imp.set_defaults(func=_import_hf)

    enc = sub.add_parser("encode-corpus", help="JSONL/Parquet -> shard-NNNNN.bin (uint32 LE) + manifest.json",
                         description="Encode JSONL lines or Parquet rows into little-endian uint32 shards. "
                         "Re-running the same command on the same --output resumes after the last completed "
                         "shard. A folder holding both Parquet and JSONL files is read as Parquet (the JSONL "
                         "files left out are reported).")
    enc.add_argument("--corpus", required=True, nargs="+", type=Path, metavar="PATH",
                     help="JSONL/Parquet files or folders of them (*.jsonl, *.json, *.ndjson, *.parquet)")
    enc.add_argument("--tokenizer", required=True, type=Path,
                     help="tokenizer.json, an import-hf directory or a checkpoint directory")
    enc.add_argument("--output", required=True, type=Path, help="output directory")
    enc.add_argument("--shard-tokens", type=int, default=10_000_000, metavar="N",
                     help="rotate to a new shard at the first document boundary at or after N ids (default 10M)")
    enc.add_argument("--text-field", default="text", help="JSON field holding the text (default: text)")
    enc.add_argument("--eos-policy", choices=("none", "between", "after"), default="after",
                     help="EOS after every document (default), only between documents, or never")
    enc.add_argument("--workers", "--num-workers", dest="workers", type=int, default=None, metavar="N",
                     help="encoding threads, >= 1 (default: the usable CPUs: affinity mask and cgroup quota); "
                          "output is byte-identical for every N")
    enc.add_argument("--on-bad-line", choices=("stop", "skip"), default="stop",
                     help="malformed JSONL line: stop with file:line (default) or skip and count it")
    enc.add_argument("--max-docs", type=int, default=None, help="encode at most N documents")
    enc.add_argument("--estimate-only", action="store_true",
                     help="estimate tokens/shards/time from a timed sample; writes nothing, creates no --output")
    enc.add_argument("--estimate-sample-docs", type=int, default=1000, metavar="N",
                     help="documents timed by --estimate-only (default 1000)")
    enc.add_argument("--backend", choices=("auto", "hf", "gigatoken", "tiktoken"), default="auto",
                     help="auto (default): the first fast backend (gigatoken, then tiktoken) whose ids equal "
                          "tokenizers' on a start-up sample, else tokenizers (hf); naming a fast backend "
                          "refuses instead of falling back")
    enc.add_argument("--audit-every", type=int, default=128, metavar="N",
                     help="with a fast backend, re-encode one document in N (and the first of every shard) with "
                          "tokenizers in a child process and fail on any difference (default 128; 0: off)")
    enc.add_argument("--force", action="store_true", help="start over in an --output holding another run")
    enc.add_argument("--no-progress", action="store_true", help="no progress bar and no [progress] lines")
    enc.add_argument("--quiet", action="store_true",
                     help="nothing on stderr but errors (no progress bar or lines); the result still prints")
    enc.add_argument("--progress-interval-docs", type=int, default=1000, metavar="N",
                     help="when stderr is not a terminal: a [progress] line every N documents... (default 1000)")
    enc.add_argument("--progress-interval-seconds", type=float, default=60.0, metavar="S",
                     help="...or every S seconds, whichever comes first (default 60)")
    enc.add_argument("--format", choices=("text", "json"), default="text")
    enc.set_defaults(func=_encode_corpus)

    ver = sub.add_parser("verify-shards", help="re-read shards against manifest.json",
                         description="Check every shard's size, id count, sha256 and ids < vocab size.")
    ver.add_argument("directory", type=Path, help="an encode-corpus --output directory")
    ver.add_argument("--format", choices=("text", "json"), default="text")
    ver.set_defaults(func=_verify_shards)

    rep = sub.add_parser("repair-manifest", help="rebuild a lost or stale manifest.json from the shards on disk",
                         description="Recompute manifest.json of an encode-corpus --output folder from its "
                         "shard-NNNNN.bin files (ids = bytes / 4, sha256 each) and whatever still knows the run's "
                         "settings (the stale manifest, .encode-state.json, --tokenizer). Marks it repair: true "
                         "with repaired_at (RFC 3339 UTC); writes nothing but manifest.json, atomically. A shard "
                         "whose size is not a multiple of 4, or a gap in the numbering, is refused.")
    rep.add_argument("directory", nargs="?", type=Path, help="the encode-corpus --output folder")
    rep.add_argument("--output", dest="output_dir", type=Path, default=None,
                     help="the same folder, for scripts written against encode-corpus's --output")
    rep.add_argument("--tokenizer", type=Path, default=None,
                     help="the tokenizer the shards were encoded with (fills vocab_size and the tokenizer sha256)")
    rep.add_argument("--force", action="store_true", help="rewrite a manifest that already agrees with the shards")
    rep.add_argument("--format", choices=("text", "json"), default="text")
    rep.set_defaults(func=_repair_manifest)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _engine() -> Any:
    from engines.cli import engine_for

    return engine_for("tokenizer")


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.format == "json" else text)


def _import_hf(args: argparse.Namespace) -> int:
    from engines.errors import require_paths

    require_paths([args.input], hint="--input takes a Hugging Face tokenizer.json")
    result = _engine().import_hf(args.input, args.output, include_added_tokens=args.include_added_tokens,
                                 force=args.force)
    m = result.manifest
    _emit(args, result.to_dict(),
          f"imported {args.input} -> {result.output}\n"
          f"  BPE entries {m['bpe_vocab_count']:,}, merges {m['merges_count']:,}, added tokens "
          f"{m['added_tokens_count']} (in vocab.json: {'yes' if m['include_added_tokens'] else 'no'}), "
          f"effective vocab {m['effective_vocab_count']:,}, vocab size {m['vocab_size']:,}\n"
          f"  source sha256 {m['source_sha256']}")
    return 0


def _encode_corpus(args: argparse.Namespace) -> int:
    from engines.errors import UsageError, require_paths
    from engines.tokenizer.encode import EncodeOptions

    require_paths(args.corpus, hint="--corpus takes JSONL/Parquet files or folders of them")
    require_paths([args.tokenizer], hint="--tokenizer takes a tokenizer.json or an import-hf folder")
    if args.max_docs is not None and args.max_docs < 0:
        raise UsageError("--max-docs must be >= 0")
    if args.progress_interval_docs < 1 or not args.progress_interval_seconds > 0:
        raise UsageError(f"--progress-interval-docs must be >= 1 and --progress-interval-seconds > 0, got "
                         f"{args.progress_interval_docs} and {args.progress_interval_seconds}")
    engine = _engine()
    # tokenizers sizes its thread pool from this variable when it first encodes: set it first.
    os.environ.setdefault("RAYON_NUM_THREADS", str(engine.resolve_workers(args.workers)))
    opts = EncodeOptions(corpus=args.corpus, tokenizer=args.tokenizer, output=args.output,
                         shard_tokens=args.shard_tokens, text_field=args.text_field, eos_policy=args.eos_policy,
                         workers=args.workers, on_bad_line=args.on_bad_line, max_docs=args.max_docs,
                         estimate_only=args.estimate_only, estimate_sample_docs=args.estimate_sample_docs,
                         force=args.force, backend=args.backend, audit_every=args.audit_every)
    quiet = args.quiet or args.no_progress
    with _progress(enabled=not quiet) as bar:
        # a terminal gets the bar; a log or pipe gets [progress] lines (every N docs or S seconds)
        progress = bar if bar is not None else engine.progress_lines(
            interval_docs=args.progress_interval_docs, interval_seconds=args.progress_interval_seconds, quiet=quiet)
        result = engine.encode_corpus(opts, progress=progress)
    if result.ignored and not args.quiet:
        print(f"note: read the Parquet files of the corpus folder(s) and left out {len(result.ignored)} JSONL "
              f"file(s) beside them (e.g. {result.ignored[0]}); name JSONL files one by one to encode them",
              file=sys.stderr)
    if result.estimate is not None:
        e = result.estimate
        _emit(args, result.to_dict(),
              f"estimate (nothing written): ~{e['estimated_tokens']:,} tokens in ~{e['estimated_shards']} shard(s) "
              f"of {e['shard_tokens']:,}, ~{e['estimated_seconds']} s on {e['parallel_workers']} worker(s)\n"
              f"  corpus: {e['corpus_units']:,} {e['unit']}"
              f"{'' if e['input_docs'] is None else ' (Parquet rows)'}; sample: first {e['sample_documents']} "
              f"documents, {e['sample_tokens']:,} tokens in {e['sample_wall_s']} s on one worker "
              f"({e['backend']})")
        return 0
    m = result.manifest
    status = "already complete" if result.already_complete else (
        f"resumed from shard {result.resumed_from_shard}" if result.resumed_from_shard else "done")
    run = m.get("run", {})
    _emit(args, result.to_dict(),
          f"{status}: {m['documents']:,} documents, {m['tokens']:,} tokens ({m['eos_count']:,} EOS) in "
          f"{len(m['shards'])} shard(s) -> {result.output}\n"
          f"  backend {run.get('backend')} ({run.get('backend_reason')}); skipped lines {m['skipped_lines']}; "
          f"{run.get('elapsed_s')} s")
    return 0


def _verify_shards(args: argparse.Namespace) -> int:
    from engines.errors import require_paths

    require_paths([args.directory], hint="pass the --output folder of encode-corpus")
    report = _engine().verify_shards(args.directory)
    lines = [f"{'OK' if report.ok else 'CORRUPT'}: {report.shards} shard(s), {report.tokens:,} tokens in "
             f"{report.directory}"] + [f"  - {p}" for p in report.problems] + [f"  note: {n}" for n in report.notes]
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0 if report.ok else 1


def _repair_manifest(args: argparse.Namespace) -> int:
    from engines.errors import UsageError, require_paths

    if (args.directory is None) == (args.output_dir is None):
        raise UsageError("repair-manifest takes one folder: DIR or --output DIR",
                         hint="apr tokenize repair-manifest path/to/encode-corpus-output")
    directory = args.directory if args.directory is not None else args.output_dir
    require_paths([directory, args.tokenizer], hint="pass the --output folder of encode-corpus (and its tokenizer)")
    result = _engine().repair_manifest(directory, tokenizer=args.tokenizer, force=args.force)
    m = result.manifest
    if result.unchanged:
        text = f"unchanged: {directory}/manifest.json already agrees with its {len(m['shards'])} shard(s)"
    else:
        text = (f"repaired {directory}/manifest.json: {len(m['shards'])} shard(s), {m['tokens']:,} tokens, "
                f"from {', '.join(result.sources)}" + "".join(f"\n  - {f}" for f in result.fixed[:20]))
    _emit(args, result.to_dict(), text)
    return 0


class _progress:
    """A rich progress bar on a TTY (documents, tokens, tokens/s, ETA); nothing otherwise."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty() and not os.environ.get("NO_COLOR")
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _progress | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("encoding"), BarColumn(), TextColumn("{task.fields[docs]:,} docs"),
                            TextColumn("{task.fields[tokens]:,} tokens"), TextColumn("{task.fields[rate]}"),
                            TimeRemainingColumn(), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("encode", total=None, docs=0, tokens=0, rate="")
        import time

        self.t0 = time.monotonic()
        return self

    def update(self, *, documents: int, tokens: int, done_bytes: int, total_bytes: int) -> None:
        import time

        rate = tokens / max(time.monotonic() - self.t0, 1e-6)
        self.bar.update(self.task, completed=done_bytes, total=total_bytes, docs=documents, tokens=tokens,
                        rate=f"{rate / 1e6:.2f} M tok/s")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
