"""Preflight gates that run before any weight is read: tokenizer vs model vocabulary.

Rule (contract apr-pretrain-arch-polymorphic-v1):

* without ``--init`` (from scratch) the tokenizer size must EQUAL the model's vocab: a
  smaller tokenizer wastes embedding rows nobody trains, a larger one emits ids the
  embedding does not have (FALSIFY-APR-PRETRAIN-ARCH-006);
* with ``--init`` the tokenizer may be SMALLER or equal (HF checkpoints reserve rows: Qwen2.5
  ships 151,665 tokenizer ids for 151,936 embedding rows — FALSIFY-APR-PRETRAIN-ARCH-005/009);
* a tokenizer LARGER than the model is refused in both modes (FALSIFY-APR-PRETRAIN-ARCH-010):
  the bound is ``<=``, never ``<`` or "off by one".

The tokenizer size is ``max id + 1`` over the vocabulary and the added tokens (ids need not be
dense). Tokenizers are read through :mod:`engines.tokenizer.load`, the one loader every engine
uses. No heavy imports at module level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.errors import AprError

ID_INIT_PASSES = "FALSIFY-APR-PRETRAIN-ARCH-005"
ID_STRICT = "FALSIFY-APR-PRETRAIN-ARCH-006"
ID_RELAXED = "FALSIFY-APR-PRETRAIN-ARCH-009"
ID_OVERSIZED = "FALSIFY-APR-PRETRAIN-ARCH-010"


class PreflightError(AprError):
    """A preflight gate refused the run (exit code 1, gate id in the message)."""


@dataclass(frozen=True)
class VocabCheck:
    tokenizer_vocab: int
    model_vocab: int
    init: bool
    rule: str  # "tokenizer == model" | "tokenizer <= model"
    reserved_rows: int  # model rows no tokenizer id reaches (0 from scratch)

    def to_dict(self) -> dict[str, Any]:
        return {"tokenizer_vocab": self.tokenizer_vocab, "model_vocab": self.model_vocab, "init": self.init,
                "rule": self.rule, "reserved_rows": self.reserved_rows, "passed": True}


def check_vocab(tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "tokenizer") -> VocabCheck:
    """Pass (return the check) or raise :class:`PreflightError` naming the falsifier id."""
    if tokenizer_vocab > model_vocab:
        raise PreflightError(
            f"tokenizer {tokenizer} has {tokenizer_vocab:,} ids but the model's embedding has only "
            f"{model_vocab:,} rows ({'with' if init else 'without'} --init): ids {model_vocab:,}.."
            f"{tokenizer_vocab - 1:,} would index past the embedding",
            hint="use the tokenizer the model was built for, or a model whose vocab_size covers the tokenizer",
            falsifier=ID_OVERSIZED,
        )
    if init:
        return VocabCheck(tokenizer_vocab, model_vocab, True, "tokenizer <= model", model_vocab - tokenizer_vocab)
    if tokenizer_vocab != model_vocab:
        raise PreflightError(
            f"from-scratch training needs tokenizer size == model vocab: tokenizer {tokenizer} has "
            f"{tokenizer_vocab:,} ids, the architecture has vocab_size {model_vocab:,}",
            hint=f"pass --vocab-size {tokenizer_vocab} (or an --arch whose vocab matches); the relaxed "
            "`tokenizer <= model` bound only applies with --init",
            falsifier=ID_STRICT,
        )
    return VocabCheck(tokenizer_vocab, model_vocab, False, "tokenizer == model", 0)


@dataclass(frozen=True)
class TokenizerFacts:
    path: Path
    vocab_size: int
    eos_id: int | None
    sha256: str


def tokenizer_facts(source: str | Path) -> TokenizerFacts:
    """Size, EOS id and sha256 of ``source`` (tokenizer.json, import-hf dir or checkpoint dir)."""
    from engines.tokenizer.load import load_tokenizer

    tok = load_tokenizer(source)
    return TokenizerFacts(Path(tok.path), int(tok.vocab_size), tok.eos_id, tok.sha256)
