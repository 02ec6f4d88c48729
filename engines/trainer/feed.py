"""The data feed the trainer consumes: a shard folder's ``manifest.json`` (its config) and the shard codec.

A shard folder written by `apr tokenize encode-corpus` holds ``shard-NNNNN.bin`` files of
little-endian uint32 token ids and a ``manifest.json`` describing them. The trainer reads
the manifest strictly where it matters:

* required: ``shards`` (a list), and for each entry its file name (``file``; ``path`` / ``name``
  accepted) and its token count (``tokens``; ``n_tokens`` / ``num_tokens`` accepted). A missing
  one is refused naming the field and the file — never read as 0 or "unknown", which would
  switch off the truncation check that compares each shard's size with its count;
* optional: ``dtype`` (must be ``uint32-le`` when given: ids of another width would be
  silently misread), ``eos_id`` (an int or null: the id written between documents).

:func:`to_bytes` / :func:`from_bytes` are the codec of one shard; the trainer reads shards with
``numpy.memmap`` of the same dtype (:data:`SHARD_DTYPE`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.errors import AprError

SHARD_DTYPE = "<u4"
DTYPE_NAME = "uint32-le"
FILE_KEYS = ("file", "path", "name")
TOKEN_KEYS = ("tokens", "n_tokens", "num_tokens")


class ManifestError(AprError):
    """A shard manifest the trainer cannot rely on (names the file and the field)."""


@dataclass(frozen=True)
class ShardManifest:
    path: Path
    counts: dict[str, int]  # shard file name -> token count
    eos_id: int | None
    dtype: str


def _refuse(path: Path, problem: str) -> ManifestError:
    return ManifestError(f"{path}: {problem}",
                         hint="re-run `apr tokenize encode-corpus` to rewrite the manifest, or fix the field by hand")


def _first(entry: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((entry[k] for k in keys if entry.get(k) is not None), None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_manifest(path: Path) -> ShardManifest:
    """Parse ``path``; a missing or ill-typed required field is a :class:`ManifestError` naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(path, f"unreadable manifest: {exc}") from exc
    if not isinstance(data, dict):
        raise _refuse(path, f"the manifest is a JSON {type(data).__name__}, not an object")
    if "shards" not in data:
        raise _refuse(path, "required field 'shards' is missing")
    entries = data["shards"]
    if not isinstance(entries, list):
        raise _refuse(path, f"field 'shards' must be a list, got {type(entries).__name__}")
    counts: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"shards[{index}]"
        if not isinstance(entry, dict):
            raise _refuse(path, f"{where} must be an object, got {type(entry).__name__}")
        name = _first(entry, FILE_KEYS)
        if name is None:
            raise _refuse(path, f"required field '{where}.file' is missing")
        count = _first(entry, TOKEN_KEYS)
        if count is None:
            raise _refuse(path, f"required field '{where}.tokens' is missing (shard {name})")
        if not isinstance(name, str) or not _is_int(count) or count < 0:
            raise _refuse(path, f"{where}: file must be a string and tokens a non-negative integer, "
                                f"got {name!r} / {count!r}")
        counts[Path(name).name] = count
    dtype = data.get("dtype", DTYPE_NAME)
    if dtype != DTYPE_NAME:
        raise _refuse(path, f"dtype {dtype!r}: the trainer reads {DTYPE_NAME} shards only")
    eos = data.get("eos_id")
    return ShardManifest(path, counts, eos if _is_int(eos) else None, dtype)


def to_bytes(ids: Any) -> bytes:
    """One shard's bytes: the ids as little-endian uint32 (what encode-corpus writes)."""
    import numpy as np

    return np.ascontiguousarray(ids, dtype=SHARD_DTYPE).tobytes()


def from_bytes(data: bytes, dtype: str = SHARD_DTYPE) -> Any:
    """The ids of one shard's bytes (``dtype``: the trainer's shard dtype)."""
    import numpy as np

    if len(data) % 4:
        raise ManifestError(f"{len(data)} bytes is not a multiple of 4 (uint32 ids): truncated shard",
                            hint="re-run `apr tokenize encode-corpus`")
    return np.frombuffer(data, dtype=dtype)
