"""Load a tokenizer the way every engine should: one function, three kinds of source.

Other engines (the trainer's `apr pretrain --tokenizer`, the exporter, encode-corpus)
use this module and nothing else to get a tokenizer::

    from engines.tokenizer.load import load_tokenizer

    tok = load_tokenizer("out/qwen-tok")     # tokenizer.json | import-hf dir | checkpoint dir
    tok.vocab_size      # max id + 1 over model.vocab AND added tokens (Qwen2.5: 151,665)
    tok.eos_id          # int, or None when the tokenizer declares no end-of-text token
    tok.eos_token       # its string, e.g. "<|endoftext|>"
    tok.encode("Hello world")        # [9707, 1879] -- no special tokens added
    tok.encode_batch(["a", "b"])     # list[list[int]]
    tok.decode([9707, 1879])         # "Hello world"
    tok.sha256          # sha256 of the tokenizer.json bytes (what manifests record)
    tok.raw             # the parsed tokenizer.json (dict), for inspection without re-reading
    tok.path            # the tokenizer.json actually read
    tok.hf              # the underlying `tokenizers.Tokenizer`, for anything else

Accepted sources (:func:`resolve_tokenizer_json`):

* a ``tokenizer.json`` file (Hugging Face `tokenizers` serialization);
* an ``apr tokenize import-hf`` output directory (it keeps a copy of the source
  ``tokenizer.json`` precisely so that the normalizer and pre-tokenizer survive);
* a checkpoint directory holding ``tokenizer.json`` (or ``tokenizer/tokenizer.json``).

A directory with only ``vocab.json`` + ``merges.txt`` is refused: those two files do
not carry the pre-tokenizer or normalizer, so the ids could silently differ.

EOS resolution, first match wins: the ``eos`` argument; ``eos_token`` of a
``tokenizer_config.json`` next to the tokenizer.json (what Hugging Face checkpoints
declare); then the first of :data:`EOS_CANDIDATES` present in the vocabulary or the
added tokens. ``eos_id`` is None when nothing matches (callers that need one must
refuse with a clear message rather than guess).

This module is light at import time: `tokenizers` is imported inside functions.
Errors are :class:`engines.errors.AprError` (exit code 1) with a hint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.hashing import sha256_bytes
from engines.errors import AprError

# Names used as end-of-text / document separator by the common tokenizer families,
# in priority order (GPT-2/Qwen, Llama-3, Llama-2/Mistral, Gemma, ChatML, BERT).
EOS_CANDIDATES: tuple[str, ...] = (
    "<|endoftext|>",
    "<|end_of_text|>",
    "</s>",
    "<eos>",
    "<|eot_id|>",
    "<|im_end|>",
    "[SEP]",
)


def resolve_tokenizer_json(source: str | Path) -> Path:
    """The tokenizer.json that ``source`` (file, import-hf dir or checkpoint dir) designates."""
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in (path / "tokenizer.json", path / "tokenizer" / "tokenizer.json"):
            if candidate.is_file():
                return candidate
        if (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
            raise AprError(
                f"{path}: has vocab.json + merges.txt but no tokenizer.json; those two files do not "
                "carry the normalizer and pre-tokenizer, so the token ids could silently differ",
                hint="re-run `apr tokenize import-hf --input tokenizer.json --output DIR` "
                "(it keeps a copy of tokenizer.json) or pass the original tokenizer.json",
            )
        raise AprError(
            f"{path}: no tokenizer.json in this directory (nor in {path / 'tokenizer'})",
            hint="pass a tokenizer.json, an `apr tokenize import-hf` output dir or a checkpoint dir",
        )
    raise AprError(
        f"{path}: tokenizer not found (no such file or directory)",
        hint="pass a tokenizer.json, an `apr tokenize import-hf` output dir or a checkpoint dir",
    )


@dataclass
class LoadedTokenizer:
    """A Hugging Face tokenizer plus the facts engines need about it (see module docstring).

    The facts (sizes, EOS, added tokens) come from the JSON itself; the `tokenizers`
    object is built by :func:`load_tokenizer` (or, with ``lazy=True``, on first use of
    :attr:`hf`: encode-corpus with a fast backend never builds it in-process).
    """

    path: Path
    sha256: str
    vocab_size: int
    eos_id: int | None
    eos_token: str | None
    added_tokens: dict[str, int] = field(default_factory=dict)
    model_type: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the parsed tokenizer.json
    _text: str = field(default="", repr=False)
    _hf: Any = field(default=None, repr=False)

    def text(self) -> str:
        """The tokenizer.json exactly as read (what the sha256 covers)."""
        return self._text or self.path.read_text(encoding="utf-8")

    @property
    def hf(self) -> Any:
        """The `tokenizers.Tokenizer` (built on first use)."""
        if self._hf is None:
            self._hf = _build_hf(self.path, self._text)
        return self._hf

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` exactly as the tokenizer produces them, without special tokens added."""
        return list(self.hf.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of each text (HF's own batch encoder; same ids as :meth:`encode`)."""
        encodings = self.hf.encode_batch_fast(list(texts), add_special_tokens=False)
        return [list(e.ids) for e in encodings]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        return str(self.hf.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def token_to_id(self, token: str) -> int | None:
        found = self.hf.token_to_id(token)
        return int(found) if found is not None else None

    def id_to_token(self, token_id: int) -> str | None:
        found = self.hf.id_to_token(token_id)
        return str(found) if found is not None else None


def _config_eos(tokenizer_json: Path) -> str | None:
    """``eos_token`` declared by a tokenizer_config.json beside the tokenizer.json, if any."""
    config_path = tokenizer_json.parent / "tokenizer_config.json"
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a broken side file must not stop loading; the candidates still apply
    eos = config.get("eos_token") if isinstance(config, dict) else None
    if isinstance(eos, dict):  # AddedToken serialization: {"content": "...", ...}
        eos = eos.get("content")
    return eos if isinstance(eos, str) and eos else None


def _build_hf(path: Path, text: str) -> Any:
    from tokenizers import Tokenizer  # heavy: only when a tokenizer is actually loaded

    try:
        return Tokenizer.from_str(text) if text else Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a plain Exception with its parse error
        raise AprError(
            f"{path}: `tokenizers` cannot load it: {exc}",
            hint="check that the file is a complete tokenizer.json (not truncated, same library major version)",
        ) from exc


def _model_vocab(model: dict[str, Any]) -> dict[str, int]:
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        return vocab  # token -> id as parsed; `tokenizers` validates it when it loads the file
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...], ids are positions
        return {str(entry[0]): i for i, entry in enumerate(vocab) if isinstance(entry, list) and entry}
    return {}


def load_tokenizer(source: str | Path, *, eos: str | None = None, lazy: bool = False) -> LoadedTokenizer:
    """Load the tokenizer designated by ``source`` (see the module docstring).

    ``eos`` forces the end-of-text token by its string; it must exist in the tokenizer.
    ``lazy=True`` defers building the `tokenizers` object to the first use of ``.hf``;
    errors then surface there. By default it is built here, so a broken file fails now.
    """
    path = resolve_tokenizer_json(source)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
        raw = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AprError(f"{path}: cannot read it as JSON: {exc}", hint="is it a tokenizer.json?") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise AprError(
            f"{path}: not a Hugging Face tokenizer.json (no `model` object at the top level)",
            hint="pass the tokenizer.json written by `tokenizers` / `transformers`",
        )
    model_vocab = _model_vocab(raw["model"])
    added = {
        str(t["content"]): int(t["id"])
        for t in raw.get("added_tokens") or []
        if isinstance(t, dict) and "content" in t and isinstance(t.get("id"), int)
    }
    if not model_vocab and not added:
        raise AprError(f"{path}: the tokenizer has an empty vocabulary", hint="use a trained tokenizer")
    # The size a model's embedding must cover: ids are not necessarily dense.
    vocab_size = max([*model_vocab.values(), *added.values()]) + 1

    def lookup(token: str) -> int | None:
        return added.get(token, model_vocab.get(token))

    wanted = eos or _config_eos(path)
    if eos is not None and lookup(eos) is None:
        raise AprError(
            f"{path}: the requested EOS token {eos!r} is not in the vocabulary or added tokens",
            hint=f"pick one of the tokenizer's special tokens, e.g. {', '.join(list(added)[:5]) or '(none)'}",
        )
    eos_token = next((c for c in ([wanted] if wanted else []) + list(EOS_CANDIDATES) if lookup(c) is not None), None)
    loaded = LoadedTokenizer(
        path=path,
        sha256=sha256_bytes(data),
        vocab_size=vocab_size,
        eos_id=lookup(eos_token) if eos_token is not None else None,
        eos_token=eos_token,
        added_tokens=added,
        model_type=str(raw["model"].get("type", "")),
        raw=raw,
        _text=text,
    )
    if not lazy:
        loaded.hf  # noqa: B018 - build now so that a broken tokenizer.json fails here
    return loaded
