"""Falsifiers of the reference contract apr-cli-tokenize-encode-corpus-parquet-v1 (FALSIFY-PARQ-INPUT-001..004):
`apr tokenize encode-corpus` on Parquet corpora.

Read as: the other project's ``--content-field`` is our ``--text-field``; its Rust arrow reader is our
engine's Parquet reader (pyarrow, the optional ``parquet`` dependency). Files are written here with
pyarrow, the ids are checked against `tokenizers`, and ``manifest.input_format`` is the recorded format.
One deliberate difference: a null cell is not skipped *silently*; by default the run stops naming the
row (as for a JSONL line without its field) and with ``--on-bad-line skip`` it is skipped and counted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from engines.tokenizer import fixtures as fx
from falsifiers._requirements import PYARROW
from falsifiers._tokenizer_support import (
    encode_corpus,
    eos_id,
    expected_units,
    first_bad_unit,
    joined_ids,
    read_manifest,
    reference_ids,
    said,
    stdlib_docs,
)


def write_parquet(path: Path, columns: dict[str, list[Any]], *, row_group_size: int = 8,
                  large: bool = False) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    kind = pa.large_string() if large else pa.string()
    pq.write_table(pa.table({k: pa.array(v, type=kind) for k, v in columns.items()}), path,
                   row_group_size=row_group_size)
    return path


def _same_ids(tok: Path, out: Path, texts: list[str]) -> int:
    """The first document whose ids differ from `tokenizers`' (len(texts) when all agree)."""
    return first_bad_unit(joined_ids(out).tolist(), expected_units(reference_ids(tok, texts), eos_id(tok), "after"))


@falsifier("FALSIFY-PARQ-INPUT-001", level="integration", engines=["tokenizer"], requires=[PYARROW])
def single_parquet_recognised(ctx: RunContext) -> Verdict:
    """One `.parquet` file, and the same file named `.PARQUET`, encode as Parquet (manifest input_format
    "parquet", ids = tokenizers'); a `.jsonl` file still encodes as JSONL."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(20)
    measured: dict[str, Any] = {}
    inputs = [(write_parquet(ctx.workspace / name, {"path": [str(i) for i in range(20)], "content": texts}), fmt)
              for name, fmt in (("corpus.parquet", "parquet"), ("upper/CORPUS.PARQUET", "parquet"))]
    inputs.append((fx.write_jsonl(ctx.workspace / "c.jsonl", texts, field="content"), "jsonl"))
    for path, fmt in inputs:
        out = ctx.workspace / f"out-{path.parent.name}-{path.suffix[1:]}"
        proc = encode_corpus(ctx, tok, path, out, "--text-field", "content")
        if proc.returncode != 0:
            return ctx.falsified(f"{path.name}: {said(proc)}", measured=measured)
        got = measured[path.name] = read_manifest(out).get("input_format")
        bad = _same_ids(tok, out, texts)
        if got != fmt or bad != len(texts):
            return ctx.falsified(f"{path.name}: input_format {got!r} (expected {fmt!r}); ids differ from tokenizers "
                                 f"at document {bad} of {len(texts)}", measured=measured)
    return ctx.held(measured=measured)


@falsifier("FALSIFY-PARQ-INPUT-002", level="integration", engines=["tokenizer"], requires=[PYARROW])
def content_column_streamed(ctx: RunContext) -> Verdict:
    """Every non-null row of the column, in order, over several row groups (string and large_string):
    with --on-bad-line skip the documents are exactly those rows (ids = tokenizers') and the 3 nulls are
    counted; by default the first null stops the run (exit 1) naming its row, never a crash."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(22)
    cells: list[str | None] = [*texts[:5], None, *texts[5:13], None, *texts[13:], None]
    measured: dict[str, Any] = {"rows": len(cells), "nulls": 3}
    for large in (False, True):
        path = write_parquet(ctx.workspace / f"{'large' if large else 'utf8'}.parquet", {"content": cells},
                             row_group_size=4, large=large)
        out = ctx.workspace / f"out-{path.stem}"
        proc = encode_corpus(ctx, tok, path, out, "--text-field", "content", "--on-bad-line", "skip")
        if proc.returncode != 0:
            return ctx.falsified(f"{path.name}: {said(proc)}", measured=measured)
        m = read_manifest(out)
        bad = _same_ids(tok, out, texts)
        measured[path.stem] = {"documents": m["documents"], "skipped": m["skipped_lines"]}
        if m["documents"] != len(texts) or m["skipped_lines"] != 3 or bad != len(texts):
            return ctx.falsified(f"{path.name}: {m['documents']} documents / {m['skipped_lines']} skipped (expected "
                                 f"{len(texts)} / 3); ids differ from tokenizers at document {bad}", measured=measured)
    proc = encode_corpus(ctx, tok, ctx.workspace / "utf8.parquet", ctx.workspace / "stop", "--text-field", "content")
    if proc.returncode != 1 or "row 6" not in proc.stderr:
        return ctx.falsified(f"default --on-bad-line stop on a null cell at row 6: expected exit 1 naming "
                             f"'row 6'; {said(proc)}", measured=measured)
    return ctx.held(measured=measured)


@falsifier("FALSIFY-PARQ-INPUT-003", level="integration", engines=["tokenizer"], requires=[PYARROW])
def missing_column_fails_fast(ctx: RunContext) -> Verdict:
    """--text-field content on a file with columns (path, text): exit 1 before any output exists, the
    message naming the missing column and every column present."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(6)
    path = write_parquet(ctx.workspace / "c.parquet", {"path": [f"f{i}.py" for i in range(6)], "text": texts})
    out = ctx.workspace / "out"
    proc = encode_corpus(ctx, tok, path, out, "--text-field", "content")
    named = all(f"'{name}'" in proc.stderr or name in proc.stderr.split("columns are:")[-1]
                for name in ("path", "text")) and "'content'" in proc.stderr
    if proc.returncode != 1 or not named or out.exists():
        return ctx.falsified(f"missing column 'content': expected exit 1 naming it and the columns path, text, "
                             f"with no output folder; {said(proc)}; output created: {out.exists()}")
    return ctx.held(proc.stderr.strip().splitlines()[0][-200:])


@falsifier("FALSIFY-PARQ-INPUT-004", level="integration", engines=["tokenizer"], requires=[PYARROW])
def folder_prefers_parquet(ctx: RunContext) -> Verdict:
    """A folder with data.parquet and its JSONL copy encodes the Parquet file only (documents = rows,
    input_format "parquet", the left-out JSONL reported on stderr and in --format json); a JSONL-only
    folder still encodes as JSONL."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    texts = stdlib_docs(10)
    mixed = ctx.workspace / "mixed"
    write_parquet(mixed / "data.parquet", {"text": texts})
    fx.write_jsonl(mixed / "data.jsonl", texts)
    plain = ctx.workspace / "plain"
    plain.mkdir()
    fx.write_jsonl(plain / "data.jsonl", texts)
    measured: dict[str, Any] = {}
    for folder, fmt in ((mixed, "parquet"), (plain, "jsonl")):
        out = ctx.workspace / f"out-{folder.name}"
        proc = encode_corpus(ctx, tok, folder, out)
        if proc.returncode != 0:
            return ctx.falsified(f"{folder.name}/: {said(proc)}")
        m = read_manifest(out)
        measured[folder.name] = {"documents": m["documents"], "input_format": m.get("input_format")}
        if m["documents"] != len(texts) or m.get("input_format") != fmt or _same_ids(tok, out, texts) != len(texts):
            return ctx.falsified(f"{folder.name}/: {m['documents']} documents as {m.get('input_format')!r} "
                                 f"(expected {len(texts)} as {fmt!r})", measured=measured)
        if folder is mixed and "data.jsonl" not in proc.stderr:
            return ctx.falsified(f"the left-out {mixed / 'data.jsonl'} is not reported: {said(proc)}",
                                 measured=measured)
    return ctx.held(measured=measured)


CONTRACT = "apr-cli-tokenize-encode-corpus-parquet-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
