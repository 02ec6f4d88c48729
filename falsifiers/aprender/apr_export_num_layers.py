"""Falsifiers of the reference contract apr-export-num-layers-v1 (FALSIFY-EXPORT-NUM-LAYERS-*, FALSIFY-EXPORT-INFER-METADATA-001): layer count and metadata inferred at export.

The other project's `.apr` metadata is our checkpoint's config.json; its `apr export --format gguf`
is ours. Two claims grep its Rust source (no ``.expect()`` on a missing dimension; the metadata
builder returns a ``Result``); they are read as the behaviour those source rules exist for:

* 002: exporting a checkpoint whose config.json lacks (or nulls) any of the six GGUF dimensions
  either succeeds with the right value inferred from the tensors or fails with a clean error
  (an ``AprError``: exit 1/2 and a message naming the field), never a crash with a traceback;
* 003: a hyper-parameter the tensors cannot determine (rms_norm_eps, max_position_embeddings,
  rope_theta) comes back as an error naming it, with nothing written: neither a crash nor a default.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._export_support import apr, checkpoint, read_gguf, tail

# name list -> the layer count; the boundaries: a gap, a single layer, 10 vs 9 (numeric, not string, max), none.
LAYER_CASES: list[tuple[list[str], int | None]] = [
    (["blk.0.attn_q", "blk.5.attn_q", "blk.27.ffn_down"], 28),
    (["blk.0.attn_q.weight"], 1),
    (["blk.9.ffn_up.weight", "blk.10.ffn_up.weight", "token_embd.weight"], 11),
    ([f"model.layers.{i}.mlp.up_proj.weight" for i in range(3)], 3),
    (["model.layers.3.input_layernorm.weight", "blk.1.attn_norm.weight"], 4),
    (["token_embd.weight", "output_norm.weight", "blk.x.attn_q.weight"], None),
    ([], None),
]
# config.json field -> the GGUF key that carries it (for the ``qwen2`` arch of the fixture).
GGUF_KEY = {"num_hidden_layers": "qwen2.block_count", "num_attention_heads": "qwen2.attention.head_count",
            "num_key_value_heads": "qwen2.attention.head_count_kv", "hidden_size": "qwen2.embedding_length",
            "intermediate_size": "qwen2.feed_forward_length", "vocab_size": None}
NOT_INFERABLE = ("rms_norm_eps", "max_position_embeddings", "rope_theta")


def light_checkpoint(ctx: RunContext, name: str, changes: dict[str, Any]) -> Path:
    """The tiny qwen2 checkpoint with config.json changed (value None = key deleted, "null" = JSON null)."""
    import shutil

    base = checkpoint(ctx, "qwen2")
    dest = ctx.workspace / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base, dest)
    config = json.loads((dest / "config.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = None if value == "null" else value
    (dest / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return dest


def try_export(ctx: RunContext, ckpt: Path, out: Path) -> tuple[str, str]:
    """("ok" | "error" | "crash", detail) of exporting ``ckpt`` in process with the engine under test."""
    from engines.errors import AprError

    try:
        ctx.engine("exporter").export(ckpt, out, dtype="f32", force=True)
    except AprError as exc:
        return "error", str(exc)
    except Exception as exc:  # anything but the engine's clean error is what the CLI shows as a traceback
        return "crash", f"{type(exc).__name__}: {exc}"
    return "ok", ""


@falsifier("FALSIFY-EXPORT-NUM-LAYERS-001", level="algorithm", engines=["exporter"])
def layers_from_tensor_names(ctx: RunContext) -> Verdict:
    """Layer count from names = max N + 1 over blk.N / model.layers.N; None without any layer tensor."""
    engine = ctx.engine("exporter")
    got = {" ".join(names) or "(no tensors)": engine.infer_num_layers(names) for names, _ in LAYER_CASES}
    for (names, want), found in zip(LAYER_CASES, got.values(), strict=True):
        if found != want:
            return ctx.falsified(f"infer_num_layers({names}) = {found}, expected {want}",
                                 counterexample={"names": names, "found": found, "expected": want}, measured=got)
    return ctx.held(f"{len(LAYER_CASES)} name sets (a gap 0/5/27 -> 28, one layer -> 1, 9/10 -> 11, none -> None)",
                    measured=got)


@falsifier("FALSIFY-EXPORT-NUM-LAYERS-002", level="integration", engines=["exporter"])
def missing_dimension_never_crashes(ctx: RunContext) -> Verdict:
    """Each GGUF dimension absent or null in config.json: inferred correctly, or a clean error naming it; never a crash."""
    outcomes: dict[str, str] = {}
    truth = json.loads((checkpoint(ctx, "qwen2") / "config.json").read_text(encoding="utf-8"))
    for field, key in GGUF_KEY.items():
        for how in ("absent", "null"):
            label = f"{field} {how}"
            ckpt = light_checkpoint(ctx, "light", {field: None if how == "absent" else "null"})
            out = ctx.workspace / "light.gguf"
            status, detail = try_export(ctx, ckpt, out)
            outcomes[label] = status
            if status == "crash":
                return ctx.falsified(f"export with {label}: crashed ({detail})", counterexample=label, measured=outcomes)
            if status == "error" and field not in detail:
                return ctx.falsified(f"export with {label}: the error does not name {field}: {detail[:300]}",
                                     counterexample=label, measured=outcomes)
            if status == "ok":
                values, tensors = read_gguf(out)
                found = values.get(key) if key else tensors["token_embd.weight"].shape[0]
                if found != truth[field]:
                    return ctx.falsified(f"export with {label}: GGUF carries {found} for {field}, the weights say {truth[field]}",
                                         counterexample={"case": label, "found": found, "expected": truth[field]})
    # A present but malformed dimension: a clean error naming it, too.
    status, detail = try_export(ctx, light_checkpoint(ctx, "light", {"num_hidden_layers": "two"}), ctx.workspace / "light.gguf")
    outcomes["num_hidden_layers 'two'"] = status
    if status != "error" or "num_hidden_layers" not in detail:
        return ctx.falsified(f"export with num_hidden_layers='two': {status} {detail[:300]}",
                             counterexample="num_hidden_layers 'two'", measured=outcomes)
    # The command itself, once, on the issue's own case: exit 0 or 1/2, and no traceback.
    ckpt = light_checkpoint(ctx, "light-cli", {"num_hidden_layers": None})
    proc = apr(ctx, "export", ckpt, "--format", "gguf", "-o", ctx.workspace / "cli.gguf", "--force", "--no-progress")
    outcomes["cli num_hidden_layers absent"] = f"exit {proc.returncode}"
    if proc.returncode not in (0, 1, 2) or "Traceback" in proc.stderr:
        return ctx.falsified(f"`apr export` without num_hidden_layers: exit {proc.returncode}: {tail(proc)}",
                             counterexample="num_hidden_layers absent (apr export)", measured=outcomes)
    return ctx.held(f"{len(outcomes)} cases: " + ", ".join(f"{k}: {v}" for k, v in outcomes.items()), measured=outcomes)


@falsifier("FALSIFY-EXPORT-NUM-LAYERS-003", level="integration", engines=["exporter"])
def missing_hyperparameter_is_an_error(ctx: RunContext) -> Verdict:
    """A hyper-parameter no tensor determines, when absent, is a clean error naming it, and no file is written."""
    seen = {}
    for field in NOT_INFERABLE:
        out = ctx.workspace / f"no-{field}.gguf"
        out.unlink(missing_ok=True)
        status, detail = try_export(ctx, light_checkpoint(ctx, "light", {field: None}), out)
        seen[field] = status
        if status != "error" or field not in detail or out.exists():
            why = {"ok": "exported with an invented value", "crash": f"crashed ({detail})"}.get(
                status, "the error does not name the field" if field not in detail else "a file was written anyway")
            return ctx.falsified(f"export without {field}: {why}", counterexample={"field": field, "outcome": status},
                                 measured=seen)
    return ctx.held("absent " + ", ".join(NOT_INFERABLE) + ": each refused by name, nothing written", measured=seen)


@falsifier("FALSIFY-EXPORT-INFER-METADATA-001", level="integration", engines=["exporter"])
def metadata_light_checkpoint_exports(ctx: RunContext) -> Verdict:
    """A config without head counts (and without the sizes the tensors give) exports; the GGUF read back with
    gguf.GGUFReader has the same architecture keys as the export of the complete config."""
    full = ctx.workspace / "full.gguf"
    status, detail = try_export(ctx, checkpoint(ctx, "qwen2"), full)
    if status != "ok":
        raise RuntimeError(f"the complete tiny checkpoint does not export: {detail}")
    want, _ = read_gguf(full)
    measured: dict[str, Any] = {}
    for label, drop in (("no head counts", ("num_attention_heads", "num_key_value_heads")),
                        ("only head_dim left", tuple(GGUF_KEY))):
        out = ctx.workspace / "light.gguf"
        status, detail = try_export(ctx, light_checkpoint(ctx, "light", dict.fromkeys(drop)), out)
        if status != "ok":
            return ctx.falsified(f"metadata-light export ({label}) failed: {detail[:400]}", counterexample=label)
        got, _ = read_gguf(out)
        diff = {k: (got.get(k), v) for k, v in want.items() if k.startswith("qwen2.") and got.get(k) != v}
        measured[label] = {k: got.get(k) for k in ("qwen2.attention.head_count", "qwen2.attention.head_count_kv",
                                                   "qwen2.embedding_length", "qwen2.block_count")}
        if diff:
            return ctx.falsified(f"metadata-light export ({label}): GGUF keys differ from the complete config's "
                                 f"(found, expected): {diff}", counterexample=diff, measured=measured)
        runtime = llama_greedy(out), llama_greedy(full)
        measured[label]["llama.cpp"] = runtime[0]
        if runtime[0] != runtime[1]:
            return ctx.falsified(f"metadata-light export ({label}): llama.cpp decodes {runtime[0]}, the complete "
                                 f"config's GGUF {runtime[1]}", counterexample=runtime, measured=measured)
    return ctx.held("head counts inferred from q/k rows / head_dim: " + json.dumps(measured["no head counts"]),
                    measured=measured)


def llama_greedy(path: Path, n: int = 4) -> list[int] | str:
    """llama.cpp's first ``n`` greedy tokens for a fixed prompt, or why llama.cpp is unavailable (then both sides agree)."""
    try:
        import llama_cpp
    except ImportError:
        return "llama_cpp not importable"
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_threads=1, n_threads_batch=1, verbose=False)
    out: list[int] = []
    for token in llm.generate(llm.tokenize(b"def f(x):", add_bos=False), temp=0.0, top_k=1, reset=True):
        out.append(int(token))
        if len(out) >= n:
            break
    return out


CONTRACT = "apr-export-num-layers-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
