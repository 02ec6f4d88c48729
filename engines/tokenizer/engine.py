"""The default tokenizer engine ("hf"): Hugging Face `tokenizers`, numpy, and verified fast backends."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.tokenizer import backends
from engines.tokenizer.encode import SAMPLE_BYTES, EncodeCorpus
from engines.tokenizer.importer import ImportHF
from engines.tokenizer.load import LoadedTokenizer, load_tokenizer
from engines.tokenizer.reference import ReferenceProcess
from engines.tokenizer.repair import RepairManifest
from engines.tokenizer.shards import VerifyShards


class HFTokenizerEngine(ImportHF, EncodeCorpus, VerifyShards, RepairManifest):
    """import-hf, encode-corpus, verify-shards and repair-manifest. Mutants (engines.tokenizer.mutants) subclass it."""

    name = "hf"

    def load(self, source: str | Path, *, lazy: bool = False) -> LoadedTokenizer:
        return load_tokenizer(source, lazy=lazy)

    # -- backend choice ---------------------------------------------------------------------------
    FAST_BACKENDS: tuple[str, ...] = ("gigatoken", "tiktoken")  # in order of preference for --backend auto

    def fast_plan(self, tok: LoadedTokenizer) -> tuple[backends.FastPlan | None, str]:
        return backends.fast_plan(tok.raw)

    def hf_backend(self, tok: LoadedTokenizer) -> Any:
        return backends.HFBackend(tok)

    def fast_backend(self, name: str, tok: LoadedTokenizer, workers: int) -> tuple[Any, str]:
        """Fast backend ``name`` for this tokenizer and why it may serve it; BackendUnavailable if it cannot."""
        if tok.model_type != "BPE":
            raise backends.BackendUnavailable(f"model.type is {tok.model_type!r}, not BPE")
        if name == "gigatoken":
            return backends.GigatokenBackend(tok, workers), "gigatoken loads this tokenizer.json"
        plan, reason = self.fast_plan(tok)
        if plan is None:
            raise backends.BackendUnavailable(reason)
        return backends.TiktokenBackend(tok, plan, workers), reason

    def verify_fast(self, fast: Any, tok: LoadedTokenizer, sample: list[str]) -> str:
        """"" when the fast backend gives `tokenizers`' ids on the probes and the corpus sample, else why not.

        The reference ids come from the backend's child process (:mod:`engines.tokenizer.reference`)
        so that building `tokenizers` does not hold this process's GIL; in-process if it fails.
        """
        texts, size = [*backends.PROBES, *backends.added_token_probes(tok.added_tokens)], 0
        for text in sample:
            if size >= SAMPLE_BYTES:
                break
            texts.append(text[: SAMPLE_BYTES - size])
            size += len(texts[-1])
        # Through the backend's own pool (gigatoken is not re-entrant), queued behind the chunks
        # already submitted, while the reference is computed.
        collect = fast.submit(texts)
        expected = fast.reference.ask(texts).result() if fast.reference is not None else None
        if expected is None:
            expected = [a.tolist() for a in backends.HFBackend(tok).encode_many(texts)]
        for text, a, b in zip(texts, collect(), expected, strict=True):
            ours = a.tolist()
            if ours != b:
                return f"{fast.name}: ids differ from tokenizers on {text[:40]!r} at position " \
                       f"{backends.first_difference(ours, b)}"
        return ""

    def start_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                      reference: ReferenceProcess | None = None) -> tuple[Any, str, Future[str] | None]:
        """The backend to start with, why, and its start-up check, already running (None: nothing to check).

        The check is :meth:`verify_fast` in a thread; its result is "" or the problem found.

        ``auto`` takes the first fast backend (:attr:`FAST_BACKENDS`) that can serve the
        tokenizer, else `tokenizers`; a named fast backend that cannot is refused. The fast
        path may start encoding before its check has run; encode-corpus runs the check
        before it writes anything and falls back (see :meth:`fallback`) if it fails.
        ``reference``: a child already started for this very file (see encode-corpus); the
        fast backend takes it over, otherwise one is started here.
        """
        if requested == "hf":
            return self.hf_backend(tok), "requested with --backend hf", None
        names = self.FAST_BACKENDS if requested == "auto" else (requested,)
        why_not: list[str] = []
        for name in names:
            try:
                fast, reason = self.fast_backend(name, tok, workers)
            except backends.BackendUnavailable as exc:
                why_not.append(f"{name}: {exc}")
                continue
            if reference is None or reference.sha256 != tok.sha256:
                reference = ReferenceProcess(tok.path, tok.sha256)
            fast.reference = reference  # serves the check, then the audit
            checker = ThreadPoolExecutor(1, thread_name_prefix="apr-check")
            check = checker.submit(self.verify_fast, fast, tok, sample)
            checker.shutdown(wait=False)  # the submitted check still runs
            return fast, f"{name} fast path: {reason}; identical ids on the start-up sample", check
        if requested != "auto":
            self.fallback(tok, requested, "; ".join(why_not))
        return self.hf_backend(tok), f"tokenizers: no fast backend ({'; '.join(why_not)})", None

    def fallback(self, tok: LoadedTokenizer, requested: str, problem: str) -> tuple[Any, str]:
        if requested != "auto":
            raise AprError(f"{tok.path}: --backend {requested} is not equivalent for this tokenizer: {problem}",
                           hint="use --backend auto (falls back to tokenizers) or --backend hf",
                           falsifier="FALSIFY-TOK-ENCODE-CORPUS-008")
        return self.hf_backend(tok), f"tokenizers: start-up check failed: {problem}"

    def choose_backend(self, tok: LoadedTokenizer, requested: str, workers: int, sample: list[str],
                       reference: ReferenceProcess | None = None) -> tuple[Any, str]:
        """A fast backend only once its start-up check has passed; otherwise `tokenizers` (or a refusal)."""
        backend, reason, check = self.start_backend(tok, requested, workers, sample, reference)
        problem = check.result() if check is not None else ""
        if problem:
            backend.close()
            return self.fallback(tok, requested, problem)
        return backend, reason
