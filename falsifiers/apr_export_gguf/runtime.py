"""Claims judged by llama.cpp's loader (FALSIFY-EXPORT-LLAMA-003, -004): exit 0 means llama.cpp opens the file.

Issue 20, part 6: a qwen2 checkpoint with head_dim x heads != hidden_size exported with exit 0
and llama.cpp refused the file; `apr qa`'s format-parity gate passed 64 of 64 steps on it because
it never went through llama.cpp. Oracles here are external: llama.cpp (load, logits),
transformers (the reference logits) and gguf's reader; the unloadable file of -004 is written by
falsifiers/_gguf_reference.py, not by the engine under test.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers import _export_support as sup
from falsifiers._gguf_reference import write_reference_gguf
from falsifiers._requirements import LLAMA_CPP, TRANSFORMERS

CONTRACT = "apr-export-gguf-v1"
HIDDEN, HEADS = 64, 4  # the fixture's hidden_size and query heads: head_dim 16 is hidden/heads
# The boundary and one legal step off it (RoPE pairs dimensions, so head_dim moves in steps of 2).
HEAD_DIMS = (16, 18)
# max |Δlogit| llama.cpp (F32 export, F32 KV cache) vs transformers on the tiny fixtures: measured
# 6.9e-6..8.1e-6 for llama head_dim 8/16/32 and qwen2 16 (101 positions, 1 thread); 1e-4 is ~12x.
LOGIT_BOUND = 1e-4
GATE = "QA-FORMAT-PARITY-LLAMACPP"


def load_in_llama(path: Path) -> tuple[Any, str]:
    """(llama_cpp.Llama or None, llama.cpp's error lines): it logs the reason and raises only 'Failed to load'."""
    import llama_cpp

    kwargs: dict[str, Any] = {"n_ctx": 256, "n_threads": 1, "n_threads_batch": 1, "logits_all": True,
                              "type_k": 0, "type_v": 0}  # F32 KV cache: F16 alone moves logits by ~5e-3
    try:
        return llama_cpp.Llama(str(path), verbose=False, **kwargs), ""
    except ValueError as exc:
        first = str(exc)
    log = io.StringIO()
    with contextlib.suppress(ValueError), contextlib.redirect_stderr(log):
        llama_cpp.Llama(str(path), verbose=True, **kwargs)
    return None, next((ln.strip() for ln in log.getvalue().splitlines() if "error loading model" in ln), first)


def _transformers_logits(ckpt: Path, ids: list[int]) -> Any:
    import torch
    import transformers

    torch.set_num_threads(1)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(ckpt), dtype=torch.float32).eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double().numpy()


def _case(ctx: RunContext, arch: str, head_dim: int) -> tuple[str, dict[str, Any]]:
    """('ok'|'refused'|'bad', facts) for one checkpoint exported with --dtype f32 and the self-check on."""
    import numpy as np
    from tokenizers import Tokenizer

    from engines.exporter.fixtures import CODE_SAMPLE

    ckpt = sup.checkpoint(ctx, arch, name=f"ckpt-{arch}-hd{head_dim}", head_dim=head_dim)
    out, proc = sup.export(ctx, ckpt, f"{arch}-hd{head_dim}.gguf", dtype="f32", verify=True)
    if out is None:
        return "refused", {"exit": proc.returncode, "stderr": sup.tail(proc, 400)}
    values, _ = sup.read_gguf(out)
    lengths = {k: values.get(f"{arch}.attention.{k}") for k in ("key_length", "value_length")}
    if head_dim * HEADS != HIDDEN and lengths != {"key_length": head_dim, "value_length": head_dim}:
        return "bad", {"why": f"head sizes in the GGUF are {lengths}, the config's head_dim is {head_dim}"}
    if any(v is not None and v != head_dim for v in lengths.values()):
        return "bad", {"why": f"head sizes in the GGUF are {lengths}, the config's head_dim is {head_dim}"}
    llm, why = load_in_llama(out)
    if llm is None:
        return "bad", {"why": f"apr export exited 0 but llama.cpp refuses the file: {why}"}
    ids = list(Tokenizer.from_file(str(ckpt / "tokenizer.json")).encode(CODE_SAMPLE, add_special_tokens=False).ids)
    llm.eval(ids)
    theirs = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
    ref = _transformers_logits(ckpt, ids)
    if not np.isfinite(theirs).all():
        return "bad", {"why": "llama.cpp computes non-finite logits"}
    diff = float(np.abs(theirs - ref[:, : theirs.shape[1]]).max())
    if diff > LOGIT_BOUND:
        return "bad", {"why": f"llama.cpp vs transformers max |Δlogit| {diff:.3g} > {LOGIT_BOUND}", "max_abs": diff}
    return "ok", {"max_abs": diff}


@falsifier("FALSIFY-EXPORT-LLAMA-003", contract=CONTRACT, level="integration", engines=["exporter"],
           requires=[LLAMA_CPP, TRANSFORMERS])
def head_sizes_llama_cpp_reads(ctx: RunContext) -> Verdict:
    """Read as: at head_dim = hidden/heads and one step off, llama and qwen2 exports that exit 0 load in llama.cpp
    and compute transformers' logits; a llama export never fails; a qwen2 one off the boundary may only be refused."""
    measured: dict[str, Any] = {}
    for arch in ("llama", "qwen2"):
        for head_dim in HEAD_DIMS:
            key = f"{arch}/head_dim={head_dim}"
            outcome, facts = _case(ctx, arch, head_dim)
            if outcome == "ok":
                measured[f"{arch}_hd{head_dim}_max_abs"] = float(f"{facts['max_abs']:.3g}")
                continue
            if outcome == "bad":
                return ctx.falsified(f"{key}: {facts['why']}", counterexample=key, measured=measured)
            # Refusing is right only where llama.cpp cannot run the model: qwen2 off the boundary, exit 1, naming head_dim.
            if not (arch == "qwen2" and head_dim * HEADS != HIDDEN and facts["exit"] == 1 and "head_dim" in facts["stderr"]):
                return ctx.falsified(f"{key}: apr export of a valid checkpoint failed (exit {facts['exit']}): "
                                     f"{facts['stderr']}", counterexample=key, measured=measured)
            measured[f"{arch}_hd{head_dim}_refused"] = 1
    return ctx.held("every exit-0 export loads in llama.cpp with transformers' logits", measured=measured)


@falsifier("FALSIFY-EXPORT-LLAMA-004", contract=CONTRACT, level="integration", engines=["exporter"],
           requires=[LLAMA_CPP])
def qa_parity_goes_through_llama_cpp(ctx: RunContext) -> Verdict:
    """Read as: `apr qa FILE --reference CKPT` FAILs QA-FORMAT-PARITY-LLAMACPP (exit 1, naming llama.cpp's reason)
    on a qwen2 GGUF llama.cpp refuses, and PASSes it on the same model at head_dim = hidden/heads."""
    results = {}
    for head_dim, expect in ((18, "FAIL"), (16, "PASS")):
        ckpt = sup.checkpoint(ctx, "qwen2", name=f"ckpt-qwen2-hd{head_dim}", head_dim=head_dim)
        path = write_reference_gguf(ckpt, ctx.workspace / f"reference-qwen2-hd{head_dim}.gguf", "qwen2")
        llm, why = load_in_llama(path)
        if (llm is None) != (expect == "FAIL"):  # the fixture itself, judged by llama.cpp
            raise RuntimeError(f"fixture: llama.cpp {'loads' if llm else 'refuses'} {path.name} ({why})")
        proc = sup.apr(ctx, "qa", path, "--reference", ckpt, "--format", "json", "--no-progress")
        try:
            gate = next(g for g in json.loads(proc.stdout)["gates"] if g["id"] == GATE)
        except (ValueError, KeyError, StopIteration):
            return ctx.falsified(f"`apr qa {path.name}` reports no {GATE} gate (exit {proc.returncode}): {sup.tail(proc, 200)}")
        results[head_dim] = gate["status"]
        if gate["status"] != expect:
            return ctx.falsified(f"head_dim={head_dim}: {GATE} is {gate['status']} ({gate['reason'][:160]}), "
                                 f"llama.cpp {'refuses the file: ' + why if why else 'loads the file'}",
                                 counterexample=gate)
        if expect == "FAIL" and (proc.returncode != 1 or "wrong shape" not in gate["reason"]):
            return ctx.falsified(f"head_dim={head_dim}: FAIL without llama.cpp's reason or exit 1 "
                                 f"(exit {proc.returncode}): {gate['reason'][:160]}", counterexample=gate)
    return ctx.held(f"unloadable file: FAIL naming llama.cpp's refusal; loadable: PASS ({results})")
