"""uint32 shards: writing them atomically, reading them back, verifying them against the manifest.

A shard is raw little-endian uint32 token ids (``shard-00000.bin``, ...). Read one
with ``numpy.memmap(path, dtype="<u4", mode="r")`` or :func:`read_shard`.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import atomic_path
from engines.errors import AprError

SHARD_PATTERN = "shard-{index:05d}.bin"
MANIFEST = "manifest.json"
STATE = ".encode-state.json"


def shard_name(index: int) -> str:
    return SHARD_PATTERN.format(index=index)


def read_shard(path: Path) -> Any:
    """The ids of one shard as a read-only uint32 array (memory-mapped; empty shards allowed)."""
    import numpy as np

    if path.stat().st_size == 0:
        return np.zeros(0, dtype="<u4")
    return np.memmap(path, dtype="<u4", mode="r")


class ShardWriter:
    """Writes whole documents to the current shard as they come; completes it at >= ``shard_tokens`` ids.

    Ids stream into a temporary file beside the shard while the sha256 is updated, so memory
    stays flat and the last shard costs nothing extra at the end; the shard appears under its
    name (atomic rename) only when it is complete. A run killed mid-shard leaves the temporary
    file, which encode-corpus recognises and removes when it resumes.
    """

    def __init__(self, output: Path, shard_tokens: int, index: int = 0) -> None:
        self.output = output
        self.shard_tokens = shard_tokens
        self.index = index
        self.tokens = 0
        self.documents = 0
        self._shard: ExitStack | None = None  # the open temporary file, renamed into place by flush()
        self._file: Any = None
        self._hash = hashlib.sha256()

    def add(self, unit: list[Any]) -> list[dict[str, Any]]:
        """Append one document (its id arrays, EOS included); returns the records of shards it completes."""
        for part in unit:
            self.append(part)
        self.documents += 1
        # Rotation only here, after a whole document: a document never spans two shards.
        return [self.flush()] if self.tokens >= self.shard_tokens else []

    def append(self, ids: Any) -> None:
        """Write ``ids`` (any integer array) to the current shard as little-endian uint32."""
        import numpy as np

        data = np.ascontiguousarray(ids, dtype="<u4")
        if self._file is None:
            self._open()
        try:
            self._file.write(memoryview(data).cast("B"))  # type: ignore[arg-type]  # ndarray is a buffer; numpy stubs lag
        except OSError as exc:  # disk full, file-size limit...: atomic_path removes the file and names it
            stack, self._shard, self._file = self._shard, None, None
            assert stack is not None
            if not stack.__exit__(type(exc), exc, exc.__traceback__):
                raise
        self.hash_part(data)
        self.tokens += int(data.size)

    def hash_part(self, data: Any) -> None:
        self._hash.update(memoryview(data).cast("B"))

    def _open(self) -> None:
        self._shard = ExitStack()
        tmp = self._shard.enter_context(atomic_path(self.output / shard_name(self.index)))
        self._file = self._shard.enter_context(open(tmp, "wb"))  # noqa: SIM115 - the ExitStack closes it

    def abort(self) -> None:
        """Remove the shard being written (the run failed; a resumed run writes it again)."""
        if self._shard is not None:
            stack, self._shard, self._file = self._shard, None, None
            stack.__exit__(RuntimeError, RuntimeError("encode-corpus failed"), None)  # atomic_path removes it
        self.tokens, self.documents, self._hash = 0, 0, hashlib.sha256()

    def flush(self) -> dict[str, Any]:
        """Complete the current shard (an empty one if nothing was added) and return its record."""
        if self._file is None:
            self._open()
        assert self._shard is not None
        self._shard.close()  # closes the file, then renames it to its shard name
        record = {"file": shard_name(self.index), "tokens": self.tokens, "documents": self.documents,
                  "bytes": self.tokens * 4, "sha256": self._hash.hexdigest()}
        self.index += 1
        self.tokens, self.documents, self._shard, self._file, self._hash = 0, 0, None, None, hashlib.sha256()
        return record


@dataclass
class VerifyReport:
    directory: Path
    shards: int = 0
    tokens: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked (not a problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "ok": self.ok, "shards": self.shards,
                "tokens": self.tokens, "problems": list(self.problems), "notes": list(self.notes)}


class VerifyShards:
    """`apr tokenize verify-shards DIR`: every shard against the manifest (mixin for the engine)."""

    def verify_shards(self, directory: Path) -> VerifyReport:
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            hint = "the run is incomplete: re-run the same encode-corpus command to resume" \
                if (directory / STATE).is_file() else "pass the --output directory of encode-corpus"
            raise AprError(f"{manifest_path}: no manifest.json", hint=hint)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            records = list(manifest["shards"])
            # null in a repaired manifest when no source knew the tokenizer (repair-manifest --tokenizer)
            vocab_size = None if manifest["vocab_size"] is None else int(manifest["vocab_size"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AprError(f"{manifest_path}: unreadable or incomplete manifest ({exc})",
                           hint="re-run encode-corpus with --force to rebuild the shards") from exc
        report = VerifyReport(directory)
        if vocab_size is None:
            report.notes.append("ids < vocab size not checked: the manifest does not know the vocab size "
                                "(apr tokenize repair-manifest --tokenizer PATH records it)")
        for record in records:
            report.shards += 1
            report.tokens += self.check_shard(directory, record, vocab_size, report.problems)
        if report.tokens != manifest.get("tokens"):
            report.problems.append(f"manifest total tokens {manifest.get('tokens')} != {report.tokens} "
                                   "(sum of the shards' counts)")
        listed = {r.get("file") for r in records}
        for stray in sorted(directory.glob("shard-*.bin")):
            if stray.name not in listed:
                report.problems.append(f"{stray.name}: present but not in the manifest")
        return report

    def check_shard(self, directory: Path, record: dict[str, Any], vocab_size: int | None,
                    problems: list[str]) -> int:
        """Check one shard; append problems; return the tokens it holds."""
        name = str(record.get("file"))
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            return 0
        size = path.stat().st_size
        if size % 4:
            problems.append(f"{name}: {size} bytes is not a multiple of 4 (truncated or corrupt uint32 shard)")
            return size // 4
        tokens = size // 4
        if tokens != record.get("tokens"):
            problems.append(f"{name}: holds {tokens} ids, the manifest says {record.get('tokens')}")
        ids = read_shard(path)
        self.verify_digest(ids, record, name, problems)
        if tokens and vocab_size is not None:
            top = int(ids.max())
            if top >= vocab_size:
                problems.append(f"{name}: id {top} >= vocab size {vocab_size}")
        return tokens

    def verify_digest(self, ids: Any, record: dict[str, Any], name: str, problems: list[str]) -> None:
        digest = hashlib.sha256(memoryview(ids)).hexdigest()
        if digest != record.get("sha256"):
            problems.append(f"{name}: sha256 {digest[:16]}… does not match the manifest's "
                            f"{str(record.get('sha256'))[:16]}…")
