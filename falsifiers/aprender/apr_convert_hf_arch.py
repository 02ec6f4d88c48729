"""Falsifiers of the reference contract apr-convert-hf-arch-v1 (FALSIFY-CONVERT-HF-ARCH-*): the HF architecture class through import and export.

Read as: the other project's `apr convert` into its `.apr` metadata is our `apr import` (HF folder or
GGUF -> checkpoint directory), and its ``hf_architecture`` field is the ``hf_architecture`` our import
records in the checkpoint's ``apr_checkpoint.json`` (what `apr inspect --format json` shows under
``meta``). Each falsifier imports a real tiny model through the trainer engine and reads the record
back from disk, so the field is checked after its write + read round trip.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

# The canonical family -> class table the contract names, plus its rule for an unknown family.
CANONICAL = {"qwen2": "Qwen2ForCausalLM", "qwen2.5": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM",
             "mistral": "MistralForCausalLM", "gemma2": "Gemma2ForCausalLM", "phi": "PhiForCausalLM",
             "phi3": "Phi3ForCausalLM", "mamba": "MambaForCausalLM"}


def hf_source(ctx: RunContext, arch: str = "qwen2") -> Path:
    """A complete tiny HF folder (config.json, safetensors, tokenizer) in the workspace, built once per arch."""
    from engines.exporter.fixtures import tiny_checkpoint

    dest = ctx.workspace / f"hf-{arch}"
    if not (dest / "config.json").is_file():
        tiny_checkpoint(dest, arch, seed=ctx.seed)
    return dest


def imported(ctx: RunContext, source: Path, name: str, **config_changes: Any) -> dict[str, Any]:
    """Import ``source`` (its config.json first changed as given; None deletes a key) and read the record back."""
    if config_changes:
        path = source / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        for key, value in config_changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        path.write_text(json.dumps(config), encoding="utf-8")
    out = ctx.workspace / name
    ctx.engine("trainer").import_model(source, out, force=True)
    from engines.trainer.checkpoint import read_meta

    return dict(read_meta(out))


@falsifier("FALSIFY-CONVERT-HF-ARCH-001", level="integration", engines=["trainer"])
def hf_architecture_from_config_json(ctx: RunContext) -> Verdict:
    """architectures[0] of the source config.json is recorded as hf_architecture (qwen2 and llama)."""
    got = {}
    for arch, cls in (("qwen2", "Qwen2ForCausalLM"), ("llama", "LlamaForCausalLM")):
        meta = imported(ctx, hf_source(ctx, arch), f"imp-{arch}")
        got[arch] = (meta.get("hf_architecture"), meta.get("hf_model_type"))
        if got[arch] != (cls, arch):
            return ctx.falsified(f"importing an HF {arch} folder with architectures=[{cls!r}] recorded "
                                 f"hf_architecture={got[arch][0]!r}, hf_model_type={got[arch][1]!r}",
                                 counterexample={"architectures": [cls], "recorded": got[arch]})
    return ctx.held("apr import records architectures[0] and model_type: " + ", ".join(f"{a}: {v[0]}" for a, v in got.items()),
                    measured={k: list(v) for k, v in got.items()})


@falsifier("FALSIFY-CONVERT-HF-ARCH-002", level="integration", engines=["trainer"])
def missing_architectures_stays_unset(ctx: RunContext) -> Verdict:
    """No ``architectures`` (absent, or an empty list) leaves hf_architecture unset (null), not a class guessed from model_type."""
    src = hf_source(ctx)
    got = {}
    for label, value in (("absent", None), ("empty list", [])):
        meta = imported(ctx, src, f"imp-{label.replace(' ', '-')}", architectures=value)
        got[label] = meta.get("hf_architecture", "<key missing>")
        if got[label] is not None:
            return ctx.falsified(f"config.json with architectures {label}: hf_architecture={got[label]!r} was fabricated",
                                 counterexample={"architectures": value, "recorded": got[label]})
    return ctx.held("architectures absent or empty -> hf_architecture null (model_type alone is not turned into a class)",
                    measured=got)


@falsifier("FALSIFY-CONVERT-HF-ARCH-003", level="integration", engines=["trainer"])
def first_of_several_architectures(ctx: RunContext) -> Verdict:
    """architectures = [CausalLM, SequenceClassification] imports, recording the first."""
    classes = ["Qwen2ForCausalLM", "Qwen2ForSequenceClassification"]
    meta = imported(ctx, hf_source(ctx), "imp-multi", architectures=classes)
    if meta.get("hf_architecture") != classes[0]:
        return ctx.falsified(f"architectures={classes}: hf_architecture={meta.get('hf_architecture')!r}, expected the first",
                             counterexample={"architectures": classes, "recorded": meta.get("hf_architecture")})
    return ctx.held(f"architectures={classes} -> hf_architecture {classes[0]!r}", measured={"recorded": classes[0]})


@falsifier("FALSIFY-CONVERT-HF-ARCH-004", level="integration", engines=["trainer"])
def gguf_import_synthesizes_class(ctx: RunContext) -> Verdict:
    """A GGUF import records the canonical class for general.architecture; the family table and the unknown-family rule hold."""
    from engines.exporter.engine import GGUFExporter

    engine = ctx.engine("trainer")
    table = {family: engine.hf_class_for_family(family) for family in CANONICAL}
    wrong = {f: c for f, c in table.items() if c != CANONICAL[f]}
    if wrong:
        first = next(iter(wrong))
        return ctx.falsified(f"family -> HF class: {first!r} gave {wrong[first]!r}, expected {CANONICAL[first]!r}",
                             counterexample=wrong, measured={"table": table})
    recorded = {}
    for arch in ("qwen2", "llama"):
        gguf_path = ctx.workspace / f"{arch}.gguf"
        if not gguf_path.is_file():  # the exporter is a fixture here, not the engine under test
            GGUFExporter().export(hf_source(ctx, arch), gguf_path, dtype="f32", force=True)
        meta = imported(ctx, gguf_path, f"imp-gguf-{arch}")
        recorded[arch] = meta.get("hf_architecture")
        if recorded[arch] != CANONICAL[arch]:
            return ctx.falsified(f"importing a GGUF with general.architecture={arch!r} recorded hf_architecture="
                                 f"{recorded[arch]!r}, expected {CANONICAL[arch]!r}", counterexample=recorded)
    return ctx.held("GGUF imports record " + ", ".join(f"{a} -> {c}" for a, c in recorded.items())
                    + f"; the table of {len(table)} families (unknown: capitalized + ForCausalLM) holds",
                    measured={"table": table, "gguf": recorded})


CONTRACT = "C-APR-CONVERT-HF-ARCH"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
