"""`tokenizers`' own ids for a few texts, computed in a process of its own.

encode-corpus checks a fast backend against Hugging Face `tokenizers` before it
writes anything. Building a large `tokenizers` object (Qwen2: ~0.3 s) holds the
GIL, which would stall reading and writing in the encoding process; run here, it
takes the other core while the first chunks encode.

Protocol (``python -m engines.tokenizer.reference``): stdin is JSON
``{"tokenizer": path, "sha256": hex, "texts": [...]}``; stdout is JSON
``{"ids": [[...], ...]}``, or ``{"error": "..."}`` with exit code 1. The sha256
makes sure the child reads the very bytes the parent loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT_S = 600


def _compute(request: dict[str, Any]) -> list[list[int]]:
    from tokenizers import Tokenizer

    data = Path(request["tokenizer"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != request["sha256"]:
        raise ValueError(f"{request['tokenizer']} changed since it was loaded (sha256 differs)")
    tok = Tokenizer.from_str(data.decode("utf-8"))
    return [list(e.ids) for e in tok.encode_batch_fast(list(request["texts"]), add_special_tokens=False)]


def reference_ids(tokenizer: Path, sha256: str, texts: list[str]) -> list[list[int]] | None:
    """The ids from a child process, or None if it could not answer (the caller computes them itself)."""
    request = json.dumps({"tokenizer": str(tokenizer), "sha256": sha256, "texts": texts})
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}  # the parent's threads already use the cores
    try:
        proc = subprocess.run([sys.executable, "-m", "engines.tokenizer.reference"], input=request,
                              capture_output=True, text=True, encoding="utf-8", env=env, timeout=TIMEOUT_S)
        answer = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    ids = answer.get("ids") if isinstance(answer, dict) else None
    return ids if isinstance(ids, list) and len(ids) == len(texts) else None


def main() -> int:
    try:
        ids = _compute(json.loads(sys.stdin.read()))
    except Exception as exc:  # the parent falls back to computing in-process and reports from there
        json.dump({"error": f"{type(exc).__name__}: {exc}"}, sys.stdout)
        return 1
    json.dump({"ids": ids}, sys.stdout, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
