"""Deliberately broken tokenizer engines: each has one realistic defect and otherwise works.

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
from engines.tokenizer import corpus as corpus_mod
from engines.tokenizer.encode import EncodeOptions, EncodeResult
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.estimate import Extrapolation
from engines.tokenizer.importer import ParsedBPE
from engines.tokenizer.load import LoadedTokenizer
from engines.tokenizer.plugin import MUTANTS
from engines.tokenizer.progress import ProgressLines
from engines.tokenizer.shards import ShardWriter

# repair-manifest and shard-format mutants live in their own module; imported here so the plugin
# finds them by class name in this module.
from engines.tokenizer.mutants_shards import (  # noqa: E402,F401
    BigEndianShards,
    HashNotReset,
    RepairCountsLeftovers,
    RepairFloorsTruncated,
    RepairLocalTimestamp,
    RepairReferenceSchema,
    RepairRunId,
    RepairTokensAsBytes,
    RepairTruncatesShard,
    ShufflesUnseeded,
    VerifyVocabInclusive,
)


def _named(cls: type) -> type:
    cls.name = next(k for k, v in MUTANTS.items() if v == cls.__name__)  # type: ignore[attr-defined]
    return cls


# -- import-hf ----------------------------------------------------------------------------------
@_named
class ForgetsManifest(HFTokenizerEngine):
    """Writes vocab.json, merges.txt and tokenizer.json but forgets manifest.json (exit 0)."""

    def output_files(self) -> tuple[str, ...]:
        return ("vocab.json", "merges.txt", "tokenizer.json")


@_named
class EmptyMerges(HFTokenizerEngine):
    """Reads merges from a misspelt key (`model.merge`), so merges.txt has only its header."""

    def merges_of(self, source: Path, model: dict[str, Any], vocab: dict[str, int]) -> tuple[list[tuple[str, str]], str]:
        return super().merges_of(source, {**model, "merges": model.get("merge", [])}, vocab)


@_named
class IgnoresAddedTokens(HFTokenizerEngine):
    """Accepts --include-added-tokens but never adds them to vocab.json."""

    def output_vocab(self, parsed: ParsedBPE, include_added_tokens: bool) -> dict[str, int]:
        return super().output_vocab(parsed, False)


@_named
class DropsLastMerge(HFTokenizerEngine):
    """Off-by-one slice: merges.txt loses the last merge."""

    def output_merges(self, parsed: ParsedBPE) -> list[tuple[str, str]]:
        return list(parsed.merges[:-1])


@_named
class ValidatesAfterWriting(HFTokenizerEngine):
    """Writes vocab.json straight into --output, then checks model.type: a refused input leaves a partial dir."""

    def import_hf(self, source: Path, output: Path, *, include_added_tokens: bool = False, force: bool = False) -> Any:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        Path(output).mkdir(parents=True, exist_ok=True)
        vocab = (data.get("model") or {}).get("vocab") or {}
        (Path(output) / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        return super().import_hf(source, output, include_added_tokens=include_added_tokens, force=True)


@_named
class RenumbersAddedTokens(HFTokenizerEngine):
    """Numbers added tokens from len(model.vocab) instead of keeping their own ids."""

    def output_vocab(self, parsed: ParsedBPE, include_added_tokens: bool) -> dict[str, int]:
        out = dict(parsed.vocab)
        if include_added_tokens:
            for offset, (content, _id, _special) in enumerate(parsed.added):
                out[content] = len(parsed.vocab) + offset
        return out


@_named
class HashesParsedJson(HFTokenizerEngine):
    """Records the sha256 of the re-serialized JSON instead of the input file's bytes."""

    def source_digest(self, parsed: ParsedBPE) -> str:
        return hashlib.sha256(json.dumps(parsed.data, ensure_ascii=False).encode("utf-8")).hexdigest()


@_named
class SortsMerges(HFTokenizerEngine):
    """De-duplicates merges through a sorted set: every merge is there once, but their priority is lost."""

    def output_merges(self, parsed: ParsedBPE) -> list[tuple[str, str]]:
        return sorted(set(parsed.merges))


# -- encode-corpus ------------------------------------------------------------------------------
@_named
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


@_named
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


@_named
class RotatesPastLimit(HFTokenizerEngine):
    """Completes a shard only once it holds more than --shard-tokens ids: a shard ending exactly on N grows on."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _PastLimitWriter(output, shard_tokens, index)


@_named
class VocabSizeIgnoresAdded(HFTokenizerEngine):
    """Takes the vocab size from model.vocab only, forgetting added tokens (so ids can reach the size)."""

    def tokenizer_vocab_size(self, tok: LoadedTokenizer) -> int:
        return int(tok.hf.get_vocab_size(with_added_tokens=False))


class _Int64HashWriter(ShardWriter):
    def hash_part(self, data: Any) -> None:
        self._hash.update(data.astype("int64").tobytes())


@_named
class HashesInt64(HFTokenizerEngine):
    """Hashes each shard's ids as int64 before narrowing to the uint32 bytes it writes."""

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return _Int64HashWriter(output, shard_tokens, index)


@_named
class AddsSpecialTokens(HFTokenizerEngine):
    """Encodes with add_special_tokens=True, so a post-processor's BOS/CLS is added to every document."""

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return backends.HFBackend(tok, add_special_tokens=True)

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: Any = None) -> Any:
        return self.hf_backend(tok), "tokenizers", None


@_named
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


@_named
class ResumeIgnoresTokenizer(HFTokenizerEngine):
    """Resumes whenever the corpus matches, without comparing the tokenizer's sha256."""

    def same_run(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        drop = ("tokenizer_sha256", "eos_id")
        return super().same_run({k: v for k, v in old.items() if k not in drop},
                                {k: v for k, v in new.items() if k not in drop})


@_named
class FastPathUnverified(HFTokenizerEngine):
    """Takes the tiktoken fast path for any byte-level BPE, whatever its normalizer, with no start-up check."""

    def fast_plan(self, tok: LoadedTokenizer) -> tuple[backends.FastPlan | None, str]:
        return backends.fast_plan(tok.raw, allow_any_normalizer=True)

    def verify_fast(self, fast: Any, tok: LoadedTokenizer, sample: list[str]) -> str:
        return ""


@_named
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


@_named
class VerifyCountsOnly(HFTokenizerEngine):
    """verify-shards checks sizes and counts but never the sha256: a flipped byte goes unnoticed."""

    def verify_digest(self, ids: Any, record: dict[str, Any], name: str, problems: list[str]) -> None:
        return None


@_named
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


@_named
class EncodesOneByOne(HFTokenizerEngine):
    """Correct ids, the seed tool's speed: `tokenizers` on one document at a time, in the reading thread."""

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return _OneByOneBackend(tok)

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: Any = None) -> Any:
        return self.hf_backend(tok), "tokenizers, one document at a time", None


# -- encode-corpus: workers, progress lines, --estimate-only (apr-tokenize-parallel-bpe) ---------
class _StridedTiktoken(backends.TiktokenBackend):
    def submit(self, texts: Any) -> Any:
        if self.workers == 1:
            return super().submit(texts)
        # one task per worker over a round-robin slice; the slices are then concatenated, not re-interleaved
        parts = [self.pool.submit(lambda s: [self.encode_one(t) for t in s], list(texts)[w::self.workers])
                 for w in range(self.workers)]
        return lambda: [ids for part in parts for ids in part.result()]


@_named
class StridedWorkers(HFTokenizerEngine):
    """With --workers > 1 the fast path deals documents round-robin to the workers and joins the
    workers' results one after another: every id is right, the document order is not."""

    def fast_backend(self, name: str, tok: LoadedTokenizer, workers: int) -> tuple[Any, str]:
        if name != "tiktoken":
            return super().fast_backend(name, tok, workers)
        plan, reason = self.fast_plan(tok)
        if plan is None:
            raise backends.BackendUnavailable(reason)
        return _StridedTiktoken(tok, plan, workers), reason


@_named
class RefusesWorkersAboveCpus(HFTokenizerEngine):
    """Treats a --workers above the usable CPUs as a usage error (exit 2) instead of running with it."""

    def resolve_workers(self, requested: int | None) -> int:
        from engines.errors import AprError
        from engines.tokenizer.encode import usable_cpus

        workers = super().resolve_workers(requested)
        if workers > usable_cpus():
            raise AprError(f"--workers {workers} exceeds the {usable_cpus()} usable CPUs", exit_code=2)
        return workers


class _LockedTiktoken(backends.TiktokenBackend):
    import threading as _threading

    LOCK = _threading.Lock()

    def encode_one(self, text: str) -> Any:
        with self.LOCK:  # "thread safety": one encode at a time, whatever the pool size
            return super().encode_one(text)


@_named
class SerializedWorkers(HFTokenizerEngine):
    """The fast path's workers share one lock around encoding: correct ids, no speedup from --workers."""

    def fast_backend(self, name: str, tok: LoadedTokenizer, workers: int) -> tuple[Any, str]:
        if name != "tiktoken":
            return super().fast_backend(name, tok, workers)
        plan, reason = self.fast_plan(tok)
        if plan is None:
            raise backends.BackendUnavailable(reason)
        return _LockedTiktoken(tok, plan, workers), reason


@_named
class WorkersFlagIgnored(HFTokenizerEngine):
    """--workers/--num-workers is parsed but never reaches the encoder: always the usable CPUs."""

    def resolve_workers(self, requested: int | None) -> int:
        from engines.tokenizer.encode import usable_cpus

        return usable_cpus()


@_named
class DefaultWorkersCpuCount(HFTokenizerEngine):
    """Default worker count from os.cpu_count(): ignores the affinity mask and cgroup quota."""

    def resolve_workers(self, requested: int | None) -> int:
        import os

        return super().resolve_workers(requested if requested is not None else (os.cpu_count() or 1))


@_named
class ZeroWorkersFallsBack(HFTokenizerEngine):
    """--workers 0 (or less) silently becomes 1 instead of a usage error."""

    def resolve_workers(self, requested: int | None) -> int:
        return super().resolve_workers(None if requested is None else max(1, requested))


class _DocTickOffByOne(ProgressLines):
    def should_emit(self, docs_seen: int, now: float) -> bool:
        return not self.quiet and (docs_seen - self.last_docs > self.interval_docs
                                   or now - self.last_time >= self.interval_seconds)


class _TimeTickMillis(ProgressLines):
    def should_emit(self, docs_seen: int, now: float) -> bool:
        # interval given in seconds, compared as if it were milliseconds
        return not self.quiet and (docs_seen - self.last_docs >= self.interval_docs
                                   or now - self.last_time >= self.interval_seconds * 1000)


class _QuietKeepsFinal(ProgressLines):
    def should_emit(self, docs_seen: int, now: float) -> bool:
        return (docs_seen - self.last_docs >= self.interval_docs
                or now - self.last_time >= self.interval_seconds)

    def tick(self, docs_seen: int, tokens: int) -> bool:
        return False if self.quiet else super().tick(docs_seen, tokens)

    def final(self, docs_seen: int, tokens: int) -> None:
        self._write(self.format_final(docs_seen, tokens, self.clock()))


class _EtaWithoutTotal(ProgressLines):
    def format_line(self, docs_seen: int, tokens: int, now: float) -> str:
        if self.total_docs_hint is not None:
            return super().format_line(docs_seen, tokens, now)
        rate = docs_seen / max(now - self.start, 1e-9)
        return f"[progress] doc={docs_seen}/? tokens={tokens} rate={rate:.1f} docs/s eta=unknown"


def _progress_mutant(cls: type[ProgressLines]) -> type[HFTokenizerEngine]:
    class Engine(HFTokenizerEngine):
        def progress_lines(self, **kw: Any) -> ProgressLines:
            real = super().progress_lines(**kw)
            return cls(real.interval_docs, real.interval_seconds, real.quiet, real.total_docs_hint, real.clock,
                       real.wall, real.stream)
    return Engine


@_named
class DocTickOffByOne(_progress_mutant(_DocTickOffByOne)):  # type: ignore[misc]
    """The document tick fires one document late (`>` where `>=` belongs)."""


@_named
class TimeTickMillis(_progress_mutant(_TimeTickMillis)):  # type: ignore[misc]
    """The time tick compares seconds with the interval taken as milliseconds: slow encodes go silent."""


@_named
class QuietKeepsFinal(_progress_mutant(_QuietKeepsFinal)):  # type: ignore[misc]
    """--quiet mutes the ticks in tick() only: the predicate still says yes and the final line still prints."""


@_named
class EtaWithoutTotal(_progress_mutant(_EtaWithoutTotal)):  # type: ignore[misc]
    """Without a known total the line still carries `/?` and `eta=unknown`."""


@_named
class ShardsFloorDivided(HFTokenizerEngine):
    """--estimate-only counts shards with floor division: one shard short unless tokens are a multiple."""

    def extrapolate(self, sample_size: int, sample_tokens: int, sample_wall: float, total: int,
                    shard_tokens: int, num_workers: int) -> Extrapolation:
        est = super().extrapolate(sample_size, sample_tokens, sample_wall, total, shard_tokens, num_workers)
        shards = est.total_tokens // shard_tokens if shard_tokens > 0 else 0
        return Extrapolation(est.total_tokens, shards, est.wall_seconds)


@_named
class EstimateKeepsSampleShard(HFTokenizerEngine):
    """--estimate-only keeps the encoded sample as shard-00000.bin in --output "for inspection"."""

    def _estimate(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path], workers: int,
                  reference: Any) -> EncodeResult:
        import numpy as np

        result = super()._estimate(opts, tok, files, workers, reference)
        opts.output.mkdir(parents=True, exist_ok=True)
        from engines.tokenizer import corpus as corpus_mod

        docs = corpus_mod.iter_documents(files, text_field=opts.text_field, on_bad_line="skip",
                                         bad=corpus_mod.BadLines())
        texts = [d.text for _i, d in zip(range(opts.estimate_sample_docs), docs, strict=False)]
        ids = [np.asarray(tok.encode(t), dtype="<u4") for t in texts]
        (opts.output / "shard-00000.bin").write_bytes(np.concatenate(ids).tobytes() if ids else b"")
        return result


@_named
class EstimateWritesManifest(HFTokenizerEngine):
    """--estimate-only records its estimate as --output/manifest.json (looks like a finished run)."""

    def _estimate(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path], workers: int,
                  reference: Any) -> EncodeResult:
        result = super()._estimate(opts, tok, files, workers, reference)
        opts.output.mkdir(parents=True, exist_ok=True)
        (opts.output / "manifest.json").write_text(json.dumps({"estimate": result.estimate}), encoding="utf-8")
        return result


@_named
class EstimateSampleIgnored(HFTokenizerEngine):
    """--estimate-sample-docs is not passed on: the estimate times the default 1000 documents."""

    def _estimate(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path], workers: int,
                  reference: Any) -> EncodeResult:
        from dataclasses import replace

        return super()._estimate(replace(opts, estimate_sample_docs=1000), tok, files, workers, reference)


# -- Parquet input (apr-cli-tokenize-encode-corpus-parquet) -------------------------------------
class _CaseSensitiveReader(corpus_mod.ParquetReader):
    def is_parquet(self, path: Path) -> bool:
        return path.suffix == ".parquet"


class _FirstRowGroupReader(corpus_mod.ParquetReader):
    def batches(self, parquet: Any, column: str) -> Any:
        yield from parquet.read_row_group(0, columns=[column]).to_batches()


class _GuessingReader(corpus_mod.ParquetReader):
    def open(self, path: Path, column: str) -> Any:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if column not in parquet.schema_arrow.names:  # "helpfully" falls back to the first text column
            column = next(f.name for f in parquet.schema_arrow if str(f.type) in ("string", "large_string"))
        self.column = column
        return parquet

    def batches(self, parquet: Any, column: str) -> Any:
        yield from super().batches(parquet, getattr(self, "column", column))


class _ReaderMutant(HFTokenizerEngine):
    READER: type[corpus_mod.ParquetReader] = corpus_mod.ParquetReader

    def parquet_reader(self) -> corpus_mod.ParquetReader:
        return self.READER()


@_named
class ParquetSuffixCaseSensitive(_ReaderMutant):
    """Recognises `.parquet` but not `.PARQUET`/`.Parquet`: such a file is read as JSONL."""

    READER = _CaseSensitiveReader


@_named
class ParquetFirstRowGroupOnly(_ReaderMutant):
    """Reads only the first row group of each Parquet file: later rows are silently lost."""

    READER = _FirstRowGroupReader


@_named
class GuessesParquetColumn(_ReaderMutant):
    """A missing --text-field column silently falls back to the first string column."""

    READER = _GuessingReader


@_named
class EncodesMixedFolder(HFTokenizerEngine):
    """A folder with Parquet and JSONL files encodes both (the usual JSONL copy duplicates the corpus)."""

    def discover_corpus(self, paths: list[Path]) -> tuple[list[Path], list[Path]]:
        return corpus_mod.discover(paths, prefer_parquet=False)
