"""`apr bench`: prefill and decode tokens/s with a JSON receipt anyone can re-check.

A checkpoint directory runs on our torch engine; a GGUF runs on llama.cpp (llama-cpp-python)
when it is importable. The receipt keeps every raw sample, the median computed from them, the
sha256 of the model file(s) and of the tool, the machine and the thread count, so the numbers
can be audited rather than trusted.
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.exporter.fixtures import CODE_SAMPLE


@dataclass
class Phase:
    tokens: int
    seconds: list[float]
    tokens_per_s: list[float] = field(default_factory=list)
    median_tokens_per_s: float = 0.0


@dataclass
class BenchReceipt:
    target: str
    runtime: dict[str, Any]
    model: dict[str, Any]
    tool: dict[str, Any]
    machine: dict[str, Any]
    threads: int
    prefill: Phase
    decode: Phase
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["prefill"] = dict(self.prefill.__dict__)
        out["decode"] = dict(self.decode.__dict__)
        return {"version": 1, **out}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_identity(target: Path) -> dict[str, Any]:
    files = [target] if target.is_file() else sorted(p for p in target.iterdir() if p.is_file() and not p.name.startswith("."))
    return {
        "path": str(target),
        "files": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files},
        "sha256": sha256_file(target) if target.is_file() else _combined([sha256_file(p) for p in files]),
    }


def tool_identity() -> dict[str, Any]:
    """Our own code: version plus the sha256 over the engines' source files (what produced the numbers)."""
    from apr_contracts import __version__

    root = Path(__file__).resolve().parents[1]
    sources = sorted(root.rglob("*.py"))
    digest = _combined([f"{p.relative_to(root)}:{sha256_file(p)}" for p in sources])
    return {"name": "apr bench", "version": __version__, "sha256": digest, "source_files": len(sources)}


def _combined(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def median_of(values: Sequence[float]) -> float:
    return float(statistics.median(values))


class Bench:
    """The measuring logic; the engine owns one (a broken engine may swap the summary step)."""

    def summarize(self, tokens: int, seconds: list[float]) -> Phase:
        rates = [tokens / s for s in seconds]
        return Phase(tokens, [round(s, 6) for s in seconds], [round(r, 3) for r in rates], round(median_of(rates), 3))

    def run(self, target: Path, *, prompt_tokens: int, decode_tokens: int, repeats: int, threads: int | None) -> BenchReceipt:
        if prompt_tokens < 1 or decode_tokens < 1 or repeats < 1:
            raise AprError("--prompt-tokens, --decode-tokens and --repeats must be >= 1", exit_code=2)
        threads = threads or min(2, os.cpu_count() or 1)
        if target.is_dir():
            runtime, prefill, decode, notes = self._torch(target, prompt_tokens, decode_tokens, repeats, threads)
        elif target.is_file():
            runtime, prefill, decode, notes = self._llama(target, prompt_tokens, decode_tokens, repeats, threads)
        else:
            raise AprError(f"{target} does not exist", hint="pass a checkpoint directory or a .gguf file")
        return BenchReceipt(
            target=str(target), runtime=runtime, model=model_identity(target), tool=tool_identity(),
            machine=machine(), threads=threads,
            prefill=self.summarize(prompt_tokens, prefill), decode=self.summarize(decode_tokens, decode), notes=notes,
        )

    def _torch(self, ckpt: Path, n_prompt: int, n_decode: int, repeats: int, threads: int) -> tuple[dict[str, Any], list[float], list[float], list[str]]:
        import torch

        from engines.exporter.parity import TorchModel, hf_tokenize

        tm = TorchModel(ckpt, threads=threads)
        prompt = _prompt(lambda t: hf_tokenize(ckpt, t), n_prompt)
        prefill = _timed(lambda: tm.logits(prompt), repeats)
        decode = _timed(lambda: tm.greedy(prompt[: max(1, n_prompt // 4)], n_decode), repeats)
        runtime = {"engine": "torch", "version": torch.__version__}
        return runtime, prefill, decode, ["decode re-runs the full sequence per token (the torch engine has no KV cache)"]

    def _llama(self, path: Path, n_prompt: int, n_decode: int, repeats: int, threads: int) -> tuple[dict[str, Any], list[float], list[float], list[str]]:
        try:
            import llama_cpp
        except ImportError as exc:
            raise AprError(
                f"{path}: benchmarking a GGUF needs llama.cpp, and llama_cpp is not importable",
                hint='install it: CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" pip install --no-cache-dir llama-cpp-python',
            ) from exc
        from engines.exporter.parity import LlamaModel

        lm = LlamaModel(path, n_ctx=n_prompt + n_decode + 8, threads=threads, logits_all=False)
        prompt = _prompt(lm.tokenize, n_prompt)

        def prefill_once() -> None:
            lm.llm.reset()
            lm.llm.eval(prompt)

        prefill = _timed(prefill_once, repeats)
        decode = _timed(lambda: lm.greedy(prompt[: max(1, n_prompt // 4)], n_decode), repeats)
        lib = Path(llama_cpp.__file__).parent / "lib"
        libs = sorted(lib.glob("libllama*")) if lib.is_dir() else []
        runtime = {"engine": "llama.cpp", "version": llama_cpp.__version__,
                   "library_sha256": sha256_file(libs[0]) if libs else None}
        return runtime, prefill, decode, ["decode includes prompt re-evaluation of n_prompt/4 tokens per repeat"]


def _prompt(tokenize: Callable[[str], list[int]], n: int) -> list[int]:
    ids: list[int] = []
    while len(ids) < n:
        ids += tokenize(CODE_SAMPLE)
    return ids[:n]


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    fn()  # warm-up (allocations, lazy init) is not a sample
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
