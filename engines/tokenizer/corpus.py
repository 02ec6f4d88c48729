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
from collections.abc import Callable, Iterator, Sequence
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


def is_parquet(path: Path) -> bool:
    """Parquet by extension, in any case (``.parquet``, ``.PARQUET``); everything else is read as JSONL."""
    return path.suffix.lower() == ".parquet"


def discover(paths: Sequence[Path], *, prefer_parquet: bool = True,
             parquet: Callable[[Path], bool] = is_parquet) -> tuple[list[Path], list[Path]]:
    """Corpus files from files and folders (folders: *.jsonl/*.json/*.ndjson/*.parquet recursively, sorted),
    and the files left out.

    A folder holding both Parquet and JSONL files is read as Parquet only (its JSONL files are
    returned as left out, for the caller to report): such a folder is almost always one dataset
    twice, the published Parquet and a JSONL conversion of it, and encoding both would silently
    duplicate every document. Files named one by one are always used.
    """
    found: list[Path] = []
    ignored: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise AprError(f"{path}: no {'/'.join(CORPUS_SUFFIXES)} files in this folder",
                               hint="pass JSONL files or folders that contain them")
            if prefer_parquet and any(parquet(p) for p in inside):
                ignored.extend(p for p in inside if not parquet(p))
                inside = [p for p in inside if parquet(p)]
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
    return unique, ignored


def input_format(files: Sequence[Path], parquet: Callable[[Path], bool] = is_parquet) -> str:
    """"parquet", "jsonl", or "mixed" (files named one by one may mix both)."""
    kinds = {"parquet" if parquet(p) else "jsonl" for p in files}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def known_total(files: Sequence[Path], parquet: Callable[[Path], bool] = is_parquet) -> int | None:
    """The number of rows when every file is Parquet (from the footers, no data read); else None
    (counting JSONL lines would read the corpus twice)."""
    if not files or not all(parquet(p) for p in files):
        return None
    try:
        import pyarrow.parquet as pq

        return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in files)
    except Exception:  # unreadable footers are reported where the file is read, with its name
        return None


def iter_documents(
    files: Sequence[Path],
    *,
    text_field: str,
    on_bad_line: str,
    bad: BadLines,
    start: Position | None = None,
    reader: ParquetReader | None = None,
) -> Iterator[Document]:
    """Documents in order from ``start`` (default: the beginning); ``reader`` reads the Parquet files."""
    reader = reader or ParquetReader()
    start = start or Position(0, 0, 1)
    for file_index in range(start.file_index, len(files)):
        path = files[file_index]
        offset, line_no = (start.offset, start.line) if file_index == start.file_index else (0, 1)
        if reader.is_parquet(path):
            yield from _iter_parquet(path, file_index, offset, text_field=text_field, on_bad_line=on_bad_line,
                                     bad=bad, reader=reader)
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


def open_parquet(path: Path, text_field: str) -> Any:
    """The ParquetFile, after checking (from its footer alone) that ``text_field`` is a text column."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise AprError(f"{path}: reading Parquet needs the optional pyarrow package",
                       hint="pip install pyarrow (or convert the corpus to JSONL)") from exc
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise AprError(f"{path}: not a readable Parquet file ({exc})", hint="check the corpus file") from exc
    names = parquet.schema_arrow.names
    if text_field not in names:
        shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        raise AprError(f"{path}: no column {text_field!r}; the columns are: {shown}",
                       hint="pass --text-field with the column holding the text",
                       falsifier="FALSIFY-PARQ-INPUT-003")
    kind = str(parquet.schema_arrow.field(text_field).type)
    if kind not in ("string", "large_string", "string_view"):
        raise AprError(f"{path}: column {text_field!r} holds {kind}, not text (string/large_string)",
                       hint="pass --text-field with the column holding the text")
    return parquet


class ParquetReader:
    """How encode-corpus recognises and reads Parquet files (the engine hands one to the corpus reader)."""

    def is_parquet(self, path: Path) -> bool:
        return is_parquet(path)

    def open(self, path: Path, column: str) -> Any:
        return open_parquet(path, column)

    def batches(self, parquet: Any, column: str) -> Iterator[Any]:
        """One column, a record batch at a time (every row group, in order)."""
        yield from parquet.iter_batches(columns=[column], batch_size=1024)


def _iter_parquet(path: Path, file_index: int, first_row: int, *, text_field: str, on_bad_line: str,
                  bad: BadLines, reader: ParquetReader) -> Iterator[Document]:
    parquet = reader.open(path, text_field)
    row = 0
    for batch in reader.batches(parquet, text_field):
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
