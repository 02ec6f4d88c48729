"""Falsifiers of apr-export-gguf-v1: packaging and GGUF export claims (FALSIFY-EXPORT-GGUF-*).

Each one builds its own tiny checkpoint in the workspace, runs `apr export` / `apr qa` /
`apr bench` as subprocesses with the exporter engine it was given, and reads the results
independently (gguf.GGUFReader, the checkpoint's own files). The llama.cpp oracle and the
SmolLM2 live checks are in :mod:`falsifiers.apr_export_gguf.llama`.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from apr_contracts.hashing import sha256_file
from falsifiers import _export_support as sup

ARCH_KEYS = {  # GGUF key suffix -> config.json field (written out here, not taken from the engine)
    "context_length": "max_position_embeddings",
    "embedding_length": "hidden_size",
    "block_count": "num_hidden_layers",
    "feed_forward_length": "intermediate_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.layer_norm_rms_epsilon": "rms_norm_eps",
    "rope.freq_base": "rope_theta",
}
FAMILY = {"qwen2": "qwen2", "llama": "llama"}  # config model_type -> GGUF architecture


def _exported(ctx: RunContext, arch: str, dtype: str = "f32") -> tuple[dict[str, Any], dict[str, Any], Path] | Verdict:
    ckpt = sup.checkpoint(ctx, arch)
    out, proc = sup.export(ctx, ckpt, f"{arch}-{dtype}.gguf", dtype=dtype)
    if out is None:
        return ctx.falsified(f"apr export of a valid {arch} checkpoint failed (exit {proc.returncode}): {sup.tail(proc)}",
                             measured={"exit_code": proc.returncode})
    values, tensors = sup.read_gguf(out)
    return values, tensors, ckpt


@falsifier("FALSIFY-EXPORT-GGUF-001", level="integration", engines=["exporter"])
def export_command_runs_and_refuses_overwrite(ctx: RunContext) -> Verdict:
    """`apr export` runs, and never replaces an existing file without --force."""
    help_proc = sup.apr(ctx, "export", "--help")
    missing = [opt for opt in ("--dtype", "--force", "--output") if opt not in help_proc.stdout]
    if help_proc.returncode != 0 or missing:
        return ctx.falsified(f"`apr export --help` exit {help_proc.returncode}, missing options {missing}")
    ckpt = sup.checkpoint(ctx, "qwen2")
    out = ctx.workspace / "model.gguf"
    first = sup.apr(ctx, "export", ckpt, "-o", out, "--dtype", "f16", "--no-progress")
    if first.returncode != 0 or not out.is_file():
        return ctx.falsified(f"first export failed (exit {first.returncode}): {sup.tail(first)}")
    out.write_bytes(b"sentinel: must survive")
    second = sup.apr(ctx, "export", ckpt, "-o", out, "--dtype", "f32", "--no-progress")
    survived = out.read_bytes() == b"sentinel: must survive"
    if second.returncode != 1 or not survived:
        return ctx.falsified(
            f"export onto an existing file without --force: exit {second.returncode}, file kept={survived}",
            measured={"exit_code": second.returncode, "file_kept": survived},
        )
    forced = sup.apr(ctx, "export", ckpt, "-o", out, "--dtype", "f32", "--force", "--no-progress")
    if forced.returncode != 0 or out.read_bytes().startswith(b"sentinel"):
        return ctx.falsified(f"export with --force did not replace the file (exit {forced.returncode}): {sup.tail(forced)}")
    return ctx.held("exports, refuses to overwrite (exit 1, file intact), replaces with --force",
                    measured={"exit_code_without_force": second.returncode})


@falsifier("FALSIFY-EXPORT-GGUF-002", level="integration", engines=["exporter"])
def gguf_arch_name(ctx: RunContext) -> Verdict:
    """general.architecture is the llama.cpp name (qwen2/llama), never an HF class name."""
    for arch in ("qwen2", "llama"):
        got = _exported(ctx, arch)
        if isinstance(got, Verdict):
            return got
        values, _, ckpt = got
        expected = FAMILY[sup.config_of(ckpt)["model_type"]]
        found = values.get("general.architecture")
        if found != expected:
            return ctx.falsified(f"{arch} checkpoint exported with general.architecture={found!r}, expected {expected!r}",
                                 counterexample=found)
        foreign = sorted({k.split(".", 1)[0] for k in values} - {"general", "tokenizer", expected})
        if foreign:
            return ctx.falsified(f"hyper-parameter keys use prefixes {foreign}, not {expected!r}")
    return ctx.held("qwen2 -> 'qwen2', llama -> 'llama'")


@falsifier("FALSIFY-EXPORT-GGUF-003", level="integration", engines=["exporter"])
def arch_metadata_complete(ctx: RunContext) -> Verdict:
    """Every hyper-parameter llama.cpp needs is written with the config's value."""
    for arch in ("qwen2", "llama"):
        got = _exported(ctx, arch)
        if isinstance(got, Verdict):
            return got
        values, _, ckpt = got
        config = sup.config_of(ckpt)
        for suffix, field in ARCH_KEYS.items():
            key = f"{arch}.{suffix}"
            if key not in values:
                return ctx.falsified(f"{key} is missing (config.json has {field}={config[field]!r})", counterexample=key)
            if abs(float(values[key]) - float(config[field])) > 1e-6 * max(1.0, abs(float(config[field]))):
                return ctx.falsified(f"{key}={values[key]!r} but config.json {field}={config[field]!r}", counterexample=key)
    return ctx.held(f"{len(ARCH_KEYS)} hyper-parameter keys equal config.json for qwen2 and llama")


@falsifier("FALSIFY-EXPORT-GGUF-004", level="integration", engines=["exporter"])
def rope_freq_base_written(ctx: RunContext) -> Verdict:
    """{arch}.rope.freq_base is present and equals rope_theta (absent => llama.cpp uses 10000)."""
    got = _exported(ctx, "qwen2")
    if isinstance(got, Verdict):
        return got
    values, _, ckpt = got
    theta = float(sup.config_of(ckpt)["rope_theta"])
    found = values.get("qwen2.rope.freq_base")
    if found is None or abs(float(found) - theta) > 1e-6 * theta:
        return ctx.falsified(f"qwen2.rope.freq_base={found!r}, rope_theta={theta}", measured={"rope_theta": theta})
    return ctx.held(measured={"rope_freq_base": float(found)})


@falsifier("FALSIFY-EXPORT-GGUF-005", level="integration", engines=["exporter"])
def tokenizer_embedded_with_pre(ctx: RunContext) -> Verdict:
    """The GGUF embeds the tokenizer: gpt2 model, the right pre name, every token and merge."""
    got = _exported(ctx, "qwen2")
    if isinstance(got, Verdict):
        return got
    values, _, ckpt = got
    data = json.loads((ckpt / "tokenizer.json").read_text(encoding="utf-8"))
    if values.get("tokenizer.ggml.model") != "gpt2":
        return ctx.falsified(f"tokenizer.ggml.model={values.get('tokenizer.ggml.model')!r}, expected 'gpt2'")
    # The fixture tokenizer splits with Qwen2's regex: llama.cpp's name for it is 'qwen2'.
    if values.get("tokenizer.ggml.pre") != "qwen2":
        return ctx.falsified(f"tokenizer.ggml.pre={values.get('tokenizer.ggml.pre')!r}, expected 'qwen2' "
                             "(absent or 'default' tokenizes differently)", counterexample=values.get("tokenizer.ggml.pre"))
    merges = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    if values.get("tokenizer.ggml.merges") != merges:
        return ctx.falsified("tokenizer.ggml.merges differ from tokenizer.json's merges (count or order)")
    tokens = values.get("tokenizer.ggml.tokens") or []
    wrong = [i for i, (t, _) in sup.tokenizer_ids(ckpt).items() if i >= len(tokens) or tokens[i] != t]
    if wrong:
        return ctx.falsified(f"{len(wrong)} tokenizer ids hold another token in the GGUF, e.g. id {wrong[0]}")
    return ctx.held(measured={"tokens": len(tokens), "merges": len(merges)})


@falsifier("FALSIFY-EXPORT-GGUF-006", level="integration", engines=["exporter"])
def qkv_biases_written(ctx: RunContext) -> Verdict:
    """Every q/k/v bias of a qwen2 model is in the GGUF with the checkpoint's values."""
    import numpy as np

    got = _exported(ctx, "qwen2")
    if isinstance(got, Verdict):
        return got
    _, tensors, ckpt = got
    hf = sup.hf_tensors(ckpt)
    for i in range(int(sup.config_of(ckpt)["num_hidden_layers"])):
        for p in ("q", "k", "v"):
            name = f"blk.{i}.attn_{p}.bias"
            if name not in tensors:
                return ctx.falsified(f"{name} is missing (llama.cpp would load the file and skip the bias)", counterexample=name)
            if not np.allclose(tensors[name], hf[f"model.layers.{i}.self_attn.{p}_proj.bias"], atol=1e-6):
                return ctx.falsified(f"{name} differs from the checkpoint's bias", counterexample=name)
    return ctx.held("all q/k/v biases present and equal")


@falsifier("FALSIFY-EXPORT-GGUF-007", level="integration", engines=["exporter"])
def qk_permutation(ctx: RunContext) -> Verdict:
    """llama arch: q/k rows permuted to llama.cpp's pairing; qwen2: written unchanged."""
    import numpy as np

    for arch in ("llama", "qwen2"):
        got = _exported(ctx, arch)
        if isinstance(got, Verdict):
            return got
        _, tensors, ckpt = got
        config, hf = sup.config_of(ckpt), sup.hf_tensors(ckpt)
        heads = {"q": config["num_attention_heads"], "k": config["num_key_value_heads"]}
        for p, n_head in heads.items():
            src = hf[f"model.layers.0.self_attn.{p}_proj.weight"]
            want = sup.gguf_rows_for_llama(src, int(n_head)) if arch == "llama" else src
            found = tensors[f"blk.0.attn_{p}.weight"]
            if not np.allclose(found, want, atol=1e-6):
                how = "not permuted" if np.allclose(found, src, atol=1e-6) else "permuted wrongly"
                return ctx.falsified(f"{arch}: blk.0.attn_{p}.weight is {how} (llama.cpp would compute other attention)",
                                     counterexample=f"{arch}/attn_{p}")
    return ctx.held("llama q/k rows in llama.cpp's order; qwen2 unchanged")


@falsifier("FALSIFY-EXPORT-GGUF-008", level="integration", engines=["exporter"])
def vocab_padding_keeps_added_tokens(ctx: RunContext) -> Verdict:
    """Tokens fill the embedding rows; added tokens stay at their ids; only the rest is UNUSED padding."""
    got = _exported(ctx, "qwen2")
    if isinstance(got, Verdict):
        return got
    values, tensors, ckpt = got
    rows = int(tensors["token_embd.weight"].shape[0])
    tokens, types = values.get("tokenizer.ggml.tokens") or [], values.get("tokenizer.ggml.token_type") or []
    ids = sup.tokenizer_ids(ckpt)
    if len(tokens) != rows or len(types) != rows:
        return ctx.falsified(f"{len(tokens)} tokens / {len(types)} types for {rows} embedding rows")
    for i, (text, special) in sorted(ids.items()):
        if tokens[i] != text:
            return ctx.falsified(f"id {i} should be {text!r}, the GGUF has {tokens[i]!r}", counterexample=i)
        if special and types[i] != 3:
            return ctx.falsified(f"special added token {text!r} (id {i}) has type {types[i]}, expected CONTROL (3)")
    pads = [i for i in range(rows) if i not in ids]
    if any(types[i] != 5 for i in pads):
        return ctx.falsified("a padding row is not typed UNUSED (5)")
    return ctx.held(measured={"rows": rows, "tokenizer_ids": len(ids), "placeholders": len(pads)})


@falsifier("FALSIFY-EXPORT-GGUF-009", level="algorithm", engines=["exporter"])
def qwen25_padding_arithmetic(ctx: RunContext) -> Verdict:
    """Qwen2.5 layout: 151,643 BPE + 22 added ids in 151,936 rows -> 271 placeholders; in 151,665 rows none; 151,664 refused."""
    from engines.exporter.tokmeta import CONTROL, NORMAL, USER_DEFINED, TokenizerMeta
    from engines.tokenizer.fixtures import QWEN_ADDED, QWEN_BPE_COUNT

    by_id = {i: (f"t{i}", NORMAL) for i in range(QWEN_BPE_COUNT)}
    for k, (text, special) in enumerate(QWEN_ADDED):
        by_id[QWEN_BPE_COUNT + k] = (text, CONTROL if special else USER_DEFINED)
    tok = TokenizerMeta(model="gpt2", pre="qwen2", by_id=by_id, merges=[])
    tokens, types = ctx.engine("exporter").pad_tokens(tok, 151_936)
    placeholders = sum(1 for t in types if t == 5)
    measured = {"rows": len(tokens), "placeholders": placeholders}
    if len(tokens) != 151_936 or placeholders != 271:
        return ctx.falsified(f"{len(tokens)} rows with {placeholders} placeholders, expected 151,936 with 271", measured=measured)
    if tokens[151_643] != "<|endoftext|>" or types[151_643] != CONTROL or tokens[151_664] != "<|file_sep|>":
        return ctx.falsified(f"added tokens displaced: id 151643={tokens[151_643]!r}, id 151664={tokens[151_664]!r}", measured=measured)
    # The bound on the dot: ids that fill every row exactly pad nothing; one row fewer must be refused.
    ids = len(by_id)  # 151,665
    try:
        full, full_types = ctx.engine("exporter").pad_tokens(tok, ids)
    except Exception as exc:
        return ctx.falsified(f"{ids:,} ids in exactly {ids:,} rows refused: {exc}", measured=measured)
    if len(full) != ids or any(t == 5 for t in full_types) or full[ids - 1] != "<|file_sep|>":
        return ctx.falsified(f"{ids:,} ids in {ids:,} rows gave {len(full):,} tokens, "
                             f"{sum(1 for t in full_types if t == 5)} placeholders (expected 0)", measured=measured)
    try:
        short = ctx.engine("exporter").pad_tokens(tok, ids - 1)
    except Exception:
        return ctx.held(measured=measured)
    return ctx.falsified(f"{ids:,} ids padded into {ids - 1:,} rows without refusal ({len(short[0]):,} tokens): "
                         "id 151,664 would index past the embedding", measured=measured)


# Items the self-check must refuse when absent, written out here (not read from the engine's table).
_MUST_REFUSE_KEYS = (
    "qwen2.context_length", "qwen2.embedding_length", "qwen2.block_count", "qwen2.feed_forward_length",
    "qwen2.attention.head_count", "qwen2.attention.head_count_kv", "qwen2.attention.layer_norm_rms_epsilon",
    "qwen2.rope.freq_base", "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
    "tokenizer.ggml.merges", "general.architecture",
)
_MUST_REFUSE_TENSORS = ("token_embd.weight", "output_norm.weight", "blk.1.ffn_down.weight", "blk.0.attn_k.bias")


@falsifier("FALSIFY-EXPORT-GGUF-010", level="algorithm", engines=["exporter"])
def self_check_refuses_incomplete(ctx: RunContext) -> Verdict:
    """The read-back check names every missing required key or tensor, silent ones included."""
    from falsifiers._gguf_reference import write_reference_gguf

    engine = ctx.engine("exporter")
    ckpt = sup.checkpoint(ctx, "qwen2")
    # The known-good file is written by falsifiers/_gguf_reference.py (llama.cpp's layout, written
    # independently), not by the exporter: a defect shared by the engine and its "good" file would
    # hide here. The hyper-parameters verify() takes are the engine's own reading of config.json
    # (its input type, not the oracle); tok=None: the tokenizer keys' presence is what is checked.
    good = write_reference_gguf(ckpt, ctx.workspace / "good.gguf", "qwen2")
    _, hp = engine.hparams(ckpt)
    tok = None
    if engine.verify(good, hp, tok):
        return ctx.falsified(f"the check rejects a complete file: {engine.verify(good, hp, tok)[:2]}")
    missed = []
    for item in (*_MUST_REFUSE_KEYS, *_MUST_REFUSE_TENSORS):
        bad = ctx.workspace / "stripped.gguf"
        is_tensor = item in _MUST_REFUSE_TENSORS
        sup.copy_gguf_without(good, bad, drop_key=None if is_tensor else item, drop_tensor=item if is_tensor else None)
        if not any(item in str(p) for p in engine.verify(bad, hp, tok)):
            missed.append(item)
    if missed:
        return ctx.falsified(f"the read-back check accepts a GGUF without {missed}", counterexample=missed,
                             measured={"missed": len(missed)})
    return ctx.held(measured={"items_checked": len(_MUST_REFUSE_KEYS) + len(_MUST_REFUSE_TENSORS)})


@falsifier("FALSIFY-EXPORT-GGUF-011", level="integration", engines=["exporter"])
def tokenizer_embedded_gate(ctx: RunContext) -> Verdict:
    """A checkpoint without tokenizer.json fails `apr qa` (exit 1) and `apr export` writes nothing."""
    import shutil

    ckpt = sup.checkpoint(ctx, "qwen2")
    good = sup.apr(ctx, "qa", ckpt, "--format", "json", "--no-progress")
    gates = {g["id"]: g["status"] for g in json.loads(good.stdout or "{}").get("gates", [])}
    if good.returncode != 0 or gates.get("QA-TOKENIZER-EMBEDDED") != "PASS":
        return ctx.falsified(f"qa on a complete checkpoint: exit {good.returncode}, gates {gates}; {sup.tail(good)}")
    bare = ctx.workspace / "no-tokenizer"
    shutil.copytree(ckpt, bare, dirs_exist_ok=True)
    (bare / "tokenizer.json").unlink()  # tokenizer_config.json stays, as in the field defect
    proc = sup.apr(ctx, "qa", bare, "--format", "json", "--no-progress")
    gates = {g["id"]: g["status"] for g in json.loads(proc.stdout or "{}").get("gates", [])}
    if proc.returncode != 1 or gates.get("QA-TOKENIZER-EMBEDDED") != "FAIL":
        return ctx.falsified(f"qa on a checkpoint without tokenizer.json: exit {proc.returncode}, "
                             f"QA-TOKENIZER-EMBEDDED={gates.get('QA-TOKENIZER-EMBEDDED')}", counterexample=gates)
    out = ctx.workspace / "no-tok.gguf"
    exp = sup.apr(ctx, "export", bare, "-o", out, "--no-progress")
    if exp.returncode != 1 or out.exists() or list(ctx.workspace.glob(".no-tok.gguf.*")):
        return ctx.falsified(f"export without a tokenizer: exit {exp.returncode}, file written={out.exists()}")
    return ctx.held("tokenizer gate FAILs and export refuses without tokenizer.json")


@falsifier("FALSIFY-EXPORT-GGUF-012", level="integration", engines=["exporter"])
def arch_metadata_gate(ctx: RunContext) -> Verdict:
    """A config.json without hidden_size fails `apr qa`; a truncated GGUF fails qa with exit 1, not a crash."""
    import shutil

    ckpt = sup.checkpoint(ctx, "qwen2")
    broken = ctx.workspace / "no-hidden-size"
    shutil.copytree(ckpt, broken, dirs_exist_ok=True)
    config = sup.config_of(broken)
    del config["hidden_size"]
    (broken / "config.json").write_text(json.dumps(config), encoding="utf-8")
    proc = sup.apr(ctx, "qa", broken, "--format", "json", "--no-progress")
    gates = {g["id"]: g for g in json.loads(proc.stdout or "{}").get("gates", [])}
    meta = gates.get("QA-ARCH-METADATA", {})
    if proc.returncode != 1 or meta.get("status") != "FAIL" or "hidden_size" not in meta.get("reason", ""):
        return ctx.falsified(f"qa on a config without hidden_size: exit {proc.returncode}, QA-ARCH-METADATA={meta}",
                             counterexample=meta)
    passed = [g for g, v in gates.items() if v["status"] == "PASS" and g in ("QA-TENSOR-INVENTORY", "QA-GREEDY-DECODE")]
    if passed:
        return ctx.falsified(f"gates {passed} PASS although they could not be checked without hidden_size")
    out, exp = sup.export(ctx, ckpt, "full.gguf", dtype="f16", verify=True)
    if out is None:
        return ctx.falsified(f"export of the complete checkpoint failed: {sup.tail(exp)}")
    cut = ctx.workspace / "truncated.gguf"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    trunc = sup.apr(ctx, "qa", cut, "--format", "json", "--no-progress")
    if trunc.returncode != 1 or '"FAIL"' not in trunc.stdout:
        return ctx.falsified(f"qa on a truncated GGUF: exit {trunc.returncode} (want 1 with a FAIL gate): {sup.tail(trunc)}")
    return ctx.held("metadata gate FAILs naming hidden_size; truncated GGUF -> FAIL, exit 1")


@falsifier("FALSIFY-EXPORT-GGUF-013", level="integration", engines=["exporter"])
def bench_receipt_is_auditable(ctx: RunContext) -> Verdict:
    """`apr bench --format json`: raw samples, their true median, the model's sha256, machine, threads."""
    ckpt = sup.checkpoint(ctx, "qwen2")
    proc = sup.apr(ctx, "bench", ckpt, "--format", "json", "--repeats", "3", "--prompt-tokens", "64",
                   "--decode-tokens", "8", "--threads", "1", "--no-progress")
    if proc.returncode != 0:
        return ctx.falsified(f"apr bench failed (exit {proc.returncode}): {sup.tail(proc)}")
    receipt = json.loads(proc.stdout)
    for phase in ("prefill", "decode"):
        p = receipt[phase]
        if len(p["seconds"]) != 3 or len(p["tokens_per_s"]) != 3 or min(p["tokens_per_s"]) <= 0:
            return ctx.falsified(f"{phase}: expected 3 positive samples, got {p}")
        true_median = statistics.median(p["tokens_per_s"])
        if abs(p["median_tokens_per_s"] - true_median) > 1e-3 * max(1.0, true_median):
            return ctx.falsified(f"{phase}: median_tokens_per_s={p['median_tokens_per_s']} but the samples' median is {true_median}",
                                 counterexample=p)
    for name, entry in receipt["model"]["files"].items():
        if sha256_file(ckpt / name) != entry["sha256"]:
            return ctx.falsified(f"receipt sha256 of {name} does not match the file")
    if receipt.get("threads") != 1 or not receipt.get("machine", {}).get("cpu_count") or not receipt.get("tool", {}).get("sha256"):
        return ctx.falsified(f"receipt lacks threads/machine/tool identity: {receipt.get('threads')}, {receipt.get('machine')}")
    return ctx.held(measured={"prefill_tok_s": receipt["prefill"]["median_tokens_per_s"],
                              "decode_tok_s": receipt["decode"]["median_tokens_per_s"]})


@falsifier("FALSIFY-EXPORT-GGUF-014", level="integration", engines=["exporter"])
def model_card_reaches_gguf(ctx: RunContext) -> Verdict:
    """A checkpoint's licence and links (ours, or an HF README's front matter) are written as general.*."""
    ours = sup.checkpoint(ctx, "qwen2", name="ckpt-card")
    meta_path = ours / "apr_checkpoint.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    card = {"general.license": "apache-2.0", "general.author": "pv falsifier", "general.url": "https://example.org/m"}
    meta_path.write_text(json.dumps({**meta, "general": card}), encoding="utf-8")
    plain = sup.checkpoint(ctx, "llama", name="ckpt-readme")
    (plain / "apr_checkpoint.json").unlink(missing_ok=True)  # a plain HF directory: its card is README.md
    (plain / "README.md").write_text("---\nlicense: mit\ntags: [test]\n---\n# tiny\n", encoding="utf-8")
    for ckpt, expected in ((ours, card), (plain, {"general.license": "mit"})):
        out, proc = sup.export(ctx, ckpt, f"{ckpt.name}.gguf")
        if out is None:
            return ctx.falsified(f"apr export of {ckpt.name} failed (exit {proc.returncode}): {sup.tail(proc)}")
        values, _ = sup.read_gguf(out)
        found = {key: values.get(key) for key in expected}
        if found != expected:
            return ctx.falsified(f"{ckpt.name}: GGUF has {found}, the checkpoint carries {expected}", counterexample=found)
    return ctx.held(measured={"keys": len(card) + 1})
