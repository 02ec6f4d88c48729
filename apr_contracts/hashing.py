"""The one sha256 helper: hex digests of a file, of bytes, of text.

The framework (contract and source hashes), the engines (manifests, checkpoints, receipts) and the
falsifiers (their oracles) all record or compare sha256 hex digests of exactly these inputs, so
they share one implementation instead of seven. It imports only the standard library: engines and
`pv validate` may import it without pulling in anything heavy. Callers that want a placeholder for
an unreadable file (``""``, ``"missing"``) catch ``OSError`` themselves, so the placeholder stays
visible where it is chosen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20  # 1 MiB: memory stays flat for corpora and model files of any size


def sha256_file(path: Path | str, *, chunk: int = CHUNK) -> str:
    """Hex sha256 of the file's bytes, read in chunks; raises OSError when it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str, *, encoding: str = "utf-8") -> str:
    """Hex sha256 of ``text`` encoded (UTF-8 unless told otherwise)."""
    return hashlib.sha256(text.encode(encoding)).hexdigest()
