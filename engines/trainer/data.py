"""Training data: encode-corpus shards (little-endian uint32 ids) read through ``np.memmap``.

* :func:`open_shards` accepts shard files and/or directories (``shard-*.bin`` inside, plus a
  ``manifest.json`` when encode-corpus wrote one) and refuses, naming the file, what would
  silently corrupt training: a missing shard, a size that is not a multiple of 4 bytes (a
  truncated write), an empty set, a shard shorter than its manifest says, a manifest missing a
  required field (:mod:`engines.trainer.feed`), an id >= the model's vocab (with the position of
  the first offender).
* :func:`split_documents` makes the held-out split when no ``--val-shards`` are given:
  documents are the EOS-terminated runs of ids; every 20th document (index % 20 == 19, at
  least one) is held out, so train and validation never share a document. Without any EOS
  the last 5 % of each shard is held out and the report says so.
* :class:`WindowSampler` draws ``seq + 1``-token windows for step ``s`` from a generator seeded
  with ``(seed, s)``: a resumed run sees exactly the batches of an uninterrupted one, and the
  rows of a global batch are split between DDP ranks (and accumulation micro-steps) without
  changing which rows the step trains on.

numpy is imported inside functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.cli import NO_SUCH_PATH
from engines.errors import AprError, UsageError
from engines.trainer import feed

ID_OOB = "FALSIFY-APR-PRETRAIN-ARCH-010"  # an id >= vocab is the same out-of-bounds failure


class DataError(AprError):
    """Shards that cannot be trained on as given."""


@dataclass
class ShardSet:
    paths: list[Path]
    arrays: list[Any]  # np.memmap per shard
    manifest_sha256: str  # sha256 of manifest.json(s), else of the shard list with sizes
    manifests: list[Path] = field(default_factory=list)
    eos_id: int | None = None  # the EOS id encode-corpus wrote between documents (from its manifest)

    @property
    def tokens(self) -> int:
        return int(sum(len(a) for a in self.arrays))


def _shard_files(spec: Path) -> tuple[list[Path], Path | None]:
    if spec.is_dir():
        files = sorted(spec.glob("shard-*.bin")) or sorted(spec.glob("*.bin"))
        if not files:  # the wrong folder: a usage error like a missing path (exit 2), before any gate
            raise UsageError(f"{spec}: no shard-*.bin files in this folder",
                             hint="point --dataset at the output of `apr tokenize encode-corpus`")
        manifest = spec / "manifest.json"
        return files, manifest if manifest.is_file() else None
    if spec.is_file():
        return [spec], None
    raise UsageError(f"{NO_SUCH_PATH}: {spec}", hint="check the --dataset / --val-shards paths")


def open_shards(specs: Sequence[str | Path], *, dtype: str = feed.SHARD_DTYPE,
                read_manifest: Callable[[Path], feed.ShardManifest] = feed.read_manifest) -> ShardSet:
    """Open shard files/folders; ``dtype`` and ``read_manifest`` are the engine's (see engines.trainer.feed)."""
    import numpy as np

    paths: list[Path] = []
    manifests: list[Path] = []
    eos_ids: set[int] = set()
    for spec in specs:
        files, manifest = _shard_files(Path(spec))
        paths.extend(files)
        if manifest is not None:
            manifests.append(manifest)
            parsed = read_manifest(manifest)
            counts = parsed.counts
            if parsed.eos_id is not None:
                eos_ids.add(parsed.eos_id)
            for f in files:
                expected = counts.get(f.name)
                if expected is not None and f.stat().st_size != expected * 4:
                    raise DataError(
                        f"{f}: {f.stat().st_size // 4:,} tokens on disk but {manifest} records {expected:,}",
                        hint="the shard is truncated or was rewritten; re-run encode-corpus (it resumes)",
                    )
    arrays = []
    for path in paths:
        size = path.stat().st_size
        if size % 4:
            raise DataError(f"{path}: {size} bytes is not a multiple of 4 (uint32 ids): the shard is truncated",
                            hint="re-run `apr tokenize encode-corpus` to rewrite it")
        if size == 0:
            continue  # encode-corpus may leave an empty last shard; it holds nothing to train on
        arrays.append(np.memmap(path, dtype=dtype, mode="r"))
    paths = [p for p in paths if p.stat().st_size > 0]
    if not arrays:
        raise DataError(f"{', '.join(str(s) for s in specs)}: the shards hold no tokens",
                        hint="encode a non-empty corpus with `apr tokenize encode-corpus`")
    digest = hashlib.sha256()
    if manifests:
        for manifest in manifests:
            digest.update(manifest.read_bytes())
    else:
        for path in paths:
            digest.update(f"{path.name}:{path.stat().st_size}\n".encode())
    return ShardSet(paths, arrays, digest.hexdigest(), manifests, eos_ids.pop() if len(eos_ids) == 1 else None)


def check_ids(shards: ShardSet, vocab_size: int) -> None:
    """Every id < ``vocab_size``; otherwise name the shard, the position and the id."""
    import numpy as np

    for path, arr in zip(shards.paths, shards.arrays, strict=True):
        chunk = 1 << 22
        for start in range(0, len(arr), chunk):
            block = np.asarray(arr[start : start + chunk])
            if block.size and int(block.max()) >= vocab_size:
                pos = start + int(np.flatnonzero(block >= vocab_size)[0])
                raise DataError(
                    f"{path}: token id {int(arr[pos]):,} at position {pos:,} is >= the model's vocab_size "
                    f"{vocab_size:,}",
                    hint="the shards were encoded with a different (larger) tokenizer; re-encode with --tokenizer",
                    falsifier=ID_OOB,
                )


Range = tuple[int, int, int]  # (shard index, start, end)


@dataclass
class Split:
    train: list[Range]
    val: list[Range]
    description: str
    documents: int = 0
    val_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "documents": self.documents, "val_documents": self.val_documents,
                "train_tokens": sum(e - s for _, s, e in self.train), "val_tokens": sum(e - s for _, s, e in self.val)}


def split_documents(shards: ShardSet, eos_id: int | None, *, every: int = 20) -> Split:
    """Hold out every ``every``-th EOS-terminated document (disjoint by document)."""
    import numpy as np

    docs: list[Range] = []
    if eos_id is not None:
        for i, arr in enumerate(shards.arrays):
            ends = np.flatnonzero(np.asarray(arr) == eos_id) + 1
            starts = np.concatenate(([0], ends))
            ends = np.concatenate((ends, [len(arr)]))
            docs.extend((i, int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e > s)
    if len(docs) >= 2:
        val_idx = {k for k in range(len(docs)) if k % every == every - 1} or {len(docs) - 1}
        train = _merge([d for k, d in enumerate(docs) if k not in val_idx])
        val = [d for k, d in enumerate(docs) if k in val_idx]
        desc = (f"held-out split by document: {len(val_idx)} of {len(docs)} EOS-delimited documents "
                f"(index % {every} == {every - 1}) for validation")
        return Split(train, val, desc, len(docs), len(val_idx))
    train, val = [], []
    for i, arr in enumerate(shards.arrays):
        cut = len(arr) - max(1, len(arr) // every)
        train.append((i, 0, cut))
        val.append((i, cut, len(arr)))
    reason = "no EOS id in the tokenizer" if eos_id is None else f"fewer than 2 documents end with EOS id {eos_id}"
    return Split(train, val, f"held-out split by position ({reason}): the last 5% of each shard", 1, 1)


def whole(shards: ShardSet) -> list[Range]:
    return [(i, 0, len(a)) for i, a in enumerate(shards.arrays)]


def _merge(ranges: list[Range]) -> list[Range]:
    """Adjacent training documents form one packing range (windows may cross document ends)."""
    merged: list[Range] = []
    for shard, start, end in ranges:
        if merged and merged[-1][0] == shard and merged[-1][2] == start:
            merged[-1] = (shard, merged[-1][1], end)
        else:
            merged.append((shard, start, end))
    return merged


class WindowSampler:
    """Deterministic random windows of ``seq + 1`` ids: the batch of step ``s`` depends on (seed, s) only."""

    def __init__(self, shards: ShardSet, ranges: list[Range], seq_length: int, seed: int) -> None:
        import numpy as np

        self.shards, self.seq, self.seed = shards, seq_length, seed
        self.ranges = [r for r in ranges if r[2] - r[1] >= seq_length + 1]
        if not self.ranges:
            longest = max((e - s for _, s, e in ranges), default=0)
            raise DataError(
                f"no contiguous training range holds a window of --seq-length {seq_length} + 1 tokens "
                f"(longest: {longest:,} tokens)",
                hint="use a smaller --seq-length or more / longer documents",
            )
        counts = np.array([e - s - seq_length for _, s, e in self.ranges], dtype=np.int64)
        self.cumulative = np.cumsum(counts)

    def global_batch(self, step: int, rows: int) -> Any:
        """``[rows, seq + 1]`` int64 ids for ``step`` (same for every process)."""
        import numpy as np

        rng = np.random.default_rng([self.seed, step])
        picks = rng.integers(0, int(self.cumulative[-1]), size=rows)
        out = np.empty((rows, self.seq + 1), dtype=np.int64)
        for row, pick in enumerate(picks):
            k = int(np.searchsorted(self.cumulative, pick, side="right"))
            offset = int(pick - (self.cumulative[k - 1] if k else 0))
            shard, start, _ = self.ranges[k]
            out[row] = self.shards.arrays[shard][start + offset : start + offset + self.seq + 1]
        return out


def validation_windows(shards: ShardSet, ranges: list[Range], seq_length: int, max_tokens: int) -> Any:
    """Consecutive non-overlapping ``seq + 1`` windows over the held-out ranges (up to ``max_tokens``)."""
    import numpy as np

    stream = np.concatenate([np.asarray(shards.arrays[i][s:e], dtype=np.int64) for i, s, e in ranges]) \
        if ranges else np.empty(0, dtype=np.int64)
    n = min((len(stream) - 1) // seq_length, max(1, max_tokens // seq_length))
    if n <= 0:
        raise DataError(
            f"the validation set has {len(stream):,} tokens, fewer than one window of --seq-length {seq_length} + 1",
            hint="pass --val-shards with more data, or a smaller --seq-length",
        )
    return np.stack([stream[k * seq_length : k * seq_length + seq_length + 1] for k in range(n)])
