"""Broken tokenizer engines for import-hf and encode-corpus's shards, resume, verify and fast path:
each has one realistic defect and otherwise works (registered by :mod:`engines.tokenizer.plugin`).

They exist so that every falsifier can be shown to fail (FALSIFIED) against an
engine that is wrong in the way the falsifier's claim forbids. None of them
merely raises: each exits 0 (or fails exactly where the real engine would) while
producing a wrong result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engines.tokenizer import backends
from engines.tokenizer.encode import EncodeOptions, EncodeResult
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.importer import ParsedBPE
from engines.tokenizer.load import LoadedTokenizer
from engines.tokenizer.shards import ShardWriter


# -- import-hf ----------------------------------------------------------------------------------
class ForgetsManifest(HFTokenizerEngine):
    """Writes vocab.json, merges.txt and tokenizer.json but forgets manifest.json (exit 0)."""

    def output_files(self) -> tuple[str, ...]:
        return ("vocab.json", "merges.txt", "tokenizer.json")


class EmptyMerges(HFTokenizerEngine):
    """Reads merges from a misspelt key (`model.merge`), so merges.txt has only its header."""

    def merges_of(self, source: Path, model: dict[str, Any], vocab: dict[str, int]) -> tuple[list[tuple[str, str]], str]:
        return super().merges_of(source, {**model, "merges": model.get("merge", [])}, vocab)


class IgnoresAddedTokens(HFTokenizerEngine):
    """Accepts --include-added-tokens but never adds them to vocab.json."""

    def output_vocab(self, parsed: ParsedBPE, include_added_tokens: bool) -> dict[str, int]:
        return super().output_vocab(parsed, False)


class DropsLastMerge(HFTokenizerEngine):
    """Off-by-one slice: merges.txt loses the last merge."""

    def output_merges(self, parsed: ParsedBPE) -> list[tuple[str, str]]:
        return list(parsed.merges[:-1])


class ValidatesAfterWriting(HFTokenizerEngine):
    """Writes vocab.json straight into --output, then checks model.type: a refused input leaves a partial dir."""

    def import_hf(self, source: Path, output: Path, *, include_added_tokens: bool = False, force: bool = False) -> Any:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        Path(output).mkdir(parents=True, exist_ok=True)
        vocab = (data.get("model") or {}).get("vocab") or {}
        (Path(output) / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        return super().import_hf(source, output, include_added_tokens=include_added_tokens, force=True)


class RenumbersAddedTokens(HFTokenizerEngine):
    """Numbers added tokens from len(model.vocab) instead of keeping their own ids."""

    def output_vocab(self, parsed: ParsedBPE, include_added_tokens: bool) -> dict[str, int]:
        out = dict(parsed.vocab)
        if include_added_tokens:
            for offset, (content, _id, _special) in enumerate(parsed.added):
                out[content] = len(parsed.vocab) + offset
        return out


class HashesParsedJson(HFTokenizerEngine):
    """Records the sha256 of the re-serialized JSON instead of the input file's bytes."""

    def source_digest(self, parsed: ParsedBPE) -> str:
        return hashlib.sha256(json.dumps(parsed.data, ensure_ascii=False).encode("utf-8")).hexdigest()


class SortsMerges(HFTokenizerEngine):
    """De-duplicates merges through a sorted set: every merge is there once, but their priority is lost."""

    def output_merges(self, parsed: ParsedBPE) -> list[tuple[str, str]]:
        return sorted(set(parsed.merges))


# -- encode-corpus ------------------------------------------------------------------------------
class EosBetweenAsAfter(HFTokenizerEngine):
    """`--eos-policy between` puts an EOS after every document, the last one included (N instead of N-1)."""

    def document_unit(self, ids: Any, eos: Any, policy: str, *, first: bool) -> list[Any]:
        return super().document_unit(ids, eos, "after" if policy == "between" else policy, first=first)


class _SplittingWriter(ShardWriter):
    def add(self, unit: list[Any]) -> list[dict[str, Any]]:
        import numpy as np

        ids = np.concatenate(unit)
        records = []
        while self.tokens + len(ids) >= self.shard_tokens:  # cuts at exactly N ids, inside the document
            take = self.shard_tokens - self.tokens
            self.append(ids[:take])
            self.documents += 1
            records.append(self.flush())
            ids = ids[take:]
        if len(ids):
            self.append(ids)
            self.documents += 1
        return records


class SplitsDocuments(HFTokenizerEngine):
    """Rotates shards at exactly --shard-tokens ids, splitting a document across two shards."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _SplittingWriter(output, shard_tokens, index)


class _PastLimitWriter(ShardWriter):
    def add(self, unit: list[Any]) -> list[dict[str, Any]]:
        for part in unit:
            self.append(part)
        self.documents += 1
        return [self.flush()] if self.tokens > self.shard_tokens else []  # `>` where the limit is `>=`


class RotatesPastLimit(HFTokenizerEngine):
    """Completes a shard only once it holds more than --shard-tokens ids: a shard ending exactly on N grows on."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _PastLimitWriter(output, shard_tokens, index)


class VocabSizeIgnoresAdded(HFTokenizerEngine):
    """Takes the vocab size from model.vocab only, forgetting added tokens (so ids can reach the size)."""

    def tokenizer_vocab_size(self, tok: LoadedTokenizer) -> int:
        return int(tok.hf.get_vocab_size(with_added_tokens=False))


class _Int64HashWriter(ShardWriter):
    def hash_part(self, data: Any) -> None:
        self._hash.update(data.astype("int64").tobytes())


class HashesInt64(HFTokenizerEngine):
    """Hashes each shard's ids as int64 before narrowing to the uint32 bytes it writes."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _Int64HashWriter(output, shard_tokens, index)


class AddsSpecialTokens(HFTokenizerEngine):
    """Encodes with add_special_tokens=True, so a post-processor's BOS/CLS is added to every document."""

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return backends.HFBackend(tok, add_special_tokens=True)

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: Any = None) -> Any:
        return self.hf_backend(tok), "tokenizers", None


class ResumeSkipsADocument(HFTokenizerEngine):
    """On resume, starts one line after the recorded position (off by one: a document is lost)."""

    def resume_start(self, state: dict[str, Any]) -> Any:
        from engines.tokenizer.corpus import Position

        pos = Position(**state["next_position"])
        if not state["shards"]:
            return pos
        files = [Path(c["path"]) for c in state["fingerprint"]["corpus"]]
        with open(files[pos.file_index], "rb") as handle:
            handle.seek(pos.offset)
            skipped = len(handle.readline())
        return Position(pos.file_index, pos.offset + skipped, pos.line + 1)


class ResumeIgnoresTokenizer(HFTokenizerEngine):
    """Resumes whenever the corpus matches, without comparing the tokenizer's sha256."""

    def same_run(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        drop = ("tokenizer_sha256", "eos_id")
        return super().same_run({k: v for k, v in old.items() if k not in drop},
                                {k: v for k, v in new.items() if k not in drop})


class FastPathUnverified(HFTokenizerEngine):
    """Takes the tiktoken fast path for any byte-level BPE, whatever its normalizer, with no start-up check."""

    def fast_plan(self, tok: LoadedTokenizer) -> tuple[backends.FastPlan | None, str]:
        return backends.fast_plan(tok.raw, allow_any_normalizer=True)

    def verify_fast(self, fast: Any, tok: LoadedTokenizer, sample: list[str]) -> str:
        return ""


class DropsBadLines(HFTokenizerEngine):
    """Silently drops malformed JSONL lines (no error under `stop`, not counted under `skip`)."""

    def encode_corpus(self, options: EncodeOptions, *, progress: Any = None) -> EncodeResult:
        from engines.tokenizer import corpus

        original = corpus._parse

        def lenient(raw: bytes, text_field: str) -> tuple[str, str]:
            text, problem = original(raw, text_field)
            return (text, "") if not problem else ("", "")

        corpus._parse = lenient  # the defect: every line parses, malformed ones as empty documents
        try:
            return super().encode_corpus(options, progress=progress)
        finally:
            corpus._parse = original


class VerifyCountsOnly(HFTokenizerEngine):
    """verify-shards checks sizes and counts but never the sha256: a flipped byte goes unnoticed."""

    def verify_digest(self, ids: Any, record: dict[str, Any], name: str, problems: list[str]) -> None:
        return None


class SkipsNfc(HFTokenizerEngine):
    """The tiktoken fast path without the tokenizer's NFC normalizer, unchecked and unaudited
    (decomposed accents then split differently: 4 standard-library files get other ids)."""

    FAST_BACKENDS = ("tiktoken",)

    def fast_plan(self, tok: LoadedTokenizer) -> tuple[backends.FastPlan | None, str]:
        plan, reason = backends.fast_plan(tok.raw)
        if plan is not None:
            plan.normalizer = ""
        return plan, reason

    def verify_fast(self, fast: Any, tok: LoadedTokenizer, sample: list[str]) -> str:
        return ""

    def new_audit(self, backend: Any, tok: LoadedTokenizer, output: Path, every: int) -> Any:
        return None


class _OneByOneBackend(backends.HFBackend):
    def encode_many(self, texts: Any) -> list[Any]:
        import numpy as np

        return [np.asarray(self.tok.hf.encode(t, add_special_tokens=False).ids, dtype=np.uint32) for t in texts]

    def submit(self, texts: Any) -> Any:
        ids = self.encode_many(texts)
        return lambda: ids


class EncodesOneByOne(HFTokenizerEngine):
    """Correct ids, the seed tool's speed: `tokenizers` on one document at a time, in the reading thread."""

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return _OneByOneBackend(tok)

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: Any = None) -> Any:
        return self.hf_backend(tok), "tokenizers, one document at a time", None
