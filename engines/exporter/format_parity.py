"""The format-parity gate of `apr qa` on a GGUF: does the GGUF compute what its source checkpoint computes?

Both sides are decoded step by step on ONE shared, teacher-forced token sequence: at every step
each model sees the same ids, the reference's greedy choice is appended, and the two top-1 ids
are compared. At least :data:`DECODE_FLOOR` steps are compared (``--max-tokens`` may raise the
count, never lower it): a single prefill argmax cannot see a defect that appears at step 32.

A top-1 disagreement whose two logit vectors have cosine >= :data:`NEAR_TIE_COSINE` is a
floating-point near-tie (f16 rounding can swap two almost equal logits), not a divergence.

The reference is optional: with none given and none found beside the GGUF the gate SKIPs (a
diagnostic must not fail for lack of its comparison input). A reference given explicitly with
``--reference`` is used verbatim: if it does not exist, or if it diverges, the gate FAILs.

QA-FORMAT-PARITY-LLAMACPP decodes the same teacher-forced sequence with the GGUF loaded by llama.cpp
(llama-cpp-python), when it is installed: a file llama.cpp refuses FAILs it with llama.cpp's own reason.

Our production decode path is the torch engine's (it re-runs the sequence for each new token;
there is no KV cache), so both formats go through that same path: the checkpoint loaded with
``load_checkpoint``, the GGUF with ``apr import``'s reader (dequantized, q/k un-permuted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.exporter.fixtures import CODE_SAMPLE

G_PARITY = "QA-FORMAT-PARITY"
# Beside it: the same comparison with the GGUF run by llama.cpp. QA-FORMAT-PARITY reads the GGUF with
# our own reader, which accepted files llama.cpp refuses to load (a qwen2 head_dim != hidden/heads
# passed 64 of 64 steps); only llama.cpp's loader says whether the runtime opens the file.
G_LLAMA_PARITY = "QA-FORMAT-PARITY-LLAMACPP"
DECODE_FLOOR = 64
NEAR_TIE_COSINE = 0.98
PROMPT_TOKENS = 8


@dataclass(frozen=True)
class DecodeStep:
    step: int
    top1_reference: int
    top1_gguf: int
    cosine: float

    @property
    def agree(self) -> bool:
        return self.top1_reference == self.top1_gguf

    @property
    def near_tie(self) -> bool:
        return not self.agree and self.cosine >= NEAR_TIE_COSINE


@dataclass(frozen=True)
class Verdict:
    status: str  # PASS | FAIL | SKIP (the qa gate statuses)
    reason: str
    details: dict[str, Any]


def is_checkpoint_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and any(path.glob("*.safetensors"))


class FormatParity:
    """The gate's decisions, each a method so that a broken engine can change exactly one."""

    def steps_for(self, max_tokens: int | None) -> int:
        """Decode steps to compare: the floor, or more when ``--max-tokens`` asks for more."""
        return max(DECODE_FLOOR, max_tokens or 0)

    def resolve(self, gguf: Path, explicit: Path | None) -> tuple[Path | None, str]:
        """(reference checkpoint or None, how it was chosen). An explicit path is returned as given."""
        if explicit is not None:
            return explicit, "given with --reference"
        for candidate in (gguf.with_suffix(""), gguf.parent):
            if is_checkpoint_dir(candidate):
                return candidate, "found beside the GGUF"
        return None, ""

    def judge(self, steps: list[DecodeStep], wanted: int) -> Verdict:
        """PASS when ``wanted`` steps were compared and every disagreement is a near-tie."""
        agreed = sum(1 for s in steps if s.agree)
        ties = [s.step for s in steps if s.near_tie]
        details: dict[str, Any] = {"steps_compared": len(steps), "steps_wanted": wanted, "steps_agreed": agreed,
                                   "near_ties": ties, "near_tie_cosine": NEAR_TIE_COSINE}
        if len(steps) < wanted:
            return Verdict("FAIL", f"only {len(steps)} of {wanted} decode steps were compared", details)
        diverged = next((s for s in steps if not s.agree and not s.near_tie), None)
        if diverged is not None:
            details["first_divergence"] = diverged.step
            return Verdict("FAIL", f"the GGUF diverges from the reference at decode step {diverged.step}: top-1 "
                           f"{diverged.top1_gguf} vs {diverged.top1_reference} (logit cosine {diverged.cosine:.6f} "
                           f"< {NEAR_TIE_COSINE})", details)
        tie_note = f", {len(ties)} near-tie(s) exempted" if ties else ""
        return Verdict("PASS", f"top-1 agrees at {agreed} of {len(steps)} teacher-forced decode steps{tie_note}", details)

    def gate(self, gguf: Path, explicit: Path | None, max_tokens: int | None) -> Verdict:
        reference, how = self.resolve(gguf, explicit)
        if reference is None:
            return Verdict("SKIP", "no reference checkpoint: none given (--reference) and none beside the GGUF "
                           f"({gguf.with_suffix('').name}/ or {gguf.parent}/ with config.json + *.safetensors)", {})
        if not is_checkpoint_dir(reference):
            return Verdict("FAIL", f"the reference {reference} ({how}) is not a checkpoint directory with "
                           "config.json and *.safetensors", {"reference": str(reference)})
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            return Verdict("SKIP", f"the torch engine is not importable: {exc}", {})
        wanted = self.steps_for(max_tokens)
        try:
            steps = decode_compare(gguf, reference, wanted)
        except Exception as exc:  # any load/shape problem is a finding about this pair, named
            return Verdict("FAIL", f"cannot compare with {reference}: {type(exc).__name__}: {exc}",
                           {"reference": str(reference)})
        verdict = self.judge(steps, wanted)
        verdict.details.update({"reference": str(reference), "reference_chosen": how})
        return verdict


    def llama_steps(self, gguf: Path, reference: Path, n_steps: int) -> list[DecodeStep]:
        """The decode steps with the GGUF run by llama.cpp (raises LlamaRefused when it cannot load it)."""
        return llama_decode_compare(gguf, reference, n_steps)

    def llama_gate(self, gguf: Path, explicit: Path | None, max_tokens: int | None) -> Verdict:
        reference, how = self.resolve(gguf, explicit)
        if reference is None:
            return Verdict("SKIP", "no reference checkpoint: none given (--reference) and none beside the GGUF", {})
        if not is_checkpoint_dir(reference):
            return Verdict("FAIL", f"the reference {reference} ({how}) is not a checkpoint directory with "
                           "config.json and *.safetensors", {"reference": str(reference)})
        try:
            import llama_cpp  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            return Verdict("SKIP", f"{exc.name or exc} is not installed: this gate runs the GGUF in llama.cpp "
                           "(pip install llama-cpp-python) against the torch engine on the reference", {})
        wanted = self.steps_for(max_tokens)
        try:
            steps = self.llama_steps(gguf, reference, wanted)
        except LlamaRefused as exc:
            return Verdict("FAIL", f"llama.cpp (llama-cpp-python) refuses to load the GGUF: {exc}",
                           {"reference": str(reference), "llama_cpp_error": str(exc)})
        except Exception as exc:  # any other load/shape problem is a finding about this pair, named
            return Verdict("FAIL", f"cannot compare llama.cpp with {reference}: {type(exc).__name__}: {exc}",
                           {"reference": str(reference)})
        verdict = self.judge(steps, wanted)
        verdict.details.update({"reference": str(reference), "reference_chosen": how, "runtime": "llama.cpp"})
        return verdict


class LlamaRefused(RuntimeError):
    """llama.cpp could not load the GGUF; the message is llama.cpp's own error line."""


def torch_model_for(target: Path) -> tuple[Any, Any]:
    """(CausalLM in eval mode, tokenizers.Tokenizer) for a checkpoint directory or a GGUF file."""
    if target.is_dir():
        from tokenizers import Tokenizer

        from engines.trainer.checkpoint import load_checkpoint

        ckpt = load_checkpoint(target)
        if ckpt.tokenizer_path is None:
            raise ValueError(f"{target} has no tokenizer.json")
        return ckpt.model().eval(), Tokenizer.from_file(str(ckpt.tokenizer_path))
    from engines.exporter.qa import tokenizer_from_gguf
    from engines.trainer.checkpoint import load_into
    from engines.trainer.config import from_hf_config
    from engines.trainer.importer import read_gguf
    from engines.trainer.model import CausalLM

    loaded = read_gguf(target)
    model = CausalLM(from_hf_config(loaded.hf_config, source=f"{target} (GGUF metadata)"))
    load_into(model, loaded.state_dict, source=str(target))
    return model.eval(), tokenizer_from_gguf(loaded.values)


def decode_compare(gguf: Path, reference: Path, n_steps: int) -> list[DecodeStep]:
    """Teacher-forced greedy decode of both models over ``n_steps`` steps (the reference picks each token)."""
    import torch

    torch.set_num_threads(1)  # tiny forwards; extra threads only spin on a busy machine
    ref_model, tok = torch_model_for(reference)
    gguf_model, _ = torch_model_for(gguf)
    limit = min(ref_model.config.max_position_embeddings, gguf_model.config.max_position_embeddings)
    if n_steps + 1 > limit:
        raise ValueError(f"{n_steps} decode steps after a 1-token prompt exceed max_position_embeddings {limit}")
    # A short context keeps all the decode steps and gives up prompt tokens instead.
    seq = list(tok.encode(CODE_SAMPLE, add_special_tokens=False).ids)[:max(1, min(PROMPT_TOKENS, limit - n_steps))]
    out: list[DecodeStep] = []
    with torch.no_grad():
        for step in range(n_steps):
            ids = torch.tensor([seq])
            a = ref_model(ids)[0, -1].double()
            b = gguf_model(ids)[0, -1].double()
            width = min(a.shape[-1], b.shape[-1])
            a, b = a[:width], b[:width]
            cosine = float(torch.nn.functional.cosine_similarity(a, b, dim=0))
            out.append(DecodeStep(step, int(a.argmax()), int(b.argmax()), round(cosine, 6)))
            seq.append(int(a.argmax()))  # teacher forcing: both sides continue on the reference's token
    return out


def llama_decode_compare(gguf: Path, reference: Path, n_steps: int) -> list[DecodeStep]:
    """Teacher-forced decode of the reference (torch) and the GGUF in llama.cpp, one llama.cpp pass.

    The reference picks every token; llama.cpp then evaluates the whole sequence once and its
    logits at each step's position are compared (causal attention: position i sees ids [0, i]).
    """
    import numpy as np
    import torch

    from engines.exporter.runtime import load_llama

    torch.set_num_threads(1)
    ref_model, tok = torch_model_for(reference)
    limit = ref_model.config.max_position_embeddings
    if n_steps + 1 > limit:
        raise ValueError(f"{n_steps} decode steps after a 1-token prompt exceed max_position_embeddings {limit}")
    seq = list(tok.encode(CODE_SAMPLE, add_special_tokens=False).ids)[:max(1, min(PROMPT_TOKENS, limit - n_steps))]
    prompt = len(seq)
    ref_logits = []
    with torch.no_grad():
        for _ in range(n_steps):
            a = ref_model(torch.tensor([seq]))[0, -1].double()
            ref_logits.append(a.numpy())
            seq.append(int(a.argmax()))
    # F32 KV cache: the default F16 cache moves logits by ~5e-3 (see engines.exporter.parity).
    llm, why = load_llama(gguf, n_ctx=len(seq) + 8, n_threads=1, n_threads_batch=1, n_batch=512,
                          logits_all=True, type_k=0, type_v=0)
    if llm is None:
        raise LlamaRefused(why)
    llm.reset()
    llm.eval(seq[:-1])
    scores = np.asarray(llm.scores[: len(seq) - 1], dtype=np.float64)
    out: list[DecodeStep] = []
    for step, a in enumerate(ref_logits):
        b = scores[prompt - 1 + step]
        width = min(a.shape[-1], b.shape[-1])
        a, b = a[:width], b[:width]
        cosine = float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))
        out.append(DecodeStep(step, int(a.argmax()), int(b.argmax()), round(cosine, 6)))
    return out
