"""`apr run`: continue a prompt with a checkpoint directory or a GGUF file, on the torch engine.

The GGUF is read with `apr import`'s reader (dequantized weights, q/k un-permuted), so the
output shows what the exported file computes. Greedy at ``temperature == 0`` (the argmax of
the raw logits), otherwise seeded sampling from ``softmax(logits / temperature)``. Each step
records the chosen token's log-probability and the distribution's entropy, computed with
``log_softmax`` (never ``log(softmax)``, whose zeros turn into -inf).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import AprError


@dataclass
class RunResult:
    target: str
    prompt: str
    prompt_ids: list[int]
    ids: list[int]
    text: str
    temperature: float
    steps: list[dict[str, float]] = field(default_factory=list)  # {token, logprob, entropy} per generated token

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Generator:
    """Decoding decisions, each a method so a broken engine can change exactly one."""

    def next_distribution(self, logits: Any, temperature: float) -> Any:
        """Log-probabilities the next token is chosen from (``logits`` for one position, float32)."""
        import torch

        scaled = logits if temperature == 0 else logits / temperature
        return torch.log_softmax(scaled.double(), dim=-1)

    def choose(self, logprobs: Any, temperature: float, generator: Any) -> int:
        import torch

        if temperature == 0:
            return int(torch.argmax(logprobs))
        return int(torch.multinomial(logprobs.exp(), 1, generator=generator))

    def run(self, target: Path, prompt: str, *, max_tokens: int, temperature: float, seed: int) -> RunResult:
        if max_tokens < 1:
            raise AprError(f"--max-tokens must be >= 1, got {max_tokens}", exit_code=2)
        if temperature < 0:
            raise AprError(f"--temperature must be >= 0, got {temperature}", exit_code=2)
        if not target.exists():
            raise AprError(f"{target} does not exist", hint="pass a checkpoint directory or a .gguf file")
        if target.is_file() and target.suffix.lower() != ".gguf":
            raise AprError(f"{target} is neither a checkpoint directory nor a .gguf file",
                           hint="pass the folder written by `apr pretrain`/`apr import`, or an exported .gguf")
        import torch

        from engines.exporter.format_parity import torch_model_for

        torch.set_num_threads(1)  # a handful of tiny forwards
        model, tok = torch_model_for(target)
        prompt_ids = list(tok.encode(prompt, add_special_tokens=False).ids)
        if not prompt_ids:
            raise AprError("the prompt encodes to no tokens", hint="pass a non-empty prompt", exit_code=2)
        limit = model.config.max_position_embeddings
        if len(prompt_ids) + max_tokens > limit:
            raise AprError(f"{len(prompt_ids)} prompt + {max_tokens} new tokens exceed the model's "
                           f"max_position_embeddings ({limit})", hint="lower --max-tokens or shorten the prompt", exit_code=2)
        gen = torch.Generator().manual_seed(seed)
        seq, steps = list(prompt_ids), []
        with torch.no_grad():
            for _ in range(max_tokens):
                logits = model(torch.tensor([seq]))[0, -1].float()
                logprobs = self.next_distribution(logits, temperature)
                if not bool(torch.isfinite(logprobs).all()):
                    raise AprError(f"{target}: non-finite log-probabilities at generation step {len(seq) - len(prompt_ids)} "
                                   f"(logits finite: {bool(torch.isfinite(logits).all())})",
                                   hint="run `apr qa` on the model: non-finite weights or a broken export")
                token = self.choose(logprobs, temperature, gen)
                probs = logprobs.exp()
                entropy = float(-(probs * logprobs).sum())
                steps.append({"token": token, "logprob": round(float(logprobs[token]), 6), "entropy": round(entropy, 6)})
                seq.append(token)
        ids = seq[len(prompt_ids):]
        return RunResult(str(target), prompt, prompt_ids, ids, tok.decode(ids, skip_special_tokens=False), temperature, steps)
