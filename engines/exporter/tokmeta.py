"""The tokenizer part of a GGUF: tokens, token types, merges, pre-tokenizer name, special ids.

Everything is derived from the checkpoint's own ``tokenizer.json`` (+ ``tokenizer_config.json``),
never from defaults: a tokenizer that llama.cpp cannot reproduce (not byte-level BPE, or a
pre-tokenizer with no llama.cpp counterpart) is refused with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# llama.cpp token types (gguf.TokenType), repeated here so this module stays import-light.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# Qwen2's pre-tokenizer regex as it appears in tokenizer.json (llama.cpp pre name "qwen2").
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


class TokenizerMetaError(ValueError):
    """The checkpoint's tokenizer cannot be expressed as GGUF tokenizer metadata."""


@dataclass
class TokenizerMeta:
    """Tokenizer metadata before padding. ``by_id``: id -> (text, token type)."""

    model: str
    pre: str
    by_id: dict[int, tuple[str, int]]
    merges: list[str]
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/padding/unknown
    add_bos: bool = False
    chat_template: str | None = None

    @property
    def size(self) -> int:
        """Rows the tokenizer needs: highest id + 1 (holes, if any, become placeholders)."""
        return max(self.by_id) + 1 if self.by_id else 0

    @property
    def added_ids(self) -> list[int]:
        return sorted(i for i, (_, t) in self.by_id.items() if t in (CONTROL, USER_DEFINED))


def placeholder(i: int) -> str:
    return f"[PAD{i}]"


def pad_vocab(by_id: Mapping[int, tuple[str, int]], n_rows: int) -> tuple[list[str], list[int]]:
    """Token list with exactly ``n_rows`` entries: every token at its own id, UNUSED placeholders elsewhere.

    Qwen2.5 (151,643 BPE + 22 added = 151,665 ids, 151,936 embedding rows) gets 271 placeholders,
    all *after* id 151,664: added tokens are never displaced.
    """
    if not by_id:
        raise TokenizerMetaError("the tokenizer has no tokens")
    top = max(by_id)
    if top >= n_rows:
        raise TokenizerMetaError(
            f"the tokenizer uses id {top} but the model has only {n_rows} embedding rows; "
            "the checkpoint's tokenizer does not belong to this model"
        )
    tokens: list[str] = []
    types: list[int] = []
    for i in range(n_rows):
        text, kind = by_id.get(i, (placeholder(i), UNUSED))
        tokens.append(text)
        types.append(kind)
    return tokens, types


def _is_bytelevel(node: Mapping[str, Any], *, use_regex: bool) -> bool:
    return node.get("type") == "ByteLevel" and bool(node.get("use_regex", True)) is use_regex


def detect_pre(pre_tokenizer: Mapping[str, Any] | None) -> str:
    """The llama.cpp ``tokenizer.ggml.pre`` name whose regex matches this tokenizer.json pre-tokenizer."""
    node = dict(pre_tokenizer or {})
    if _is_bytelevel(node, use_regex=True):
        return "gpt-2"
    if node.get("type") == "Sequence":
        parts = list(node.get("pretokenizers") or ())
        if len(parts) == 2:
            first, second = parts
            if (
                first.get("type") == "Split"
                and (first.get("pattern") or {}).get("Regex") == QWEN2_PATTERN
                and str(first.get("behavior", "")).lower() == "isolated"
                and _is_bytelevel(second, use_regex=False)
            ):
                return "qwen2"
            if (
                first.get("type") == "Digits"
                and first.get("individual_digits") is True
                and _is_bytelevel(second, use_regex=True)
            ):
                return "smollm"
    raise TokenizerMetaError(
        f"no llama.cpp pre-tokenizer reproduces this tokenizer.json pre_tokenizer ({json.dumps(node)[:200]}); "
        "supported: GPT-2 ByteLevel (gpt-2), Qwen2 regex split + ByteLevel (qwen2), "
        "individual digits + ByteLevel (smollm)"
    )


def _merge_strings(merges: Sequence[Any]) -> list[str]:
    # tokenizers >= 0.20 saves merges as pairs; older files as "a b" strings. GGUF wants strings.
    out = []
    for m in merges:
        out.append(" ".join(m) if isinstance(m, (list, tuple)) else str(m))
    return out


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def tokenizer_meta(ckpt_dir: Path, config: Mapping[str, Any] | None = None) -> TokenizerMeta:
    """Read the tokenizer embedded in a checkpoint directory."""
    path = ckpt_dir / "tokenizer.json"
    if not path.is_file():
        raise TokenizerMetaError(
            f"{path} is missing: the checkpoint has no embedded tokenizer, so a GGUF from it "
            "could not tokenize anything"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TokenizerMetaError(f"{path} is not readable JSON: {exc}") from exc
    model = data.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise TokenizerMetaError(f"{path}: model.type is {model.get('type')!r}; only byte-level BPE exports to GGUF")
    pre = detect_pre(data.get("pre_tokenizer"))
    by_id: dict[int, tuple[str, int]] = {int(i): (tok, NORMAL) for tok, i in model["vocab"].items()}
    for added in data.get("added_tokens") or ():
        # Special added tokens are CONTROL (llama.cpp never splits them out of plain text);
        # non-special ones are USER_DEFINED, as llama.cpp's own converter does.
        by_id[int(added["id"])] = (added["content"], CONTROL if added.get("special") else USER_DEFINED)
    ids_by_text = {text: i for i, (text, _) in by_id.items()}

    tok_config: dict[str, Any] = {}
    cfg_path = ckpt_dir / "tokenizer_config.json"
    if cfg_path.is_file():
        tok_config = json.loads(cfg_path.read_text(encoding="utf-8"))
    special: dict[str, int] = {}
    for role, key in (("bos", "bos_token"), ("eos", "eos_token"), ("padding", "pad_token"), ("unknown", "unk_token")):
        text = _token_text(tok_config.get(key))
        if text is not None and text in ids_by_text:
            special[role] = ids_by_text[text]
        elif config is not None and isinstance(config.get(f"{key}_id"), int):
            special[role] = int(config[f"{key}_id"])
    chat = tok_config.get("chat_template")
    jinja = ckpt_dir / "chat_template.jinja"  # newer transformers save the template beside the config
    if not isinstance(chat, str) and jinja.is_file():
        chat = jinja.read_text(encoding="utf-8")
    return TokenizerMeta(
        model="gpt2",
        pre=pre,
        by_id=by_id,
        merges=_merge_strings(model.get("merges") or ()),
        special_ids=special,
        add_bos=bool(tok_config.get("add_bos_token", False)),
        chat_template=chat if isinstance(chat, str) else None,
    )
