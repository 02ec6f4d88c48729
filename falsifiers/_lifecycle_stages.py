"""The stages of the lifecycle falsifiers (falsifiers/apr_lifecycle.py): `apr` subprocesses and the checks between them.

Each stage runs the real command with the three engines under test (``--engine-impl KIND=NAME``)
and raises :class:`StageFailed` naming itself when the command refuses (non-zero exit) or leaves
an output the next stage cannot use. The checks read files directly (json, sha256,
``gguf.GGUFReader``, ``tokenizers``, llama.cpp); they never ask an engine what the right answer is.
Importable with the core dependencies only: heavy libraries are imported inside functions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict
from apr_contracts.atomic import atomic_path
from apr_contracts.hashing import sha256_file

KINDS = ("tokenizer", "trainer", "exporter")
APR_TIMEOUT_S = 600.0
EOS = "<|endoftext|>"
GREEDY_TOKENS = 16
FIB_PROMPT = "def fibonacci(n):"


class StageFailed(Exception):
    """A stage refused its input or produced an output the next stage cannot use."""

    def __init__(self, stage: str, message: str, detail: Any = None) -> None:
        super().__init__(f"stage {stage}: {message}")
        self.stage, self.message, self.detail = stage, message, detail


def sig(value: float, digits: int = 4) -> float:
    """Round to significant digits (a 2e-6 max |Δlogit| must not be recorded as 0.0)."""
    return float(f"{value:.{digits}g}")


class Lifecycle:
    """One run of the pipeline in the workspace: `apr` subprocesses, stage timings, measured values."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx, self.ws = ctx, ctx.workspace
        self.engines = {kind: str(ctx.engine(kind).name) for kind in KINDS}
        self.measured: dict[str, Any] = {}
        self.passed: list[str] = []

    def apr(self, stage: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """`apr ARGS` with the three engines under test; a non-zero exit fails ``stage``."""
        impl = [f for kind, name in self.engines.items() for f in ("--engine-impl", f"{kind}={name}")]
        env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "engines.cli", *impl, *map(str, args)],
                              capture_output=True, text=True, timeout=APR_TIMEOUT_S, env=env,
                              cwd=self.ws, check=False)
        key = f"{stage}_s"
        self.measured[key] = round(self.measured.get(key, 0.0) + time.monotonic() - started, 2)
        if proc.returncode != 0:
            said = (proc.stderr.strip() or proc.stdout.strip())[-700:]
            raise StageFailed(stage, f"`apr {' '.join(map(str, args[:2]))} ...` exited {proc.returncode}: {said}",
                              detail={"exit_code": proc.returncode, "command": [str(a) for a in args]})
        return proc

    def apr_json(self, stage: str, *args: str | Path) -> dict[str, Any]:
        proc = self.apr(stage, *args)
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise StageFailed(stage, f"asked for JSON, got unparseable output ({exc}): {proc.stdout[:300]!r}") from exc
        if not isinstance(data, dict):
            raise StageFailed(stage, f"asked for a JSON object, got {type(data).__name__}")
        return data

    def done(self, stage: str) -> None:
        self.passed.append(stage)

    def falsified(self, failure: StageFailed) -> Verdict:
        self.measured.update(failed_stage=failure.stage, stages_passed=",".join(self.passed))
        return self.ctx.falsified(str(failure), counterexample=failure.detail, measured=self.measured)

    def held(self, message: str) -> Verdict:
        self.measured["stages_passed"] = ",".join(self.passed)
        return self.ctx.held(message, measured=self.measured)


# --- fixtures ----------------------------------------------------------------------------------


def need(ctx: RunContext, *modules: str) -> None:
    """SKIP (without importing anything heavy) when an engine library is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        ctx.skip(f"the engines need {', '.join(missing)} (pip install 'apr-contracts[engines]')")


def stdlib_sources(start: int, count: int, max_chars: int) -> list[tuple[str, str]]:
    """(relative path, text) of standard-library .py files from ``start`` in sorted order, cut to ``max_chars``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)[start:]:
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) >= 2000 and EOS not in text:  # real code, and no control-token strings
            out.append((str(path.relative_to(root)), text[:max_chars]))
        if len(out) == count:
            break
    return out


def write_jsonl(path: Path, docs: Sequence[tuple[str, str]]) -> Path:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for rel, text in docs:
            handle.write(json.dumps({"text": text, "path": rel}, ensure_ascii=False) + "\n")
    return path


def tokenize_hf(tokenizer_json: Path, text: str) -> list[int]:
    from tokenizers import Tokenizer

    return list(Tokenizer.from_file(str(tokenizer_json)).encode(text, add_special_tokens=False).ids)


# --- stages ------------------------------------------------------------------------------------


def tokenizer_and_corpus(lc: Lifecycle, *, train_docs: int, val_docs: int, max_chars: int,
                         tokenizer: Path | None = None) -> dict[str, Any]:
    """import-hf (unless ``tokenizer`` is given) and encode-corpus of a training and a held-out slice."""
    docs = stdlib_sources(150, train_docs + val_docs, max_chars)
    train = write_jsonl(lc.ws / "train.jsonl", docs[:train_docs])
    val = write_jsonl(lc.ws / "val.jsonl", docs[train_docs:])
    out: dict[str, Any] = {"val_docs": docs[train_docs:]}
    if tokenizer is None:
        # a BPE trained on standard-library code in ~1.5 s (cached per process)
        from engines.tokenizer.fixtures import stdlib_bpe_tokenizer_json

        source = stdlib_bpe_tokenizer_json(lc.ws / "source-tokenizer.json")
        out["import"] = lc.apr_json("import-hf", "tokenize", "import-hf", "--input", source, "--output",
                                    lc.ws / "tok", "--include-added-tokens", "--format", "json")["manifest"]
        tokenizer = lc.ws / "tok"
        lc.done("import-hf")
    out["tokenizer"] = tokenizer
    for name, corpus in (("train", train), ("val", val)):
        out[name] = lc.apr_json("encode-corpus", "tokenize", "encode-corpus", "--corpus", corpus, "--tokenizer",
                                tokenizer, "--output", lc.ws / f"{name}-shards", "--workers", "1",
                                "--no-progress", "--format", "json")["manifest"]
    if out["train"]["vocab_size"] != out["val"]["vocab_size"] or not out["train"]["tokens"]:
        raise StageFailed("encode-corpus", f"training/held-out manifests disagree or are empty: vocab "
                          f"{out['train']['vocab_size']} vs {out['val']['vocab_size']}, {out['train']['tokens']} tokens")
    lc.measured["train_tokens"] = int(out["train"]["tokens"])
    lc.done("encode-corpus")
    return out


def val_losses(run: Path) -> tuple[float, float]:
    """(step-0 held-out loss, last held-out loss) from the run's metrics.jsonl."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    losses = [(int(r["step"]), float(r["val_loss"])) for r in records if "val_loss" in r]
    start = [v for step, v in losses if step == 0]
    if not start or len(losses) < 2:
        raise StageFailed("pretrain", f"metrics.jsonl lacks a step-0 and a final held-out loss: {losses}")
    return start[0], losses[-1][1]


def pretrain(lc: Lifecycle, data: dict[str, Any], *args: str | Path, steps: int, out: str = "run") -> Path:
    """`apr pretrain` on the encoded shards, held-out loss measured at step 0 and at the end."""
    run = lc.ws / out
    lc.apr_json("pretrain", "pretrain", "--dataset", lc.ws / "train-shards", "--val-shards", lc.ws / "val-shards",
                "--tokenizer", data["tokenizer"], "--num-steps", str(steps), "--warmup-steps", "1",
                "--eval-at-start", "--eval-every", str(steps), "--seed", str(lc.ctx.seed),
                "--force-under-provisioned", "--no-progress", "--format", "json", "--output", run, *args)
    before, after = val_losses(run)
    lc.measured.update(heldout_loss_before=sig(before, 6), heldout_loss_after=sig(after, 6))
    return run


def qa(lc: Lifecycle, stage: str, target: Path, must_pass: Sequence[str]) -> None:
    """`apr qa --format json`: no FAIL gate, and the gates in ``must_pass`` PASS (a SKIP is not a pass)."""
    report = lc.apr_json(stage, "qa", target, "--format", "json", "--no-progress")
    gates = {g["id"]: g for g in report.get("gates", [])}
    bad = [f"{g['id']} {g['status']}: {g['reason']}" for g in gates.values() if g["status"] == "FAIL"]
    bad += [f"{gid} {gates[gid]['status'] if gid in gates else 'absent'} (must PASS)"
            for gid in must_pass if gates.get(gid, {}).get("status") != "PASS"]
    if bad:
        raise StageFailed(stage, "; ".join(bad)[:700], detail=report)
    lc.measured[f"{stage}_gates_passed"] = sum(g["status"] == "PASS" for g in gates.values())
    lc.done(stage)


def bench(lc: Lifecycle, target: Path) -> None:
    receipt = lc.apr_json("bench", "bench", target, "--format", "json", "--repeats", "2", "--prompt-tokens", "32",
                          "--decode-tokens", "8", "--threads", "1", "--no-progress")
    for phase in ("prefill", "decode"):
        rate = (receipt.get(phase) or {}).get("median_tokens_per_s")
        if not isinstance(rate, int | float) or not rate > 0:
            raise StageFailed("bench", f"{phase} median tokens/s is {rate!r}", detail=receipt)
        lc.measured[f"bench_{phase}_tok_s"] = round(float(rate), 1)
    lc.done("bench")


def export(lc: Lifecycle, run: Path, name: str = "model.gguf") -> Path:
    out = lc.ws / name
    lc.apr("export", "export", run, "--format", "gguf", "-o", out, "--dtype", "f32", "--force", "--no-progress")
    if not out.is_file():
        raise StageFailed("export", f"exit 0 but {out} does not exist")
    lc.measured["gguf_bytes"] = out.stat().st_size
    lc.done("export")
    return out


def handoff(lc: Lifecycle, data: dict[str, Any], run: Path, gguf_path: Path, *, check_eos: bool = True) -> None:
    """What each stage handed to the next survives: the tokenizer, the corpus's EOS, the architecture.

    ``check_eos=False`` for a fine-tuned chat model: its corpus is separated by ``<|endoftext|>``
    while generation rightly stops on the chat EOS (``<|im_end|>``) it was imported with.
    """
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    fields = {k: reader.fields[k].contents() for k in ("general.architecture", "tokenizer.ggml.eos_token_id")
              if k in reader.fields}
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    problems = []
    if "import" in data and sha256_file(run / "tokenizer.json") != data["import"]["source_sha256"]:
        problems.append("the checkpoint's tokenizer.json is not the tokenizer import-hf imported")
    eos = data["train"].get("eos_id")
    if check_eos and fields.get("tokenizer.ggml.eos_token_id") != eos:
        problems.append(f"GGUF tokenizer.ggml.eos_token_id = {fields.get('tokenizer.ggml.eos_token_id')!r}, "
                        f"but the corpus was encoded with EOS id {eos!r}")
    if fields.get("general.architecture") != config.get("model_type"):
        problems.append(f"GGUF general.architecture = {fields.get('general.architecture')!r}, "
                        f"the trained model_type is {config.get('model_type')!r}")
    if problems:
        raise StageFailed("handoff", "; ".join(problems))
    lc.done("handoff")


# --- llama.cpp vs the trainer engine ------------------------------------------------------------


class Llama:
    """llama.cpp on a GGUF: tokenize, teacher-forced logits, greedy decode (argmax, no sampler)."""

    def __init__(self, path: Path, n_ctx: int = 512) -> None:
        import llama_cpp

        try:  # F32 KV cache: the default F16 cache alone moves logits by ~5e-3
            self.llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_batch=512, n_threads=2, n_threads_batch=2,
                                       logits_all=True, type_k=0, type_v=0, verbose=False)
        except Exception as exc:  # llama-cpp-python raises ValueError("Failed to load model from file")
            raise StageFailed("llama-load", f"llama.cpp cannot load {path.name}: {exc}") from exc

    def tokenize(self, text: str) -> list[int]:
        return [int(t) for t in self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)]

    def logits(self, ids: Sequence[int]) -> Any:
        import numpy as np

        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float64)

    def greedy(self, ids: Sequence[int], n: int) -> list[int]:
        import numpy as np

        self.llm.reset()
        self.llm.eval(list(ids))
        out: list[int] = []
        for _ in range(n):
            out.append(int(np.argmax(self.llm.scores[self.llm.n_tokens - 1])))
            self.llm.eval([out[-1]])
        return out


class Ours:
    """The trainer engine under test on a checkpoint: the model it trained and evaluated."""

    def __init__(self, trainer: Any, ckpt: Path) -> None:
        import torch

        torch.set_num_threads(2)
        self.model = trainer.build_model(trainer.config_from_init(ckpt), seed=0)
        trainer.load_init(self.model, ckpt, device="cpu")
        self.model.eval()

    def logits(self, ids: Sequence[int]) -> Any:
        import torch

        with torch.no_grad():
            return self.model(torch.tensor([list(ids)]))[0].double().numpy()

    def greedy(self, ids: Sequence[int], n: int) -> list[int]:
        import torch

        seq, out = list(ids), []
        with torch.no_grad():
            for _ in range(n):
                out.append(int(torch.argmax(self.model(torch.tensor([seq]))[0, -1])))
                seq.append(out[-1])
        return out


def compare(ours: Any, theirs: Any) -> dict[str, float]:
    import numpy as np

    width = min(ours.shape[-1], theirs.shape[-1])  # placeholder rows beyond the tokenizer never matter
    a, b = ours[:, :width], theirs[:, :width]
    diff = np.abs(a - b)
    return {"top1": float((a.argmax(-1) == b.argmax(-1)).mean()), "max_abs": float(diff.max()),
            "mean_abs": float(diff.mean())}


def first_disagreement(a: Sequence[int], b: Sequence[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def check_parity(lc: Lifecycle, ckpt: Path, gguf_path: Path, texts: Sequence[str], *, window: int,
                 max_abs_bound: float | None = None, min_top1: float | None = None) -> None:
    """Tokens, teacher-forced logits and greedy decode: the trainer engine's model vs llama.cpp on ``gguf_path``.

    With bounds (integration level) a violation fails a stage; without them (live) the values are
    only measured, for the runner to judge against the contract's thresholds.
    """
    theirs = Llama(gguf_path)
    lc.done("llama-load")
    ours = Ours(lc.ctx.engine("trainer"), ckpt)
    stats, mismatches = [], 0
    for text in texts:
        ids, llama_ids = tokenize_hf(ckpt / "tokenizer.json", text), theirs.tokenize(text)
        if llama_ids != ids:
            mismatches += 1
            if max_abs_bound is not None:
                raise StageFailed("llama-tokenize", "llama.cpp tokenizes held-out code differently from "
                                  f"tokenizer.json (first difference at token {first_disagreement(llama_ids, ids)})")
        if len(ids) < window:
            raise ValueError(f"a parity text gives only {len(ids)} tokens; {window} needed")  # a fixture bug: ERROR
        stats.append(compare(ours.logits(ids[:window]), theirs.logits(ids[:window])))
    prompt = tokenize_hf(ckpt / "tokenizer.json", FIB_PROMPT)
    a, b = ours.greedy(prompt, GREEDY_TOKENS), theirs.greedy(prompt, GREEDY_TOKENS)
    m = lc.measured
    m.update(windows=len(stats), tokenization_mismatches=mismatches, greedy_agree_tokens=first_disagreement(a, b),
             top1_min=sig(min(s["top1"] for s in stats)), max_abs=sig(max(s["max_abs"] for s in stats)),
             mean_abs_max=sig(max(s["mean_abs"] for s in stats)))
    if max_abs_bound is not None and m["max_abs"] > max_abs_bound:
        raise StageFailed("llama-logits", f"max |Δlogit| {m['max_abs']:.4g} > {max_abs_bound} "
                          f"(top-1 agreement {m['top1_min']})")
    if min_top1 is not None and m["top1_min"] < min_top1:
        raise StageFailed("llama-logits", f"top-1 agreement {m['top1_min']} < {min_top1}")
    if max_abs_bound is not None and a != b:
        raise StageFailed("llama-greedy", f"greedy continuations differ from token {first_disagreement(a, b)}: "
                          f"ours {a}, llama.cpp {b}")
    lc.done("llama-parity")
