"""Straightforward corpus encoders built on peer libraries: the baselines encode-corpus is timed against.

Each one is what a competent engineer would write in a few lines with that library, and
runs in a fresh process (``python -m engines.tokenizer.peers NAME ARGS``), so that its
wall time includes start-up just like ``apr tokenize encode-corpus``'s. Used by
``bench/encode_corpus.py`` and by the live falsifier FALSIFY-TOK-ENCODE-CORPUS-LIVE-001,
which compare our command with them in the same run.

* ``tiktoken-pipeline RANKS PATTERN CORPUS OUT WORKERS``: read the JSONL, NFC-normalize,
  ``encode_ordinary_batch(num_threads=WORKERS)``, append EOS, write little-endian uint32;
* ``tiktoken-encode RANKS PATTERN CORPUS WORKERS``: tiktoken's pure encode throughput on the
  same (NFC) texts, timed inside the process after loading and a warm-up (the practical limit);
* ``gigatoken-pipeline TOKENIZER_JSON CORPUS OUT EOS`` / ``gigatoken-encode TOKENIZER_JSON CORPUS``:
  the same two on gigatoken (``encode_batch`` on its own thread pool, RAYON_NUM_THREADS);
* ``bpe-qwen-encode VOCAB_MERGES_DIR CORPUS WORKERS``: bpe-qwen's ``encode_batch_parallel``.

Each prints one JSON line: ``{"tokens": N}`` (text tokens, EOS excluded) and, for the
``*-encode`` rows, ``"encode_s"``. RANKS is a tiktoken rank file (base64 token, rank).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _texts(corpus: str, *, nfc: bool) -> list[str]:
    import unicodedata

    with open(corpus, "rb") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    return [unicodedata.normalize("NFC", t) for t in texts] if nfc else texts


def _tiktoken(ranks_path: str, pattern: str, *, eos: bool) -> tuple[Any, int]:
    import base64

    import tiktoken

    ranks = {}
    with open(ranks_path, "rb") as handle:
        for line in handle:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    eos_id = len(ranks)
    special = {"<|endoftext|>": eos_id} if eos else {}
    return tiktoken.Encoding("peer", pat_str=pattern, mergeable_ranks=ranks, special_tokens=special), eos_id


def tiktoken_pipeline(ranks: str, pattern: str, corpus: str, out: str, workers: str) -> dict[str, Any]:
    import itertools

    import numpy as np

    enc, eos = _tiktoken(ranks, pattern, eos=True)
    ids = enc.encode_ordinary_batch(_texts(corpus, nfc=True), num_threads=int(workers))
    flat = np.fromiter(itertools.chain.from_iterable(itertools.chain(d, (eos,)) for d in ids), dtype="<u4")
    flat.tofile(out)
    return {"tokens": int(flat.size) - len(ids)}


def tiktoken_encode(ranks: str, pattern: str, corpus: str, workers: str) -> dict[str, Any]:
    enc, _eos = _tiktoken(ranks, pattern, eos=False)
    texts = _texts(corpus, nfc=True)
    enc.encode_ordinary_batch(texts[:20], num_threads=int(workers))
    t0 = time.perf_counter()
    ids = enc.encode_ordinary_batch(texts, num_threads=int(workers))
    seconds = time.perf_counter() - t0
    return {"tokens": sum(map(len, ids)), "encode_s": seconds}


def gigatoken_pipeline(tokenizer_json: str, corpus: str, out: str, eos: str) -> dict[str, Any]:
    import awkward as ak
    import gigatoken
    import numpy as np

    tok = gigatoken.Tokenizer(tokenizer_json)
    ids = tok.encode_batch(_texts(corpus, nfc=False))
    flat, lengths = ak.to_numpy(ak.flatten(ids)), ak.to_numpy(ak.num(ids))
    np.insert(flat, np.cumsum(lengths), int(eos)).astype("<u4").tofile(out)
    return {"tokens": int(flat.size)}


def gigatoken_encode(tokenizer_json: str, corpus: str) -> dict[str, Any]:
    import gigatoken

    tok = gigatoken.Tokenizer(tokenizer_json)
    texts = _texts(corpus, nfc=False)
    tok.encode_batch(texts[:20])
    t0 = time.perf_counter()
    ids = tok.encode_batch(texts)
    seconds = time.perf_counter() - t0
    return {"tokens": int(sum(len(x) for x in ids.to_list())), "encode_s": seconds}


def bpe_qwen_encode(tok_dir: str, corpus: str, workers: str) -> dict[str, Any]:
    import glob
    import importlib.machinery
    import importlib.util
    import os

    # The package's __init__ imports transformers (slow, undeclared): load the extension directly.
    spec = importlib.util.find_spec("bpe_qwen")
    assert spec is not None and spec.submodule_search_locations is not None
    so = glob.glob(os.path.join(spec.submodule_search_locations[0], "bpe_qwen*.so"))[0]
    loader = importlib.machinery.ExtensionFileLoader("bpe_qwen", so)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("bpe_qwen", loader))  # type: ignore[arg-type]
    loader.exec_module(module)
    tok = module.QwenTokenizer(tok_dir)
    texts = _texts(corpus, nfc=False)
    t0 = time.perf_counter()
    ids = tok.encode_batch_parallel(texts, int(workers))
    seconds = time.perf_counter() - t0
    return {"tokens": sum(map(len, ids)), "encode_s": seconds}


PEERS: dict[str, Callable[..., dict[str, Any]]] = {
    "tiktoken-pipeline": tiktoken_pipeline,
    "tiktoken-encode": tiktoken_encode,
    "gigatoken-pipeline": gigatoken_pipeline,
    "gigatoken-encode": gigatoken_encode,
    "bpe-qwen-encode": bpe_qwen_encode,
}


def command(name: str, *args: str | Path) -> list[str]:
    """The argv that runs peer ``name`` in a fresh interpreter."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return [sys.executable, "-m", "engines.tokenizer.peers", name, *map(str, args)]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in PEERS:
        print(f"usage: python -m engines.tokenizer.peers {{{','.join(PEERS)}}} ARGS...", file=sys.stderr)
        return 2
    print(json.dumps(PEERS[argv[0]](*argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
