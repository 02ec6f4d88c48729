"""Deliberately broken tokenizer engines for encode-corpus's workers, progress lines, --estimate-only
and Parquet input (apr-tokenize-parallel-bpe, apr-cli-tokenize-encode-corpus-parquet): one defect each.

Kept apart from :mod:`engines.tokenizer.mutants` (which imports them, so the plugin finds them
there by class name). None merely raises: each exits 0 with a plausible wrong result, or refuses
what it should accept, or accepts what it should refuse.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from engines.tokenizer import backends
from engines.tokenizer import corpus as corpus_mod
from engines.tokenizer.encode import EncodeOptions, EncodeResult
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.estimate import Extrapolation
from engines.tokenizer.load import LoadedTokenizer
from engines.tokenizer.progress import ProgressLines


# -- encode-corpus: workers, progress lines, --estimate-only (apr-tokenize-parallel-bpe) ---------
class _TiktokenSwapped(HFTokenizerEngine):
    """An engine whose tiktoken fast path is built from ``BACKEND`` (a broken TiktokenBackend)."""

    BACKEND: type[backends.TiktokenBackend] = backends.TiktokenBackend

    def fast_backend(self, name: str, tok: LoadedTokenizer, workers: int) -> tuple[Any, str]:
        if name != "tiktoken":
            return super().fast_backend(name, tok, workers)
        plan, reason = self.fast_plan(tok)
        if plan is None:
            raise backends.BackendUnavailable(reason)
        return self.BACKEND(tok, plan, workers), reason


class _StridedTiktoken(backends.TiktokenBackend):
    def submit(self, texts: Any) -> Any:
        if self.workers == 1:
            return super().submit(texts)
        # one task per worker over a round-robin slice; the slices are then concatenated, not re-interleaved
        parts = [self.pool.submit(lambda s: [self.encode_one(t) for t in s], list(texts)[w::self.workers])
                 for w in range(self.workers)]
        return lambda: [ids for part in parts for ids in part.result()]


class StridedWorkers(_TiktokenSwapped):
    """With --workers > 1 the fast path deals documents round-robin to the workers and joins the
    workers' results one after another: every id is right, the document order is not."""

    BACKEND = _StridedTiktoken


class RefusesWorkersAboveCpus(HFTokenizerEngine):
    """Treats a --workers above the usable CPUs as a usage error (exit 2) instead of running with it."""

    def resolve_workers(self, requested: int | None) -> int:
        from engines.errors import AprError
        from engines.tokenizer.workers import usable_cpus

        workers = super().resolve_workers(requested)
        if workers > usable_cpus():
            raise AprError(f"--workers {workers} exceeds the {usable_cpus()} usable CPUs", exit_code=2)
        return workers


class _LockedTiktoken(backends.TiktokenBackend):
    LOCK = threading.Lock()

    def encode_one(self, text: str) -> Any:
        with self.LOCK:  # "thread safety": one encode at a time, whatever the pool size
            return super().encode_one(text)


class _SharedEncoderTiktoken(backends.TiktokenBackend):
    def _encode_buffer(self, text: str, allowed: set[str]) -> Any:
        return self.encoding._core_bpe.encode_to_tiktoken_buffer(text, allowed)  # one encoder for the pool


class SharedEncoderPool(_TiktokenSwapped):
    """The pool's workers share one tiktoken encoder (what the engine did until issue 11): its regex
    serves one thread fast and the rest slowly, so 2 workers encode no faster than 1. How slowly depends on
    the machine (the contention is inside the regex crate), so no test requires FALSIFY-APR-TOK-PAR-002 to
    catch it everywhere."""

    BACKEND = _SharedEncoderTiktoken


class SerializedWorkers(_TiktokenSwapped):
    """The fast path's workers share one lock around encoding: correct ids, no speedup from --workers."""

    BACKEND = _LockedTiktoken


class WorkersFlagIgnored(HFTokenizerEngine):
    """--workers/--num-workers is parsed but never reaches the encoder: always the usable CPUs."""

    def resolve_workers(self, requested: int | None) -> int:
        from engines.tokenizer.workers import usable_cpus

        return usable_cpus()


class DefaultWorkersCpuCount(HFTokenizerEngine):
    """Default worker count from os.cpu_count(): ignores the affinity mask and cgroup quota."""

    def resolve_workers(self, requested: int | None) -> int:
        import os

        return super().resolve_workers(requested if requested is not None else (os.cpu_count() or 1))


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


class DocTickOffByOne(_progress_mutant(_DocTickOffByOne)):  # type: ignore[misc]
    """The document tick fires one document late (`>` where `>=` belongs)."""


class TimeTickMillis(_progress_mutant(_TimeTickMillis)):  # type: ignore[misc]
    """The time tick compares seconds with the interval taken as milliseconds: slow encodes go silent."""


class QuietKeepsFinal(_progress_mutant(_QuietKeepsFinal)):  # type: ignore[misc]
    """--quiet mutes the ticks in tick() only: the predicate still says yes and the final line still prints."""


class EtaWithoutTotal(_progress_mutant(_EtaWithoutTotal)):  # type: ignore[misc]
    """Without a known total the line still carries `/?` and `eta=unknown`."""


class ShardsFloorDivided(HFTokenizerEngine):
    """--estimate-only counts shards with floor division: one shard short unless tokens are a multiple."""

    def extrapolate(self, sample_size: int, sample_tokens: int, sample_wall: float, total: int,
                    shard_tokens: int, num_workers: int) -> Extrapolation:
        est = super().extrapolate(sample_size, sample_tokens, sample_wall, total, shard_tokens, num_workers)
        shards = est.total_tokens // shard_tokens if shard_tokens > 0 else 0
        return Extrapolation(est.total_tokens, shards, est.wall_seconds)


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


class EstimateWritesManifest(HFTokenizerEngine):
    """--estimate-only records its estimate as --output/manifest.json (looks like a finished run)."""

    def _estimate(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path], workers: int,
                  reference: Any) -> EncodeResult:
        result = super()._estimate(opts, tok, files, workers, reference)
        opts.output.mkdir(parents=True, exist_ok=True)
        (opts.output / "manifest.json").write_text(json.dumps({"estimate": result.estimate}), encoding="utf-8")
        return result


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


class ParquetSuffixCaseSensitive(_ReaderMutant):
    """Recognises `.parquet` but not `.PARQUET`/`.Parquet`: such a file is read as JSONL."""

    READER = _CaseSensitiveReader


class ParquetFirstRowGroupOnly(_ReaderMutant):
    """Reads only the first row group of each Parquet file: later rows are silently lost."""

    READER = _FirstRowGroupReader


class GuessesParquetColumn(_ReaderMutant):
    """A missing --text-field column silently falls back to the first string column."""

    READER = _GuessingReader


class EncodesMixedFolder(HFTokenizerEngine):
    """A folder with Parquet and JSONL files encodes both (the usual JSONL copy duplicates the corpus)."""

    def discover_corpus(self, paths: list[Path]) -> tuple[list[Path], list[Path]]:
        return corpus_mod.discover(paths, prefer_parquet=False)
