"""Reading corpora: JSONL (one document per line) or Parquet (one per row), with exact resume positions.

Parquet needs the optional ``pyarrow`` package; there a position's ``offset`` is the
row index (``line`` = row + 1) instead of a byte offset.

Every document carries the position of its line (file index, byte offset, line
number) so that encode-corpus can record where to resume after a shard. Malformed
lines are never silently lost: they stop the run with file and line
(``--on-bad-line stop``, the default) or are skipped and counted (``skip``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import AprError

CORPUS_SUFFIXES = (".jsonl", ".json", ".ndjson", ".parquet")
MAX_BAD_LINES_LISTED = 20


@dataclass(frozen=True)
class Position:
    """Where the next line starts: file index in the corpus list, byte offset, 1-based line number."""

    file_index: int
    offset: int
    line: int


@dataclass
class Document:
    text: str
    position: Position  # of this document's line
    next_position: Position  # of the line after it


@dataclass
class BadLines:
    """Malformed lines met so far (counted and, for the first few, listed as file:line: reason)."""

    count: int = 0
    listed: list[str] = field(default_factory=list)
    blank: int = 0

    def add(self, where: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_BAD_LINES_LISTED:
            self.listed.append(where)


def discover(paths: Sequence[Path]) -> list[Path]:
    """Corpus files from files and folders (folders: *.jsonl/*.json/*.ndjson recursively, sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in CORPUS_SUFFIXES
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise AprError(f"{path}: no {'/'.join(CORPUS_SUFFIXES)} files in this folder",
                               hint="pass JSONL files or folders that contain them")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise AprError(f"{path}: corpus path not found", hint="check the --corpus arguments")
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:  # the same file twice would silently duplicate documents
            seen.add(key)
            unique.append(path)
    return unique


def iter_documents(
    files: Sequence[Path],
    *,
    text_field: str,
    on_bad_line: str,
    bad: BadLines,
    start: Position | None = None,
) -> Iterator[Document]:
    """Documents in order from ``start`` (default: the beginning)."""
    start = start or Position(0, 0, 1)
    for file_index in range(start.file_index, len(files)):
        path = files[file_index]
        offset, line_no = (start.offset, start.line) if file_index == start.file_index else (0, 1)
        if path.suffix == ".parquet":
            yield from _iter_parquet(path, file_index, offset, text_field=text_field, on_bad_line=on_bad_line,
                                     bad=bad)
            continue
        with open(path, "rb") as handle:
            handle.seek(offset)
            for raw in handle:
                here = Position(file_index, offset, line_no)
                offset += len(raw)
                line_no += 1
                after = Position(file_index, offset, line_no)
                if not raw.strip():
                    bad.blank += 1
                    continue
                text, problem = _parse(raw, text_field)
                if problem:
                    where = f"{path}:{here.line}: {problem}"
                    if on_bad_line == "stop":
                        raise AprError(
                            f"malformed JSONL line at {where}",
                            hint="fix the line, or pass --on-bad-line skip to skip and count such lines",
                            falsifier="FALSIFY-TOK-ENCODE-CORPUS-009",
                        )
                    bad.add(where)
                    continue
                yield Document(text, here, after)


def _parse(raw: bytes, text_field: str) -> tuple[str, str]:
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return "", f"invalid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else exc})"
    if not isinstance(obj, dict):
        return "", f"a JSON {type(obj).__name__}, not an object"
    if text_field not in obj:
        return "", f"no {text_field!r} field (keys: {', '.join(sorted(obj)[:8])})"
    text = obj[text_field]
    if not isinstance(text, str):
        return "", f"field {text_field!r} is a {type(text).__name__}, not a string"
    return text, ""


def _iter_parquet(path: Path, file_index: int, first_row: int, *, text_field: str, on_bad_line: str,
                  bad: BadLines) -> Iterator[Document]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise AprError(f"{path}: reading Parquet needs the optional pyarrow package",
                       hint="pip install pyarrow (or convert the corpus to JSONL)") from exc
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise AprError(f"{path}: not a readable Parquet file ({exc})", hint="check the corpus file") from exc
    if text_field not in parquet.schema_arrow.names:
        raise AprError(f"{path}: no column {text_field!r} (columns: {', '.join(parquet.schema_arrow.names[:8])})",
                       hint="pass --text-field with the column holding the text")
    row = 0
    for batch in parquet.iter_batches(columns=[text_field], batch_size=1024):
        values = batch.column(0).to_pylist()
        if row + len(values) <= first_row:
            row += len(values)
            continue
        for value in values:
            here = Position(file_index, row, row + 1)
            row += 1
            if here.offset < first_row:
                continue
            if not isinstance(value, str):
                where = f"{path}:row {here.line}: field {text_field!r} is {type(value).__name__}, not a string"
                if on_bad_line == "stop":
                    raise AprError(f"malformed row at {where}", falsifier="FALSIFY-TOK-ENCODE-CORPUS-009",
                                   hint="fix the row, or pass --on-bad-line skip to skip and count such rows")
                bad.add(where)
                continue
            yield Document(value, here, Position(file_index, row, row + 1))


def read_chunks(docs: Iterator[Document], max_docs: int | None, done: int,
                chunk_chars: int) -> Iterator[list[Document]]:
    """Lists of documents of ~``chunk_chars`` characters, read ahead by a background thread
    (JSON parsing overlaps encoding); at most ``max_docs - done`` documents in all."""
    budget = None if max_docs is None else max(0, max_docs - done)
    channel: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            chunk: list[Document] = []
            size, left = 0, budget
            for doc in docs:
                if left is not None:
                    if left <= 0:
                        break
                    left -= 1
                chunk.append(doc)
                size += len(doc.text)
                if size >= chunk_chars:
                    channel.put(chunk)
                    chunk, size = [], 0
                if stop.is_set():
                    return
            if chunk:
                channel.put(chunk)
            channel.put(None)
        except BaseException as exc:
            channel.put(exc)

    thread = threading.Thread(target=produce, name="apr-read", daemon=True)
    thread.start()
    try:
        while (item := channel.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                channel.get(timeout=0.05)
