"""`apr tokenize encode-corpus`: JSONL documents → uint32 shards + manifest.json, resumable.

Order of work: discover corpus files, load the tokenizer, fingerprint both
(sha256), then either start, resume (same fingerprint and a state file), report
"already complete" (same fingerprint and a manifest) or refuse (different
fingerprint, unless ``--force``; see :mod:`engines.tokenizer.resume`). Documents are read by a background thread in
chunks (memory stays flat) and encoded by the chosen backend (see
:mod:`engines.tokenizer.backends`); a fast backend writes nothing before its
start-up check passes and is audited while it runs (:mod:`engines.tokenizer.audit`). After each completed shard the state file
``.encode-state.json`` is replaced atomically with the corpus position of the
next document, so a killed run resumes from its last completed shard and ends
with byte-identical shards. EOS placement (one "unit" per document, shards only
rotate between units): ``after`` = ids + [EOS]; ``between`` = [EOS] + ids for
every document but the first; ``none`` = ids.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_json_atomic
from apr_contracts.hashing import sha256_file
from engines.errors import AprError
from engines.tokenizer import corpus as corpus_mod
from engines.tokenizer.audit import Audit, AuditMismatch
from engines.tokenizer.estimate import Extrapolation, extrapolate_estimate
from engines.tokenizer.load import LoadedTokenizer, resolve_tokenizer_json
from engines.tokenizer.progress import (
    DEFAULT_INTERVAL_DOCS,
    DEFAULT_INTERVAL_SECONDS,
    ProgressLines,
)
from engines.tokenizer.reference import ReferenceProcess
from engines.tokenizer.resume import ResumableOutput
from engines.tokenizer.shards import MANIFEST, STATE, ShardWriter
from engines.tokenizer.workers import WorkerCount

ENCODE_SCHEMA = "apr.tokenize.encode-corpus/v1"
DEFAULT_SHARD_TOKENS = 10_000_000
EOS_POLICIES = ("none", "between", "after")
CHUNK_BYTES = 2 << 20  # documents are read and encoded in ~2 MB chunks
MAX_UNCHECKED_CHUNKS = 16  # chunks encoded ahead of a fast backend's start-up check, held in memory
SAMPLE_BYTES = 128 << 10  # corpus text compared between backends at start-up


@dataclass
class EncodeOptions:
    corpus: list[Path]
    tokenizer: Path
    output: Path
    shard_tokens: int = DEFAULT_SHARD_TOKENS
    text_field: str = "text"
    eos_policy: str = "after"
    workers: int | None = None  # None = number of usable CPUs; 0 or less is refused
    on_bad_line: str = "stop"
    max_docs: int | None = None
    estimate_only: bool = False
    estimate_sample_docs: int = 1000  # documents timed by --estimate-only
    force: bool = False
    backend: str = "auto"  # auto | hf | gigatoken | tiktoken
    audit_every: int = 128  # fast backends: re-encode one document in N with tokenizers (0: no audit)


@dataclass
class EncodeResult:
    output: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    resumed_from_shard: int = 0
    ignored: list[Path] = field(default_factory=list)  # JSONL files left out of a folder read as Parquet
    already_complete: bool = False
    estimate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "resumed_from_shard": self.resumed_from_shard,
                "ignored_files": [str(p) for p in self.ignored],
                "already_complete": self.already_complete, "estimate": self.estimate, "manifest": self.manifest}


class EncodeCorpus(ResumableOutput, WorkerCount):
    """The encode-corpus algorithm (mixin for the engine; mutants override single steps).

    The run's identity and resume state live in :class:`~engines.tokenizer.resume.ResumableOutput`,
    the worker count in :class:`~engines.tokenizer.workers.WorkerCount`.
    """


    def load(self, source: str | Path, *, lazy: bool = False) -> LoadedTokenizer:  # by the engine
        raise NotImplementedError

    def choose_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                       reference: ReferenceProcess | None = None) -> tuple[Any, str]:  # provided by the engine
        raise NotImplementedError

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: ReferenceProcess | None = None) -> tuple[Any, str, Any]:  # by the engine
        raise NotImplementedError

    def early_reference(self, source: Path, requested: str) -> ReferenceProcess | None:
        """The `tokenizers` child for a fast backend's start-up check, started before anything else.

        Its start-up (~0.6 s for Qwen2: interpreter, `tokenizers`, the vocabulary) is the check's
        critical path: begun first, it runs on the other core while this process parses the
        tokenizer and loads the fast backend. None for ``--backend hf``, which needs no check.
        """
        if requested == "hf":
            return None
        path = resolve_tokenizer_json(source)
        return ReferenceProcess(path, sha256_file(path))

    def fallback(self, tok: LoadedTokenizer, requested: str, problem: str) -> tuple[Any, str]:  # by the engine
        raise NotImplementedError

    # -- estimate, corpus discovery, progress (see apr-tokenize-parallel-bpe, -parquet) -------------
    def extrapolate(self, sample_size: int, sample_tokens: int, sample_wall: float, total: int,
                    shard_tokens: int, num_workers: int) -> Extrapolation:
        """The --estimate-only kernel (pure): see :func:`engines.tokenizer.estimate.extrapolate_estimate`."""
        return extrapolate_estimate(sample_size, sample_tokens, sample_wall, total, shard_tokens, num_workers)

    def parquet_reader(self) -> corpus_mod.ParquetReader:
        return corpus_mod.ParquetReader()

    def discover_corpus(self, paths: list[Path]) -> tuple[list[Path], list[Path]]:
        """The files to encode and the ones left out (JSONL beside Parquet in a folder: see corpus.discover)."""
        return corpus_mod.discover(paths, prefer_parquet=True, parquet=self.parquet_reader().is_parquet)

    def progress_lines(self, *, interval_docs: int = DEFAULT_INTERVAL_DOCS,
                       interval_seconds: float = DEFAULT_INTERVAL_SECONDS, quiet: bool = False,
                       total_docs_hint: int | None = None, clock: Callable[[], float] = time.monotonic,
                       wall: Callable[[], float] = time.time, stream: Any = None) -> ProgressLines:
        """The ``[progress]`` line emitter for non-TTY stderr (see :mod:`engines.tokenizer.progress`)."""
        return ProgressLines(interval_docs, interval_seconds, quiet, total_docs_hint, clock, wall, stream)

    def new_writer(self, output: Path, shard_tokens: int, index: int) -> ShardWriter:
        return ShardWriter(output, shard_tokens, index)

    def new_audit(self, backend: Any, tok: LoadedTokenizer, output: Path, every: int) -> Audit | None:
        """The audit of a fast backend that passed its start-up check (None for `tokenizers` itself)."""
        if getattr(backend, "reference", None) is None or every <= 0:
            return None

        def in_process(texts: list[str]) -> list[list[int]]:
            return tok.encode_batch(texts)

        return Audit(backend.reference, in_process, backend.name, output, every=every)

    def tokenizer_vocab_size(self, tok: LoadedTokenizer) -> int:
        return tok.vocab_size

    def encode_corpus(self, options: EncodeOptions, *, progress: Any = None) -> EncodeResult:
        opts = options
        started = time.monotonic()
        if opts.eos_policy not in EOS_POLICIES:
            raise AprError(f"--eos-policy {opts.eos_policy!r} is not one of {', '.join(EOS_POLICIES)}", exit_code=2)
        if opts.shard_tokens < 1:
            raise AprError(f"--shard-tokens must be >= 1, got {opts.shard_tokens}", exit_code=2)
        if opts.audit_every < 0:
            raise AprError(f"--audit-every must be >= 0 (0 turns the audit off), got {opts.audit_every}", exit_code=2)
        workers = self.resolve_workers(opts.workers)
        os.environ.setdefault("RAYON_NUM_THREADS", str(workers))  # HF threads; read when its pool starts
        files, ignored = self.discover_corpus(list(opts.corpus))
        reader = self.parquet_reader()
        for path in files:  # a missing or non-text column fails here, before any output exists
            if reader.is_parquet(path):
                reader.open(path, opts.text_field)
        reference = self.early_reference(opts.tokenizer, opts.backend)
        try:
            result = self._encode_corpus(opts, files, reference, started, workers, progress)
            result.ignored = ignored
            return result
        finally:
            if reference is not None:
                reference.kill()  # a no-op once it has answered and exited; else not needed any more

    def _encode_corpus(self, opts: EncodeOptions, files: list[Path], reference: ReferenceProcess | None,
                       started: float, workers: int, progress: Any) -> EncodeResult:
        tok = self.load(opts.tokenizer, lazy=True)  # `tokenizers` is built once encoding has started
        vocab_size = self.tokenizer_vocab_size(tok)
        if opts.eos_policy != "none" and tok.eos_id is None:
            raise AprError(f"{tok.path}: --eos-policy {opts.eos_policy} needs an end-of-text token, and this "
                           "tokenizer declares none (no tokenizer_config.json eos_token, no <|endoftext|>, </s>...)",
                           hint="pass --eos-policy none, or use a tokenizer with an EOS token",
                           falsifier="FALSIFY-TOK-ENCODE-CORPUS-001")
        if tok.eos_id is not None and opts.eos_policy != "none" and tok.eos_id >= vocab_size:
            raise AprError(f"{tok.path}: EOS id {tok.eos_id} is >= the vocab size {vocab_size}",
                           hint="the tokenizer.json is inconsistent", falsifier="FALSIFY-TOK-ENCODE-CORPUS-003")
        if opts.estimate_only:
            return self._estimate(opts, tok, files, workers, reference)
        fingerprint = self.fingerprint(opts, tok, files)
        out = opts.output
        state = self._prepare_output(out, fingerprint, opts.force)
        if state is not None and state.get("complete"):
            return EncodeResult(out, state["manifest"], len(state["manifest"]["shards"]), already_complete=True)
        state = state or {"schema": ENCODE_SCHEMA, "fingerprint": fingerprint, "shards": [],
                          "next_position": {"file_index": 0, "offset": 0, "line": 1},
                          "documents": 0, "tokens": 0, "eos_count": 0, "resumes": -1,
                          "bad": {"count": 0, "listed": [], "blank": 0}}
        state["resumes"] += 1
        # Recorded before the first shard, so a run killed (or out of disk) before any shard
        # completes is recognised as this run's and resumes, rather than being refused.
        write_json_atomic(out / STATE, state)
        resumed_from = len(state["shards"])
        bad = corpus_mod.BadLines(**state["bad"])
        docs = corpus_mod.iter_documents(files, text_field=opts.text_field, on_bad_line=opts.on_bad_line,
                                         bad=bad, start=self.resume_start(state), reader=self.parquet_reader())
        if isinstance(progress, ProgressLines) and progress.total_docs_hint is None:
            total = corpus_mod.known_total(files, self.parquet_reader().is_parquet)
            if total is not None:
                progress.total_docs_hint = total if opts.max_docs is None else min(total, opts.max_docs)
        writer = self.new_writer(out, opts.shard_tokens, len(state["shards"]))
        total_bytes = sum(c["bytes"] for c in fingerprint["corpus"])
        before = [0]
        for c in fingerprint["corpus"]:
            before.append(before[-1] + c["bytes"])
        eos = self._eos(opts, tok)
        documents, tokens, eos_count = state["documents"], state["tokens"], state["eos_count"]
        backend: Any = None
        reason, startup_s = "", 0.0
        import numpy as np

        eos_array = np.asarray([eos if eos is not None else 0], dtype=np.uint32)
        in_flight: deque[tuple[list[Any], Callable[[], list[Any]]]] = deque()  # (documents, collect ids)
        check: Future[str] | None = None
        audit: Audit | None = None
        audited: dict[str, Any] | None = None

        def settle_check() -> None:
            """Wait for the fast backend's start-up check; on failure redo in-flight chunks elsewhere."""
            nonlocal backend, reason, check, audit
            assert check is not None
            problem, check = check.result(), None
            if problem:
                backend.close()
                backend, reason = self.fallback(tok, opts.backend, problem)
                for i, (chunk_docs, _collect) in enumerate(in_flight):
                    in_flight[i] = (chunk_docs, backend.submit([d.text for d in chunk_docs]))
            else:
                audit = self.new_audit(backend, tok, out, opts.audit_every)

        def write_oldest() -> None:
            nonlocal documents, tokens, eos_count
            done_chunk, collect = in_flight.popleft()
            encoded = collect()
            self._check_ids(encoded, done_chunk, files, vocab_size)
            for doc, ids in zip(done_chunk, encoded, strict=True):
                if audit is not None and audit.wants(documents, doc.text, first_in_shard=writer.documents == 0):
                    audit.offer(f"{files[doc.position.file_index]}:{doc.position.line}", doc.text, ids)
                unit = self.document_unit(ids, eos_array, opts.eos_policy, first=documents == 0)
                size = sum(len(part) for part in unit)
                eos_count += size - len(ids)
                documents += 1
                tokens += size
                for record in writer.add(unit):
                    state["shards"].append(record)
                    state.update(documents=documents, tokens=tokens, eos_count=eos_count,
                                 next_position=doc.next_position.__dict__, bad=bad.__dict__)
                    write_json_atomic(out / STATE, state)
            if progress is not None:
                last = done_chunk[-1].next_position
                progress.update(documents=documents, tokens=tokens,
                                done_bytes=before[last.file_index] + last.offset, total_bytes=total_bytes)

        try:
            for chunk in corpus_mod.read_chunks(docs, opts.max_docs, documents, CHUNK_BYTES):
                texts = [d.text for d in chunk]
                if backend is None:
                    backend, reason, check = self.start_backend(tok, opts.backend, workers, texts, reference)
                    startup_s = time.monotonic() - started
                in_flight.append((chunk, backend.submit(texts)))
                # A fast backend's start-up check runs while its first chunks encode; nothing is
                # written before it has passed (up to MAX_UNCHECKED_CHUNKS wait for it in memory).
                if check is not None and (check.done() or len(in_flight) > MAX_UNCHECKED_CHUNKS):
                    settle_check()
                while check is None and len(in_flight) > 1:  # one chunk stays in flight while writing
                    write_oldest()
            if check is not None:
                settle_check()
            while in_flight:
                write_oldest()
            if audit is not None:
                audited = audit.finish()
            if writer.documents or not state["shards"]:
                state["shards"].append(writer.flush())
            if progress is not None and hasattr(progress, "finish"):
                progress.finish(documents=documents, tokens=tokens)
        except AuditMismatch:
            writer.abort()
            (out / STATE).unlink(missing_ok=True)  # shards written with a wrong backend: not resumable
            raise
        except BaseException:
            writer.abort()
            raise
        finally:
            if backend is not None:
                backend.close()
        manifest = {
            "schema": ENCODE_SCHEMA,
            "tokenizer": {"path": str(tok.path.resolve()), "sha256": tok.sha256, "model_type": tok.model_type,
                          "eos_token": tok.eos_token},
            "corpus": fingerprint["corpus"],
            "input_format": corpus_mod.input_format(files, self.parquet_reader().is_parquet),
            "text_field": opts.text_field, "eos_policy": opts.eos_policy, "eos_id": eos,
            "shard_tokens": opts.shard_tokens, "max_docs": opts.max_docs, "on_bad_line": opts.on_bad_line,
            "vocab_size": vocab_size, "dtype": "uint32-le",
            "documents": documents, "tokens": tokens, "eos_count": eos_count,
            "skipped_lines": bad.count, "bad_lines": bad.listed, "blank_lines": bad.blank,
            "shards": state["shards"],
            "run": {"created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "elapsed_s": round(time.monotonic() - started, 3), "startup_s": round(startup_s, 3),
                    "resumes": state["resumes"],
                    "resumed_from_shard": resumed_from, "backend": getattr(backend, "name", "none"),
                    "backend_reason": reason, "workers": workers,
                    "hf_documents": getattr(backend, "hf_documents", None), "audit": audited,
                    "tool_version": _tool_version()},
        }
        write_json_atomic(out / MANIFEST, manifest)
        (out / STATE).unlink(missing_ok=True)
        return EncodeResult(out, manifest, resumed_from)

    @staticmethod
    def _check_ids(encoded: list[Any], chunk: list[Any], files: list[Path], vocab_size: int) -> None:
        top = max((int(a.max()) for a in encoded if a.size), default=-1)
        if top >= vocab_size:
            i = next(i for i, a in enumerate(encoded) if a.size and int(a.max()) >= vocab_size)
            where = f"{files[chunk[i].position.file_index]}:{chunk[i].position.line}"
            raise AprError(f"id {top} at {where} is >= the tokenizer's vocab size {vocab_size}; "
                           "no shard with it was written", falsifier="FALSIFY-TOK-ENCODE-CORPUS-003",
                           hint="the tokenizer.json is inconsistent (ids beyond vocab + added tokens)")

    def document_unit(self, ids: Any, eos: Any, policy: str, *, first: bool) -> list[Any]:
        """The document's ids and its EOS, as parts (concatenated once per shard, not per document)."""
        if policy == "after":
            return [ids, eos]
        if policy == "between" and not first:
            return [eos, ids]
        return [ids]

    def _estimate(self, opts: EncodeOptions, tok: LoadedTokenizer, files: list[Path], workers: int,
                  reference: ReferenceProcess | None) -> EncodeResult:
        """Time the first ``estimate_sample_docs`` documents on ONE worker and extrapolate
        (:func:`engines.tokenizer.estimate.extrapolate_estimate`). Nothing is written, the output
        folder is not even created: this returns before :meth:`_prepare_output`."""
        if opts.estimate_sample_docs < 1:
            raise AprError(f"--estimate-sample-docs must be >= 1, got {opts.estimate_sample_docs}", exit_code=2,
                           hint="the estimate extrapolates from at least one document")
        bad = corpus_mod.BadLines()
        reader = self.parquet_reader()
        docs = corpus_mod.iter_documents(files, text_field=opts.text_field, on_bad_line="skip", bad=bad,
                                         reader=reader)
        sample = [d for _i, d in zip(range(opts.estimate_sample_docs), docs, strict=False)]
        texts = [d.text for d in sample]
        backend, reason = self.choose_backend(tok, opts.backend, workers, texts, reference)
        try:
            t0 = time.monotonic()
            # one document per call: the sample's time is one worker's, the kernel divides by the workers
            encoded = [ids for text in texts for ids in backend.encode_many([text])]
            sample_wall = time.monotonic() - t0
        finally:
            backend.close()
        sample_tokens = sum(len(a) for a in encoded) + (len(sample) if opts.eos_policy != "none" else 0)
        input_docs = corpus_mod.known_total(files, reader.is_parquet)
        if input_docs is not None:  # Parquet footers give the row count: extrapolate per document
            unit, sample_size, total = "documents", len(sample), input_docs
        else:  # JSONL: per byte of the files (sizes are exact without reading the corpus twice)
            unit, total = "bytes", sum(p.stat().st_size for p in files)
            sample_size = sum(d.next_position.offset - d.position.offset if not reader.is_parquet(files[
                d.position.file_index]) else len(d.text.encode()) for d in sample)
        if opts.max_docs is not None and input_docs is not None:
            total = min(total, opts.max_docs)
        # gigatoken encodes on one thread whatever --workers says (see backends.GigatokenBackend)
        parallel = 1 if backend.name == "gigatoken" else workers
        est = self.extrapolate(sample_size, sample_tokens, sample_wall, total, opts.shard_tokens, parallel)
        estimate = {"unit": unit, "input_docs": input_docs, "corpus_units": total, "corpus_bytes":
                    sum(p.stat().st_size for p in files), "sample_documents": len(sample), "sample_size": sample_size,
                    "sample_tokens": sample_tokens, "sample_wall_s": round(sample_wall, 6),
                    "tokens_per_byte": round(sample_tokens / sample_size, 4) if unit == "bytes" and sample_size
                    else None, "estimated_tokens": est.total_tokens, "estimated_shards": est.shards,
                    "shard_tokens": opts.shard_tokens, "estimated_seconds": round(est.wall_seconds, 3),
                    "workers": workers, "parallel_workers": parallel, "backend": backend.name,
                    "backend_reason": reason, "vocab_size": tok.vocab_size}
        return EncodeResult(opts.output, estimate=estimate)


def _tool_version() -> str:
    from apr_contracts import __version__

    return str(__version__)
