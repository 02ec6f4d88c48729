"""Synthetic data for `apr pretrain --synthetic`: a smoke run of the whole pipeline without a corpus.

The tokens are a *learnable* pattern, so a smoke run shows more than "it did not crash": each
document counts upward through a small alphabet of ids from a random start (next id = previous
+ 1), followed by EOS. A model that trains at all drives its loss well below the uniform
ln(vocab) within a few dozen steps; one that does not learn stays there. The stream depends only
on the seed. The shards are written in the encode-corpus layout (``shard-00000.bin`` uint32 LE +
``manifest.json``) so every later stage (id check, held-out split, sampler) is the real one.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_json_atomic

ALPHABET = 64  # ids 0..63 (or fewer with a smaller vocab); EOS is never one of them
MIN_TOKENS = 16_384
MAX_TOKENS = 4_000_000  # the sampler draws windows at random, so a smoke run never needs more


def synthetic_tokens(count: int, vocab_size: int, eos_id: int | None, seed: int) -> Any:
    """``count`` uint32 ids: counting documents of 16..128 ids within the alphabet, EOS after each."""
    import numpy as np

    alphabet = [i for i in range(min(ALPHABET, vocab_size)) if i != eos_id]
    if len(alphabet) < 2:
        raise ValueError(f"vocab_size {vocab_size} leaves no alphabet for synthetic data")
    rng = np.random.default_rng(seed)
    size = len(alphabet)
    table = np.asarray(alphabet, dtype="<u4")
    parts: list[Any] = []
    total = 0
    while total < count:
        length = int(rng.integers(16, 129))
        doc = table[(int(rng.integers(0, size)) + np.arange(length)) % size]
        if eos_id is not None:
            doc = np.append(doc, np.uint32(eos_id))
        parts.append(doc.astype("<u4"))
        total += len(doc)
    return np.concatenate(parts)[:count].astype("<u4")


def planned_count(steps: int, rows: int, seq_length: int, val_tokens: int) -> int:
    """Tokens to generate: the run's windows plus validation, within [MIN_TOKENS, MAX_TOKENS]."""
    return max(MIN_TOKENS, min(MAX_TOKENS, steps * rows * (seq_length + 1) + 2 * val_tokens))


def write_shards(tokens: Any, vocab_size: int, eos_id: int | None) -> Path:
    """Write ``tokens`` as one encode-corpus shard in a private temp folder removed at exit."""
    dest = Path(tempfile.mkdtemp(prefix="apr-synthetic-"))
    atexit.register(shutil.rmtree, dest, True)
    tokens.tofile(dest / "shard-00000.bin")
    documents = int((tokens == eos_id).sum()) if eos_id is not None else 1
    write_json_atomic(dest / "manifest.json", {
        "dtype": "uint32-le", "eos_id": eos_id, "vocab_size": vocab_size, "tokens": int(tokens.size),
        "documents": documents, "synthetic": True,
        "shards": [{"file": "shard-00000.bin", "tokens": int(tokens.size)}]})
    return dest
