"""Atomic writes: a file holds either its old content or all of the new one, never a prefix.

Every write goes to a temporary file in the destination's folder (same file system, so
``os.replace`` is atomic) named ``.NAME.<random>.tmp``, and that file is removed when the
write fails: disk full, file-size limit, an exception while producing the content. A
process killed mid-write can still leave one behind; commands that resume recognise such
leftovers by ``is_leftover`` and delete them.

``mkstemp``/``mkdtemp`` create 0600/0700 entries whatever the umask; a written file instead gets
the mode ``open()`` would have given it (``0o666 & ~umask``, folders ``0o777 & ~umask``), or keeps
the mode of the file it replaces.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


def _read_umask() -> int:
    # The umask can only be read by setting it; doing that once, at import (before any thread of ours
    # creates files), keeps the brief window where it is 0o022 away from concurrent file creation.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def output_mode(path: Path | str, *, directory: bool = False) -> int:
    """The permission bits for a new ``path``: those of the entry it replaces, else the umask's default."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return (0o777 if directory else 0o666) & ~UMASK


def make_staging_dir(target: Path | str) -> Path:
    """A temporary sibling folder of ``target`` (renamed onto it later), with ``target``'s final mode."""
    target = Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(staging, output_mode(target, directory=True))
    return staging


class NotARegularFile(OSError):
    """The output path names something a write must never replace: a folder, device, FIFO, socket or symlink."""


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def refuse_non_regular(path: Path | str) -> None:
    """Raise :class:`NotARegularFile` when ``path`` exists and is not a regular file.

    ``os.replace`` would swap a device node, FIFO or symlink for a regular file (run as root,
    ``-o /dev/null`` would replace the system's node), so writers only ever replace regular files.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable metadata: the write itself reports the real error
    if not stat.S_ISREG(mode):
        raise NotARegularFile(errno.EEXIST, f"{path} is {_kind(mode)}, not a regular file; outputs only replace "
                              "regular files: pass a file path (or `-o -` for standard output)", str(path))


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed.

    Refuses (:class:`NotARegularFile`) when ``path`` is anything but a regular file or absent.
    """
    path = Path(path)
    refuse_non_regular(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, output_mode(path))  # mkstemp's 0600 would hide scoreboards, shards... from the group
    finally:
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
