"""`apr bench`: prefill and decode tokens/s with a JSON receipt anyone can re-check.

A checkpoint directory runs on our torch engine; a GGUF runs on llama.cpp (llama-cpp-python)
when it is importable. The receipt keeps every raw sample, the median computed from them, the
sha256 of the model file(s) and of the tool, the machine and the thread count, so the numbers
can be audited rather than trusted.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.hashing import sha256_file, sha256_text
from engines.errors import AprError
from engines.exporter.fixtures import CODE_SAMPLE


@dataclass
class Phase:
    tokens: int
    seconds: list[float]
    tokens_per_s: list[float] = field(default_factory=list)
    median_tokens_per_s: float = 0.0
    samples_ms: list[float] = field(default_factory=list)  # the raw timings; the summary is recomputable from them
    n: int = 0
    runs_discarded: int = 0  # warm-up is not a run; nothing is discarded today


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
    provenance: dict[str, Any] = field(default_factory=dict)  # compute_class (the path taken) + feature_set
    comparability: str = "single-run"
    comparison: dict[str, Any] | None = None
    threshold: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if not (k in ("comparison", "threshold") and v is None)}
        out["prefill"] = dict(self.prefill.__dict__)
        out["decode"] = dict(self.decode.__dict__)
        return {"version": 2, **out}


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
    return sha256_text("\n".join(parts))


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

    def __init__(self) -> None:
        from engines.exporter.receipt import ReceiptValidator

        self.validator = ReceiptValidator()

    def summarize(self, tokens: int, seconds: list[float]) -> Phase:
        # Samples are written at 0.1 µs resolution and every summary is computed from them AS
        # WRITTEN, so anyone can recompute the median from the receipt exactly.
        samples_ms = [round(s * 1000.0, 4) for s in seconds]
        rates = [tokens / (ms / 1000.0) for ms in samples_ms]
        return Phase(tokens, [round(s, 6) for s in seconds], [round(r, 3) for r in rates], round(median_of(rates), 3),
                     samples_ms=samples_ms, n=len(samples_ms))

    def provenance(self, runtime: dict[str, Any]) -> dict[str, Any]:
        """compute_class from the device the work actually ran on (recorded by the runner), never from flags."""
        from engines.exporter.receipt import compute_class

        features = list(runtime.get("features") or ["cpu"])
        return {"compute_class": compute_class(str(runtime.get("device", "unknown")), features),
                "feature_set": features, "device": runtime.get("device")}

    def run(self, target: Path, *, prompt_tokens: int, decode_tokens: int, repeats: int, threads: int | None,
            baseline: dict[str, Any] | None = None, threshold: float | None = None) -> BenchReceipt:
        if prompt_tokens < 1 or decode_tokens < 1 or repeats < 1:
            raise AprError("--prompt-tokens, --decode-tokens and --repeats must be >= 1", exit_code=2)
        if threshold is not None and baseline is None:
            raise AprError("--threshold needs --baseline (a receipt to compare with)", exit_code=2)
        threads = threads or min(2, os.cpu_count() or 1)
        if target.is_dir():
            runtime, prefill, decode, notes = self._torch(target, prompt_tokens, decode_tokens, repeats, threads)
        elif target.is_file():
            runtime, prefill, decode, notes = self._llama(target, prompt_tokens, decode_tokens, repeats, threads)
        else:
            raise AprError(f"{target} does not exist", hint="pass a checkpoint directory or a .gguf file")
        receipt = BenchReceipt(
            target=str(target), runtime=runtime, model=model_identity(target), tool=tool_identity(),
            machine=machine(), threads=threads,
            prefill=self.summarize(prompt_tokens, prefill), decode=self.summarize(decode_tokens, decode), notes=notes,
            provenance=self.provenance(runtime),
        )
        if baseline is not None:
            self.compare(receipt, baseline, threshold)
        return receipt

    def compare(self, receipt: BenchReceipt, baseline: dict[str, Any], threshold: float | None) -> None:
        from engines.exporter.receipt import compare

        problems = self.validator.validate(baseline)
        if problems:
            raise AprError("the --baseline receipt is not evidence: " + "; ".join(problems[:4]),
                           hint="re-run `apr bench --format json` to get a complete receipt")
        fields = compare(receipt.to_json(), baseline, threshold)
        receipt.comparability = fields["comparability"]
        receipt.comparison = fields["comparison"]
        receipt.threshold = fields.get("threshold")
        receipt.notes += fields.get("notes", [])

    def _torch(self, ckpt: Path, n_prompt: int, n_decode: int, repeats: int, threads: int) -> tuple[dict[str, Any], list[float], list[float], list[str]]:
        import torch

        from engines.exporter.parity import TorchModel, hf_tokenize

        tm = TorchModel(ckpt, threads=threads)
        prompt = _prompt(lambda t: hf_tokenize(ckpt, t), n_prompt)
        prefill = _timed(lambda: tm.logits(prompt), repeats)
        decode = _timed(lambda: tm.greedy(prompt[: max(1, n_prompt // 4)], n_decode), repeats)
        from engines.exporter.receipt import torch_features

        device = next(tm.model.parameters()).device.type  # where the weights ARE, i.e. the path taken
        runtime = {"engine": "torch", "version": torch.__version__, "device": device, "features": torch_features()}
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
        offload = bool(getattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)())
        runtime = {"engine": "llama.cpp", "version": llama_cpp.__version__,
                   "library_sha256": sha256_file(libs[0]) if libs else None,
                   # n_gpu_layers is left at 0: every layer runs on the CPU whatever the build supports
                   "device": "cpu", "features": ["cpu", "gpu-offload"] if offload else ["cpu"]}
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
