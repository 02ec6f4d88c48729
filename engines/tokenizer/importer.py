"""`apr tokenize import-hf`: a BPE tokenizer.json → vocab.json + merges.txt + tokenizer.json + manifest.json.

Everything is validated before the first byte is written: a non-BPE model
(FALSIFY-TOK-IMPORT-HF-005), a missing ``model.type``, a vocab that is not a
token → id mapping, a malformed merge, or added tokens that collide with the
vocabulary are refused with an :class:`AprError` naming the file, the entry and
the falsifier the check protects. Output goes to a temporary sibling directory
that is renamed into place, so no partial output directory is ever left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import make_staging_dir
from apr_contracts.hashing import sha256_file
from engines.errors import AprError

IMPORT_SCHEMA = "apr.tokenize.import-hf/v1"
MERGES_HEADER = "#version: 0.2"


@dataclass
class ParsedBPE:
    """A validated BPE tokenizer.json, as the importer needs it."""

    source: Path
    raw_bytes: bytes
    data: dict[str, Any]
    vocab: dict[str, int]
    merges: list[tuple[str, str]]
    merges_format: str  # "strings" ("a b") or "pairs" (["a", "b"])
    added: list[tuple[str, int, bool]] = field(default_factory=list)  # content, id, special


@dataclass
class ImportResult:
    output: Path
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "manifest": self.manifest}


def _refuse(source: Path, what: str, *, falsifier: str, hint: str) -> AprError:
    return AprError(f"{source}: {what}; nothing was written", hint=hint, falsifier=falsifier)


class ImportHF:
    """The import-hf algorithm, in small overridable steps (the mutants each break one)."""

    def parse(self, source: Path) -> ParsedBPE:
        """Read and validate ``source``; refuse anything that is not a well-formed BPE tokenizer.json."""
        try:
            raw_bytes = source.read_bytes()
        except OSError as exc:
            raise AprError(f"{source}: cannot read the input: {exc.strerror or exc}",
                           hint="check the --input path") from exc
        try:
            data = json.loads(raw_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _refuse(source, f"not valid UTF-8 JSON ({exc})", falsifier="FALSIFY-TOK-IMPORT-HF-005",
                          hint="pass a Hugging Face tokenizer.json") from exc
        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, dict):
            raise _refuse(source, "no `model` object at the top level: not a Hugging Face tokenizer.json",
                          falsifier="FALSIFY-TOK-IMPORT-HF-005", hint="pass the tokenizer.json of a BPE tokenizer")
        model_type = model.get("type")
        if model_type is None:
            raise _refuse(source, "`model.type` is missing, so the model cannot be proven to be BPE",
                          falsifier="FALSIFY-TOK-IMPORT-HF-005",
                          hint='re-save the tokenizer with `tokenizers` (it writes "type": "BPE")')
        if model_type != "BPE":
            raise _refuse(source, f"model.type is {model_type!r}, not 'BPE': only byte-pair-encoding "
                          "tokenizers have merges to extract", falsifier="FALSIFY-TOK-IMPORT-HF-005",
                          hint="WordPiece/Unigram tokenizers are used directly from their tokenizer.json")
        vocab = self.vocab_of(source, model)
        merges, merges_format = self.merges_of(source, model, vocab)
        added = self.added_of(source, data, vocab)
        return ParsedBPE(source, raw_bytes, data, vocab, merges, merges_format, added)

    def vocab_of(self, source: Path, model: dict[str, Any]) -> dict[str, int]:
        vocab = model.get("vocab")
        if not isinstance(vocab, dict):
            raise _refuse(source, f"model.vocab is a {type(vocab).__name__}, not a token → id mapping",
                          falsifier="FALSIFY-TOK-IMPORT-HF-003", hint="the file is corrupt or not a BPE tokenizer.json")
        if not vocab:
            raise _refuse(source, "model.vocab is empty", falsifier="FALSIFY-TOK-IMPORT-HF-002",
                          hint="import a trained tokenizer")
        seen: dict[int, str] = {}
        for token, token_id in vocab.items():
            if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
                raise _refuse(source, f"model.vocab[{token!r}] = {token_id!r} is not a non-negative integer id",
                              falsifier="FALSIFY-TOK-IMPORT-HF-003", hint="the file is corrupt")
            if token_id in seen:
                raise _refuse(source, f"model.vocab gives id {token_id} to both {seen[token_id]!r} and {token!r}",
                              falsifier="FALSIFY-TOK-IMPORT-HF-003", hint="the file is corrupt")
            seen[token_id] = token
        return dict(vocab)

    def merges_of(self, source: Path, model: dict[str, Any], vocab: dict[str, int]) -> tuple[list[tuple[str, str]], str]:
        """Merges in file order; both encodings found in the wild ("a b" and ["a", "b"]) are accepted."""
        raw = model.get("merges")
        if not isinstance(raw, list):
            raise _refuse(source, f"model.merges is a {type(raw).__name__}, not a list",
                          falsifier="FALSIFY-TOK-IMPORT-HF-004", hint="the file is corrupt")
        merges: list[tuple[str, str]] = []
        kinds: set[str] = set()
        for index, entry in enumerate(raw):
            if isinstance(entry, str):
                parts = entry.split(" ")
                kinds.add("strings")
            elif isinstance(entry, list) and all(isinstance(p, str) for p in entry):
                parts = list(entry)
                kinds.add("pairs")
            else:
                parts = []
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise _refuse(source, f"model.merges[{index}] = {entry!r} is not a merge of two tokens",
                              falsifier="FALSIFY-TOK-IMPORT-HF-004",
                              hint='each merge must be "a b" or ["a", "b"]')
            a, b = parts
            if any(c in token for token in (a, b) for c in " \n\r"):
                raise _refuse(source, f"model.merges[{index}] contains a token with a space or newline, "
                              "which merges.txt cannot represent", falsifier="FALSIFY-TOK-IMPORT-HF-004",
                              hint="only byte-level BPE tokenizers (GPT-2, Qwen, Llama-3 style) can be imported")
            missing = [t for t in (a, b, a + b) if t not in vocab]
            if missing:
                raise _refuse(source, f"model.merges[{index}] = {a!r} + {b!r} uses token(s) not in model.vocab: "
                              f"{missing!r}", falsifier="FALSIFY-TOK-IMPORT-HF-004", hint="the file is corrupt")
            merges.append((a, b))
        return merges, "+".join(sorted(kinds)) or "empty"

    def added_of(self, source: Path, data: dict[str, Any], vocab: dict[str, int]) -> list[tuple[str, int, bool]]:
        raw = data.get("added_tokens") or []
        if not isinstance(raw, list):
            raise _refuse(source, "added_tokens is not a list", falsifier="FALSIFY-TOK-IMPORT-HF-006",
                          hint="the file is corrupt")
        by_id = {i: t for t, i in vocab.items()}
        added: list[tuple[str, int, bool]] = []
        for index, entry in enumerate(raw):
            if not (isinstance(entry, dict) and isinstance(entry.get("content"), str)
                    and isinstance(entry.get("id"), int) and not isinstance(entry.get("id"), bool)):
                raise _refuse(source, f"added_tokens[{index}] = {entry!r} lacks a string content and an integer id",
                              falsifier="FALSIFY-TOK-IMPORT-HF-006", hint="the file is corrupt")
            content, token_id = entry["content"], entry["id"]
            if content in vocab and vocab[content] != token_id:
                raise _refuse(source, f"added token {content!r} has id {token_id} but model.vocab gives it "
                              f"{vocab[content]}", falsifier="FALSIFY-TOK-IMPORT-HF-006", hint="the file is corrupt")
            if content not in vocab and token_id in by_id:
                raise _refuse(source, f"added token {content!r} reuses id {token_id} of {by_id[token_id]!r}",
                              falsifier="FALSIFY-TOK-IMPORT-HF-006", hint="the file is corrupt")
            added.append((content, token_id, bool(entry.get("special", False))))
        return added

    def output_vocab(self, parsed: ParsedBPE, include_added_tokens: bool) -> dict[str, int]:
        """vocab.json: model.vocab, plus (when asked) each added token at its own id."""
        out = dict(parsed.vocab)
        if include_added_tokens:
            for content, token_id, _special in parsed.added:
                out[content] = token_id
        return out

    def output_merges(self, parsed: ParsedBPE) -> list[tuple[str, str]]:
        return list(parsed.merges)

    def source_digest(self, parsed: ParsedBPE) -> str:
        return sha256_file(parsed.source)

    def output_files(self) -> tuple[str, ...]:
        return ("vocab.json", "merges.txt", "tokenizer.json", "manifest.json")

    def import_hf(
        self, source: Path, output: Path, *, include_added_tokens: bool = False, force: bool = False
    ) -> ImportResult:
        source, output = Path(source), Path(output)
        if output.exists() and not force:
            raise AprError(f"{output}: already exists; refusing to overwrite it",
                           hint="pass --force to replace it, or choose another --output", exit_code=1)
        if output.exists() and not output.is_dir():
            raise AprError(f"{output}: exists and is not a directory", hint="choose another --output")
        parsed = self.parse(source)
        vocab_out = self.output_vocab(parsed, include_added_tokens)
        merges_out = self.output_merges(parsed)
        extra = [c for c, _i, _s in parsed.added if c not in parsed.vocab]
        all_ids = [*parsed.vocab.values(), *(i for _c, i, _s in parsed.added)]
        manifest: dict[str, Any] = {
            "schema": IMPORT_SCHEMA,
            "source_path": str(source.resolve()),
            "source_sha256": self.source_digest(parsed),
            "model_type": "BPE",
            "bpe_vocab_count": len(parsed.vocab),
            "merges_count": len(merges_out),
            "merges_format": parsed.merges_format,
            "added_tokens_count": len(parsed.added),
            "added_tokens_not_in_vocab": len(extra),
            "include_added_tokens": include_added_tokens,
            "vocab_json_count": len(vocab_out),
            "effective_vocab_count": len(parsed.vocab) + len(extra),
            "vocab_size": max(all_ids) + 1,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool": "apr tokenize import-hf",
            "tool_version": _tool_version(),
        }
        self.write_output(parsed, output, vocab_out, merges_out, manifest, force=force)
        return ImportResult(output, manifest)

    def write_output(self, parsed: ParsedBPE, output: Path, vocab_out: dict[str, int],
                     merges_out: list[tuple[str, str]], manifest: dict[str, Any], *, force: bool) -> None:
        """Write into a temporary sibling, then rename it into place (no partial directory ever)."""
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_staging_dir(output)  # mkdtemp's 0700 would otherwise become the output's mode
        try:
            files = set(self.output_files())
            if "vocab.json" in files:
                ordered = dict(sorted(vocab_out.items(), key=lambda kv: kv[1]))
                (tmp / "vocab.json").write_text(json.dumps(ordered, ensure_ascii=False), encoding="utf-8")
            if "merges.txt" in files:
                text = "\n".join([MERGES_HEADER, *(f"{a} {b}" for a, b in merges_out)]) + "\n"
                (tmp / "merges.txt").write_text(text, encoding="utf-8")
            if "tokenizer.json" in files:
                (tmp / "tokenizer.json").write_bytes(parsed.raw_bytes)  # the exact source bytes
            if "manifest.json" in files:
                (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            _replace_dir(tmp, output, force=force)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _replace_dir(tmp: Path, output: Path, *, force: bool) -> None:
    if not output.exists():
        os.replace(tmp, output)
        return
    if not force:
        raise AprError(f"{output}: appeared while importing; refusing to overwrite it", hint="pass --force")
    trash = output.with_name(f".{output.name}.old-{os.getpid()}")
    os.replace(output, trash)
    try:
        os.replace(tmp, output)
    except OSError:
        os.replace(trash, output)  # put the previous output back rather than lose it
        raise
    shutil.rmtree(trash, ignore_errors=True)


def _tool_version() -> str:
    try:
        from apr_contracts import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - the engines ship with the core
        return "0+unknown"
