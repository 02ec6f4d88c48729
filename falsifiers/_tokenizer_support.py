"""What the tokenizer contracts' falsifiers share: running `apr tokenize`, and independent oracles.

The oracle is `tokenizers` itself (``Tokenizer.from_file(...).encode(text,
add_special_tokens=False).ids``), numpy and hashlib (apr_contracts.hashing), never the engine's own code. This module
imports nothing from the family modules that use it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext
from engines.tokenizer import fixtures as fx

TIMEOUT_S = 300


def apr(ctx: RunContext, *args: str | Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run `apr tokenize ARGS` with the engine under test, in the workspace."""
    engine = ctx.engine("tokenizer")
    cmd = [sys.executable, "-m", "engines.cli", "--engine-impl", f"tokenizer={engine.name}", "tokenize",
           *map(str, args)]
    return subprocess.run(cmd, cwd=ctx.workspace, capture_output=True, text=True, timeout=timeout, check=False)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}; stderr: {proc.stderr.strip()[-600:]}"



def stdlib_docs(limit: int, *, skip: int = 0) -> list[str]:
    return [text for _rel, text in fx.iter_stdlib_documents(skip + limit)][skip:]


def reference_ids(tokenizer_json: Path, texts: list[str]) -> list[list[int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    return [tok.encode(t, add_special_tokens=False).ids for t in texts]


def eos_id(tokenizer_json: Path) -> int:
    raw = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    found = raw["model"]["vocab"].get("<|endoftext|>")
    found = found if found is not None else next(t["id"] for t in raw["added_tokens"] if t["content"] == "<|endoftext|>")
    return int(found)


def encode_corpus(ctx: RunContext, tok: Path, corpus: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return apr(ctx, "encode-corpus", "--corpus", corpus, "--tokenizer", tok, "--output", out, "--no-progress", *extra)


def read_manifest(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "manifest.json").read_text(encoding="utf-8")))


def read_shards(out: Path) -> list[Any]:
    import numpy as np

    return [np.fromfile(out / s["file"], dtype="<u4") for s in read_manifest(out)["shards"]]


def joined_ids(out: Path) -> Any:
    import numpy as np

    parts = read_shards(out)
    return np.concatenate(parts) if parts else np.zeros(0, "<u4")


def expected_units(reference: list[list[int]], eos: int, policy: str) -> list[list[int]]:
    if policy == "after":
        return [[*ids, eos] for ids in reference]
    if policy == "between":
        return [ids if i == 0 else [eos, *ids] for i, ids in enumerate(reference)]
    return [list(ids) for ids in reference]


def first_bad_unit(got: list[int], units: list[list[int]]) -> int:
    at = 0
    for i, unit in enumerate(units):
        if got[at:at + len(unit)] != unit:
            return i
        at += len(unit)
    return len(units) if at == len(got) else -1

