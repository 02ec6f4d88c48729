"""What the shard-format falsifiers share (pretokenize-bin, repair-manifest): a small encoded folder,
independent oracles over its bytes, and the trainer's reading of it.

Oracles are numpy / struct / hashlib over the files and `tokenizers` itself, never the engine's
code. Imports no family module.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from apr_contracts import RunContext
from apr_contracts.hashing import sha256_file
from engines.tokenizer import fixtures as fx
from falsifiers._tokenizer_support import apr, encode_corpus, said, stdlib_docs

SHARD_NAME = re.compile(r"^shard-\d+\.bin$")  # what `find DIR -name 'shard-*.bin'` counts, minus dot-files
# 12 standard-library files hold 33,054 ids with the fixture BPE; 3,000 ids per shard makes 6 shards.
DOCS = 12
SHARD_TOKENS = "3000"


class Failed(Exception):
    """A step of the scenario failed in a way that refutes the claim (the message says how)."""


def encoded_folder(ctx: RunContext, name: str, *, docs: int = DOCS, shard_tokens: str = SHARD_TOKENS,
                   eos_in_vocab: bool = True, extra: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """(tokenizer.json, corpus.jsonl, output folder) after a real `apr tokenize encode-corpus` run."""
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / f"tok-{int(eos_in_vocab)}", eos_in_vocab=eos_in_vocab)
    corpus = ctx.workspace / f"corpus-{docs}.jsonl"
    if not corpus.is_file():
        fx.write_jsonl(corpus, stdlib_docs(docs))
    out = ctx.workspace / name
    proc = encode_corpus(ctx, tok, corpus, out, "--shard-tokens", shard_tokens, *extra)
    if proc.returncode != 0:
        raise Failed(f"encode-corpus failed: {said(proc)}")
    return tok, corpus, out


def copy_folder(src: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    return dest


def shard_paths(folder: Path) -> list[Path]:
    """The folder's shards by an independent listing: names matching shard-<digits>.bin, in index order."""
    return sorted((p for p in folder.iterdir() if SHARD_NAME.match(p.name)), key=lambda p: int(p.name[6:-4]))


def file_digests(folder: Path, *, skip: tuple[str, ...] = ("manifest.json",)) -> dict[str, str]:
    """name -> sha256 of every file in ``folder`` except ``skip`` (to prove a command wrote nothing else)."""
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())
            if p.is_file() and p.name not in skip}


def manifest(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))


def repair(ctx: RunContext, folder: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    """`apr tokenize repair-manifest FOLDER --format json` with the engine under test."""
    return apr(ctx, "repair-manifest", folder, "--format", "json", *extra)


def lose_manifest(folder: Path) -> Path:
    """The killed-before-the-manifest state: shards on disk, no manifest.json."""
    (folder / "manifest.json").unlink(missing_ok=True)
    return folder


def ids_of(path: Path) -> Any:
    import numpy as np

    return np.fromfile(path, dtype="<u4")


def stream_of(folder: Path) -> Any:
    """Every id of the folder's shards, in index order (numpy over the raw bytes)."""
    import numpy as np

    parts = [ids_of(p) for p in shard_paths(folder)]
    return np.concatenate(parts) if parts else np.zeros(0, "<u4")


def set_id(folder: Path, shard: str, position: int, value: int) -> None:
    """Overwrite one id in place and re-record the shard's sha256, so only the id itself is wrong."""
    path = folder / shard
    ids = ids_of(path)
    ids[position] = value
    path.write_bytes(ids.astype("<u4").tobytes())
    data = manifest(folder)
    for record in data["shards"]:
        if record["file"] == shard:
            record["sha256"] = sha256_file(path)
    (folder / "manifest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def merkle(digests: list[str]) -> str:
    """sha256 over the shards' hex sha256s in shard order: the reference's corpus_sha256 construction."""
    return hashlib.sha256("".join(digests).encode("ascii")).hexdigest()


def trainer_reading(ctx: RunContext, folder: Path, seq_length: int) -> tuple[Any, Any]:
    """(all ids the trainer loaded, its consecutive ``seq + 1`` windows) for the folder, through the
    trainer engine under test: its loader, then its sequential (validation) windows over everything."""
    engine = ctx.engine("trainer")
    import numpy as np

    shards = engine.open_shards([folder])
    loaded = np.concatenate([np.asarray(a) for a in shards.arrays])
    ranges = [(i, 0, len(a)) for i, a in enumerate(shards.arrays)]
    windows = engine.validation_windows(shards, ranges, seq_length, len(loaded))
    return loaded, windows


def joined_windows(windows: Any) -> Any:
    """The stream a run of overlapping windows covers: the first whole, then each one's last ``seq`` ids."""
    import numpy as np

    return np.concatenate([windows[0], *[w[1:] for w in windows[1:]]]) if len(windows) else np.zeros(0, "<u4")
