"""Encoding backends for encode-corpus: Hugging Face `tokenizers` (the reference) and two fast ones.

* **gigatoken** (preferred when installed): an independent Rust implementation of
  `tokenizers`' BPE pipeline, loaded from the tokenizer.json itself; tens of millions
  of tokens per second on one core.
* **tiktoken**: built from *this tokenizer's own* vocabulary and merges and its own
  pre-tokenizer regex, with its own normalizer (NFC) applied in Python. Only when
  :func:`fast_plan` finds the tokenizer structurally equivalent (byte-level BPE, ids in
  merge order, a supported normalizer and pre-tokenizer, no dropout/suffixes/byte-fallback).
  Documents that contain an added token's text (e.g. ``<|endoftext|>``) are encoded by
  `tokenizers`, which matches added tokens before the model runs.

Either fast backend is used only after the start-up check (the engine's ``verify_fast``)
finds identical ids to `tokenizers` on probe strings plus a sample of the corpus.
Anything else uses `tokenizers` (``encode_batch_fast``, ``add_special_tokens=False``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from engines.tokenizer.load import LoadedTokenizer

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# Strings that exercise what usually differs between two BPE implementations:
# normalization (composed vs decomposed), contractions, digits, whitespace runs,
# line endings, scripts without spaces, emoji with modifiers, punctuation runs.
PROBES: tuple[str, ...] = (
    "Hello world", "I'm here, you'LL see; they've it's", "x = 12345 + 3.14159 - 0x1F",
    "a   b\n\n\tc  \r\n  d \n", "naïve café résumé", "cafe\u0301 nai\u0308ve A\u030a",
    "\u1100\u1161\u11a8 한국어 日本語の文章 中文测试", "👍🏽 👨‍👩‍👧 🇫🇷 ✓", "    def f(self):\n        return {'k': [1, 2]}\n",
    "ÅΩ ﬁ ① ²", "  leading and trailing  ", "\u00a0non\u00a0breaking\u2009thin", "!!!??? ... --- ***",
    "Ünïcödé\u0301\u0302 mixed ΑΒΓ абв אבג عربي", "\n", " ", "",
)


class BackendUnavailable(Exception):
    """A fast backend cannot serve this tokenizer (not installed, or refuses to load it); the message says why."""


def added_token_probes(added: dict[str, int], limit: int = 64) -> list[str]:
    """Strings that exercise each added token's matching rules (lstrip/rstrip, single_word,
    normalized): alone, glued to text, between spaces and newlines, and twice in a row."""
    probes = []
    for content in sorted(added, key=lambda c: added[c])[:limit]:
        probes += [content, f"x{content}y", f" {content} \n", f"a {content}{content}\tb"]
    return probes


@dataclass
class FastPlan:
    """What the fast path needs, derived from tokenizer.json alone."""

    pattern: str
    normalizer: str  # "" or "NFC"
    ranks: dict[bytes, int]
    added: list[tuple[str, bool]]  # (content, normalized)


def byte_decoder() -> dict[str, int]:
    from engines.tokenizer.fixtures import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def byte_level_bytes() -> Callable[[str], bytes]:
    """str (GPT-2 byte-level alphabet) -> raw bytes, in C: translate to latin-1 code points, then encode.

    Characters outside the alphabet become U+FFFF so that encoding raises instead of
    silently accepting, e.g., a literal newline.
    """
    table: dict[int, int] = {code: 0xFFFF for code in range(256)}
    table.update({ord(char): byte for char, byte in byte_decoder().items()})

    def convert(token: str) -> bytes:
        return token.translate(table).encode("latin-1")

    return convert


def _normalizer_kind(spec: Any) -> str | None:
    """"" for none, "NFC" for NFC (alone or in a one-element Sequence), None if unsupported."""
    if spec is None:
        return ""
    if isinstance(spec, dict) and spec.get("type") == "NFC":
        return "NFC"
    if isinstance(spec, dict) and spec.get("type") == "Sequence":
        kinds = [_normalizer_kind(s) for s in spec.get("normalizers") or []]
        if all(k is not None for k in kinds) and len([k for k in kinds if k]) <= 1:
            return next((k for k in kinds if k), "")
    return None


def _pattern_of(spec: Any) -> str | None:
    if not isinstance(spec, dict):
        return None
    if spec.get("type") == "ByteLevel":
        ok = spec.get("use_regex", True) and not spec.get("add_prefix_space", False)
        return GPT2_PATTERN if ok else None
    if spec.get("type") == "Sequence":
        parts = spec.get("pretokenizers") or []
        if len(parts) != 2:
            return None
        split, level = parts
        if not (isinstance(split, dict) and split.get("type") == "Split" and isinstance(level, dict)
                and level.get("type") == "ByteLevel" and not level.get("use_regex", True)
                and not level.get("add_prefix_space", False)):
            return None
        if split.get("behavior") != "Isolated" or split.get("invert"):
            return None
        pattern = split.get("pattern") or {}
        if "Regex" in pattern:
            return str(pattern["Regex"])
        if "String" in pattern:
            return re.escape(str(pattern["String"]))
    return None


def fast_plan(raw: dict[str, Any], *, allow_any_normalizer: bool = False) -> tuple[FastPlan | None, str]:
    """A fast-path plan for this tokenizer.json, or None and the reason it is not equivalent."""
    model = raw.get("model") or {}
    if model.get("type") != "BPE":
        return None, f"model.type is {model.get('type')!r}, not BPE"
    for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            return None, f"model.{key} is set ({model.get(key)!r})"
    if model.get("byte_fallback"):
        return None, "model.byte_fallback is set"
    normalizer = _normalizer_kind(raw.get("normalizer"))
    if normalizer is None:
        if not allow_any_normalizer:
            return None, f"normalizer {raw.get('normalizer', {}).get('type')!r} has no fast equivalent"
        normalizer = "NFC"
    pattern = _pattern_of(raw.get("pre_tokenizer"))
    if pattern is None:
        return None, "pre-tokenizer is not ByteLevel or Split(regex)+ByteLevel"
    vocab: dict[str, int] = model.get("vocab") or {}
    merges = model.get("merges") or []
    to_bytes = byte_level_bytes()
    ranks: dict[bytes, int] = {}
    for char, byte in byte_decoder().items():
        if char in vocab:
            ranks[bytes([byte])] = vocab[char]
    if len(ranks) != 256:
        return None, f"only {len(ranks)} of the 256 byte tokens are in the vocabulary (not byte-level)"
    last = -1
    try:
        for entry in merges:
            a, b = entry.split(" ") if isinstance(entry, str) else entry
            merged = a + b
            merged_id = vocab.get(merged)
            merged_bytes = to_bytes(merged)
            if merged_id is None or merged_id <= last or merged_bytes in ranks:
                # tiktoken ranks merges by token id: ids must follow merge order, one merge per token
                return None, f"merge {a!r} + {b!r} breaks 'ids in merge order' (id {merged_id}, previous {last})"
            ranks[merged_bytes] = last = merged_id
    except UnicodeEncodeError as exc:
        return None, f"a merge holds a character outside the byte-level alphabet ({exc.object[exc.start]!r})"
    unreachable = len(vocab) - len(ranks)
    if model.get("ignore_merges") and unreachable:
        return None, f"ignore_merges with {unreachable} vocabulary entries no merge produces"
    added = [(str(t["content"]), bool(t.get("normalized", False))) for t in raw.get("added_tokens") or []]
    return FastPlan(pattern, normalizer, ranks, added), "byte-level BPE with ids in merge order"


class HFBackend:
    """`tokenizers` batch encoding (threads = RAYON_NUM_THREADS, set by the CLI before import)."""

    name = "hf"

    def __init__(self, tok: LoadedTokenizer, *, add_special_tokens: bool = False) -> None:
        self.tok = tok
        self.add_special_tokens = add_special_tokens
        self._runner: ThreadPoolExecutor | None = None

    def encode_many(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        encodings = self.tok.hf.encode_batch_fast(list(texts), add_special_tokens=self.add_special_tokens)
        return [np.asarray(e.ids, dtype=np.uint32) for e in encodings]

    def submit(self, texts: Sequence[str]) -> Callable[[], list[Any]]:
        """Start encoding ``texts`` in the background; call the result to wait for the ids."""
        if self._runner is None:
            self._runner = ThreadPoolExecutor(1, thread_name_prefix="apr-hf")
        return self._runner.submit(self.encode_many, list(texts)).result

    def close(self) -> None:
        if self._runner is not None:
            self._runner.shutdown(wait=True)


class PooledBackend:
    """A per-document encoder on ``workers`` threads (the encoders release the GIL).

    Documents are queued on the pool as soon as they are submitted (no barrier
    between chunks); :meth:`submit` returns a callable that collects them in order.
    """

    name = ""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"apr-{self.name}")
        self.hf_documents = 0  # documents routed to tokenizers
        self.reference: Any = None  # the ReferenceProcess checking this backend, set by the engine

    def encode_one(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode_many(self, texts: Sequence[str]) -> list[Any]:
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Callable[[], list[Any]]:
        if self.workers == 1:  # one task per chunk: per-document futures cost ~30 us each
            whole = self.pool.submit(lambda: [self.encode_one(text) for text in texts])
            return whole.result
        futures = [self.pool.submit(self.encode_one, text) for text in texts]
        return lambda: [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.reference is not None:
            self.reference.kill()


class GigatokenBackend(PooledBackend):
    """gigatoken, an independent Rust implementation of `tokenizers`' BPE pipeline, loaded
    from this very tokenizer.json (normalizer, pre-tokenizer and added tokens included).

    Nothing about it is taken on trust: like every fast backend it is used only after
    its ids equal `tokenizers`' on the probes and the start-up sample.

    One encoding thread, whatever ``workers`` says: a gigatoken tokenizer is not
    re-entrant (concurrent ``encode`` calls fail with "Already borrowed"), and one
    thread (~40 M tokens/s on Qwen2, a pretoken cache included) already outpaces
    reading JSONL in Python; a second instance would cost another load.
    """

    name = "gigatoken"

    def __init__(self, tok: LoadedTokenizer, workers: int) -> None:  # workers: see the class docstring
        try:
            import gigatoken  # optional: part of the engines extra
        except ImportError as exc:
            raise BackendUnavailable("gigatoken is not installed") from exc
        self.tok = tok
        try:
            self.tokenizer = gigatoken.Tokenizer.from_json(tok.text())
        except Exception as exc:  # gigatoken raises ValueError/RuntimeError for what it does not support
            raise BackendUnavailable(f"gigatoken cannot load it ({str(exc).splitlines()[0][:200]})") from exc
        self._encode: Callable[[str], Any] = self.tokenizer.encode
        super().__init__(1)

    def encode_one(self, text: str) -> Any:
        return self._encode(text)  # a uint32 numpy array


class TiktokenBackend(PooledBackend):
    """tiktoken from the tokenizer's own ranks and regex (see :func:`fast_plan`).

    Each document is encoded by ``encode_to_tiktoken_buffer``, which releases the GIL for
    the whole encode and hands back a buffer numpy wraps without copying. tiktoken needs
    at least one special token for that call to scan text quickly (with none, its
    special-token regex is empty and matches at every character), so a sentinel that is
    never *allowed* is registered: if it occurs in a text it is encoded as ordinary text.
    """

    name = "tiktoken"
    SENTINEL = "<|apr-fast-path-sentinel|>"

    def __init__(self, tok: LoadedTokenizer, plan: FastPlan, workers: int) -> None:
        self.tok = tok
        self.plan = plan
        sentinel_id = max(plan.ranks.values()) + 1 + len(plan.added)
        self._special = {self.SENTINEL: sentinel_id}
        self.encoding = self._new_encoding()
        contents = sorted({c for c, _n in plan.added if c}, key=len, reverse=True)
        self._added = re.compile("|".join(map(re.escape, contents))) if contents else None
        # One encoder per worker thread. The regex inside a tiktoken encoder serves the first
        # thread that uses it on a fast path and every other thread on a slower shared one; with
        # one encoder shared by the pool, 2 workers encoded no faster than 1 (0.93x on 11 MB of
        # stdlib while plain threads got 1.75x: FALSIFY-APR-TOK-PAR-002 measured it). Building
        # one costs ~0.07 s for Qwen2's 151k ranks.
        self._local = threading.local()
        super().__init__(workers)

    def _new_encoding(self) -> Any:
        import tiktoken

        return tiktoken.Encoding("apr-fast", pat_str=self.plan.pattern, mergeable_ranks=self.plan.ranks,
                                 special_tokens=self._special)

    def _encode_buffer(self, text: str, allowed: set[str]) -> Any:
        """This thread's own encoder (see __init__): tiktoken's ``encode_to_tiktoken_buffer``."""
        encode = getattr(self._local, "encode", None)
        if encode is None:
            encode = self._local.encode = self._new_encoding()._core_bpe.encode_to_tiktoken_buffer
        return encode(text, allowed)

    def normalize(self, text: str) -> str:
        if self.plan.normalizer == "NFC" and not unicodedata.is_normalized("NFC", text):
            return unicodedata.normalize("NFC", text)
        return text

    def encode_one(self, text: str) -> Any:
        import numpy as np

        normalized = self.normalize(text)
        if self._added is not None and (self._added.search(normalized)
                                        or (normalized is not text and self._added.search(text))):
            self.hf_documents += 1  # tokenizers matches added tokens before the model runs
            return np.asarray(self.tok.encode(text), dtype=np.uint32)
        return np.frombuffer(self._encode_buffer(normalized, set()), dtype=np.uint32)


def first_difference(a: Sequence[int], b: Sequence[int]) -> int:
    """Index of the first differing id (len of the shorter when one is a prefix of the other)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
