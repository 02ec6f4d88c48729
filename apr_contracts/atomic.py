"""Atomic writes: a file holds either its old content or all of the new one, never a prefix.

Every write goes to a temporary file in the destination's folder (same file system, so
``os.replace`` is atomic) named ``.NAME.<random>.tmp``, and that file is removed when the
write fails: disk full, file-size limit, an exception while producing the content. A
process killed mid-write can still leave one behind; commands that resume recognise such
leftovers by ``is_leftover`` and delete them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write() names no file: name the one being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path | str, data: bytes | memoryview) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_json_atomic(path: Path | str, data: Any, *, sort_keys: bool = False) -> None:
    """``data`` as indented UTF-8 JSON with a final newline."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n")


def is_leftover(name: str, of: str) -> bool:
    """Whether file ``name`` is a temporary file ``atomic_path`` made for a file named ``of``."""
    return name.startswith(f".{of}.") and name.endswith(TMP_SUFFIX)
