"""Parity with the llama.cpp oracle: logits, greedy continuation and tokenization, ours vs llama.cpp.

"Ours" is the torch engine (``engines.trainer.checkpoint.load_checkpoint(dir).model()``) on the
checkpoint; "theirs" is ``llama_cpp.Llama`` on a GGUF. Everything is teacher-forced on the same
token ids, so one disagreement cannot cascade into the rest of a window.

Both sides default to ONE thread: parity does not need speed, and on a busy 2-core machine
two spinning OpenMP threads per side were measured 10x slower (3.3 s vs 32 s for three
200-token SmolLM2 forwards) because each barrier waits for a descheduled thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LogitStats:
    positions: int
    top1_agree: float
    max_abs: float
    mean_abs: float

    def as_dict(self) -> dict[str, float]:
        return {"positions": self.positions, "top1_agree": self.top1_agree, "max_abs": self.max_abs, "mean_abs": self.mean_abs}


def compare_logits(ours: Any, theirs: Any) -> LogitStats:
    """Stats over positions x vocab (vocab truncated to the common width; placeholders never win)."""
    import numpy as np

    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    width = min(a.shape[-1], b.shape[-1])
    a, b = a[:, :width], b[:, :width]
    diff = np.abs(a - b)
    agree = float((a.argmax(-1) == b.argmax(-1)).mean())
    return LogitStats(int(a.shape[0]), agree, float(diff.max()), float(diff.mean()))


class TorchModel:
    """The torch engine on a checkpoint directory: logits and greedy decode (no KV cache)."""

    def __init__(self, ckpt: Path, threads: int = 1) -> None:
        import torch

        from engines.trainer.checkpoint import load_checkpoint

        torch.set_num_threads(threads)
        self.checkpoint = load_checkpoint(ckpt)
        self.model = self.checkpoint.model().eval()

    def logits(self, ids: Sequence[int]) -> Any:
        import torch

        with torch.no_grad():
            return self.model(torch.tensor([list(ids)]))[0].float().numpy()

    def greedy(self, ids: Sequence[int], n: int) -> list[int]:
        import torch

        seq = list(ids)
        out: list[int] = []
        with torch.no_grad():
            for _ in range(n):
                nxt = int(torch.argmax(self.model(torch.tensor([seq]))[0, -1]))
                out.append(nxt)
                seq.append(nxt)
        return out


class LlamaModel:
    """llama.cpp (llama-cpp-python) on a GGUF file."""

    def __init__(self, gguf: Path, *, n_ctx: int = 1024, threads: int = 1, vocab_only: bool = False,
                 logits_all: bool = True) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(
            str(gguf), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, n_batch=512,
            logits_all=logits_all and not vocab_only,
            vocab_only=vocab_only, verbose=False,
            # F32 KV cache: the default F16 cache alone moves logits by ~5e-3, which would eat the
            # F32 parity budget and hide nothing about the export itself.
            type_k=0, type_v=0,
        )

    def tokenize(self, text: str) -> list[int]:
        return [int(t) for t in self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)]

    def logits(self, ids: Sequence[int]) -> Any:
        import numpy as np

        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def greedy(self, ids: Sequence[int], n: int) -> list[int]:
        out: list[int] = []
        self.llm.reset()
        for token in self.llm.generate(list(ids), temp=0.0, top_k=1, reset=True):
            out.append(int(token))
            if len(out) >= n:
                break
        return out


def hf_tokenize(ckpt: Path, text: str) -> list[int]:
    from tokenizers import Tokenizer

    return list(Tokenizer.from_file(str(ckpt / "tokenizer.json")).encode(text, add_special_tokens=False).ids)


def code_windows(tokenize: Any, *, n_windows: int = 3, window: int = 200,
                 files: Sequence[str] = ("textwrap.py", "json/__init__.py", "inspect.py")) -> list[tuple[str, str, list[int]]]:
    """``n_windows`` (name, source text, first ``window`` ids) from standard-library files (>= 2 files)."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[tuple[str, str, list[int]]] = []
    for i in range(n_windows):
        name = files[i % len(files)]
        offset = 3000 * (i // len(files))
        text = (root / name).read_text(encoding="utf-8")[offset : offset + window * 12]
        ids = tokenize(text)
        if len(ids) < window:
            raise ValueError(f"{name} gives only {len(ids)} tokens at offset {offset}; need {window}")
        out.append((f"{name}@{offset}", text, ids[:window]))
    return out
