"""The default tokenizer engine ("hf"): Hugging Face `tokenizers`, numpy, and a verified tiktoken fast path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.tokenizer import backends
from engines.tokenizer.encode import SAMPLE_BYTES, EncodeCorpus
from engines.tokenizer.importer import ImportHF
from engines.tokenizer.load import LoadedTokenizer, load_tokenizer
from engines.tokenizer.shards import VerifyShards


class HFTokenizerEngine(ImportHF, EncodeCorpus, VerifyShards):
    """import-hf, encode-corpus and verify-shards. Mutants (engines.tokenizer.mutants) subclass it."""

    name = "hf"

    def load(self, source: str | Path, *, lazy: bool = False) -> LoadedTokenizer:
        return load_tokenizer(source, lazy=lazy)

    # -- backend choice ---------------------------------------------------------------------------
    def fast_plan(self, tok: LoadedTokenizer) -> tuple[backends.FastPlan | None, str]:
        return backends.fast_plan(tok.raw)

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return backends.HFBackend(tok)

    def verify_fast(self, fast: backends.FastBackend, tok: LoadedTokenizer, sample: list[str]) -> str:
        """"" when the fast backend gives `tokenizers`' ids on the probes and the corpus sample, else why not."""
        texts, size = list(backends.PROBES), 0
        for text in sample:
            if size >= SAMPLE_BYTES:
                break
            texts.append(text[: SAMPLE_BYTES - size])
            size += len(texts[-1])
        # In this thread, not on the pool: the pool may already be busy with the first chunks.
        ours = [fast.encode_one(text) for text in texts]
        reference = backends.HFBackend(tok).encode_many(texts)
        for text, a, b in zip(texts, ours, reference, strict=True):
            if a.tolist() != b.tolist():
                at = backends.first_difference(a.tolist(), b.tolist())
                return f"ids differ from tokenizers on {text[:40]!r} at position {at}"
        return ""

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int,
                      sample: list[str]) -> tuple[Any, str, Callable[[], str] | None]:
        """The backend to start with, why, and the start-up check still to pass (None: nothing to check).

        The fast path may start encoding before its check has run; encode-corpus runs the
        check before it writes anything and falls back (see :meth:`fallback`) if it fails.
        """
        if requested == "hf":
            return self.hf_backend(tok), "requested with --backend hf", None
        plan, reason = self.fast_plan(tok)
        if plan is None:
            if requested == "fast":
                self.fallback(tok, requested, reason)
            return self.hf_backend(tok), f"tokenizers: {reason}", None
        fast = backends.FastBackend(tok, plan, workers)
        return (fast, f"tiktoken fast path: {reason}; identical ids on the start-up sample",
                lambda: self.verify_fast(fast, tok, sample))

    def fallback(self, tok: LoadedTokenizer, requested: str, problem: str) -> tuple[Any, str]:
        if requested == "fast":
            raise AprError(f"{tok.path}: the tiktoken fast path is not equivalent for this tokenizer: {problem}",
                           hint="use --backend auto (falls back to tokenizers) or --backend hf",
                           falsifier="FALSIFY-TOK-ENCODE-CORPUS-008")
        return self.hf_backend(tok), f"tokenizers: start-up check failed: {problem}"

    def choose_backend(self, tok: LoadedTokenizer, requested: str, workers: int,
                       sample: list[str]) -> tuple[Any, str]:
        """tiktoken only when provably equivalent (structure + start-up check); otherwise `tokenizers`."""
        backend, reason, verify = self.start_backend(tok, requested, workers, sample)
        problem = verify() if verify is not None else ""
        if problem:
            backend.close()
            return self.fallback(tok, requested, problem)
        return backend, reason
