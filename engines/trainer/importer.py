"""`apr import SRC --output DIR`: an HF model directory or a GGUF file -> a checkpoint directory.

* HF directory (config.json + safetensors + tokenizer files): validated strictly (config
  fields, every tensor name and shape, tokenizer present) and re-written as our checkpoint.
* GGUF (llama / qwen2 arch): hyper-parameters from the GGUF keys through the exporter's
  layout table (:mod:`engines.exporter.layout`, the one GGUF<->HF map of the project), every
  tensor dequantized with ``gguf.quants.dequantize``, ``llama``-arch q/k rows un-permuted
  (llama.cpp pairs adjacent rows, HF ``rotate_half`` pairs i and i+d/2), the tokenizer
  rebuilt as a ``tokenizer.json`` (BPE vocab + merges, CONTROL tokens as special added
  tokens, the pre-tokenizer named by ``tokenizer.ggml.pre``) and the chat template and
  special tokens kept in ``tokenizer_config.json``.

Heavy imports (numpy, torch, gguf, tokenizers) happen inside functions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.trainer.config import ArchConfig, from_hf_config

QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CONTROL = 3  # gguf TokenType.CONTROL


# The source's model identity is recorded in the checkpoint's apr_checkpoint.json as
# ``hf_architecture`` (the HF class, e.g. Qwen2ForCausalLM) and ``hf_model_type`` (the family slug):
# from config.json for an HF directory, synthesized from ``general.architecture`` for a GGUF.
# Family slugs whose class name is not "Capitalized slug + ForCausalLM" (version suffixes).
HF_CLASS_EXCEPTIONS: dict[str, str] = {"qwen2.5": "Qwen2ForCausalLM", "qwen3.5": "Qwen3ForCausalLM"}


def hf_architecture_from_config(config: Mapping[str, Any]) -> str | None:
    """``architectures[0]`` when it is a non-empty list whose first entry is a string; otherwise None (never a guess)."""
    classes = config.get("architectures")
    if isinstance(classes, list) and classes and isinstance(classes[0], str) and classes[0]:
        return classes[0]
    return None


def synthesize_hf_architecture(family: str) -> str:
    """The canonical HF class for a GGUF ``general.architecture``: qwen2 -> Qwen2ForCausalLM, llama -> LlamaForCausalLM."""
    slug = family.strip().lower()
    if slug in HF_CLASS_EXCEPTIONS:
        return HF_CLASS_EXCEPTIONS[slug]
    return slug[:1].upper() + slug[1:] + "ForCausalLM"


class ImportError_(AprError):
    """The source cannot be turned into a checkpoint."""


@dataclass
class ImportResult:
    output: Path
    source: Path
    kind: str  # "gguf" | "hf"
    config: ArchConfig
    tensors: int
    parameters: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "source": str(self.source), "kind": self.kind,
                "family": self.config.family, "tensors": self.tensors, "parameters": self.parameters,
                "config": self.config.model_dump(), **self.meta}


@dataclass
class GGUFModel:
    hf_config: dict[str, Any]
    state_dict: dict[str, Any]
    values: dict[str, Any]


def _f32_clean(x: float) -> float:
    """GGUF stores floats as f32: 1e-5 reads back as 9.99999974e-06; keep 7 significant digits."""
    return float(f"{float(x):.7g}")


def gguf_hf_config(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(HF config dict, raw GGUF key values) from a GGUF's metadata; no tensor data is read."""
    from engines.exporter import layout
    from engines.exporter.readback import GGUFReadError, read_gguf

    try:
        info = read_gguf(Path(path))
    except GGUFReadError as exc:
        raise ImportError_(str(exc), hint="pass a complete .gguf file") from exc
    arch = info.arch
    if arch not in layout.SUPPORTED_ARCHS:
        raise ImportError_(
            f"{path}: GGUF general.architecture={arch!r} is not a supported decoder (llama, qwen2)",
            hint="only Llama/Qwen2-family decoders can be imported", falsifier="FALSIFY-APR-PRETRAIN-ARCH-007",
        )
    values = dict(info.values)
    values["__tied__"] = "output.weight" not in info.tensors
    try:
        hf = layout.hf_config_from_gguf_values(arch, values)
    except layout.LayoutError as exc:
        raise ImportError_(f"{path}: {exc}", hint="the GGUF lacks hyper-parameters; re-convert it",
                           falsifier="FALSIFY-APR-PRETRAIN-ARCH-003") from exc
    for key in ("rms_norm_eps", "rope_theta"):
        hf[key] = _f32_clean(hf[key])
    if arch == "llama":
        hf["attention_bias"] = "blk.0.attn_q.bias" in info.tensors
    for ours, theirs in (("bos_token_id", "bos"), ("eos_token_id", "eos"), ("pad_token_id", "padding")):
        token = values.get(f"tokenizer.ggml.{theirs}_token_id")
        hf[ours] = int(token) if token is not None else None
    return hf, values


def read_gguf(path: Path, *, unpermute_qk: bool = True) -> GGUFModel:
    """Dequantized weights under HF names (torch fp32) plus the HF config of a GGUF."""
    import numpy as np
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize

    from engines.exporter import layout

    hf, values = gguf_hf_config(path)
    config = from_hf_config(hf, source=f"{path} (GGUF metadata)")
    hp = layout.hparams_from_config(hf)
    reader = GGUFReader(str(path))
    state: dict[str, Any] = {}
    for tensor in reader.tensors:
        rows_cols = tuple(int(d) for d in reversed(tensor.shape.tolist()))
        array = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32).reshape(rows_cols)
        if unpermute_qk:
            name, array = layout.gguf_tensor_to_hf(tensor.name, array, hp)
        else:
            name = layout.gguf_to_hf_name(tensor.name)
        state[name] = torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))
    del config
    return GGUFModel(hf, state, values)


def _pre_tokenizer(pre: str | None, path: Path) -> tuple[Any, Any]:
    from tokenizers import Regex, normalizers, pre_tokenizers

    if pre == "smollm":
        return None, pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    if pre == "qwen2":
        return normalizers.NFC(), pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if pre == "gpt-2":
        return None, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    raise ImportError_(f"{path}: tokenizer.ggml.pre={pre!r} has no known tokenizer.json equivalent",
                       hint="supported pre-tokenizers: smollm, qwen2, gpt-2")


def _pair(merge: str) -> tuple[str, str]:
    left, _, right = merge.partition(" ")
    return left, right


def gguf_tokenizer(values: dict[str, Any], path: Path, out_dir: Path) -> None:
    """Write tokenizer.json + tokenizer_config.json rebuilt from the GGUF tokenizer keys."""
    from tokenizers import AddedToken, Tokenizer, decoders, models

    if values.get("tokenizer.ggml.model") != "gpt2":
        raise ImportError_(f"{path}: tokenizer.ggml.model={values.get('tokenizer.ggml.model')!r}; only byte-level "
                           "BPE ('gpt2') is supported", hint="import a GGUF with a BPE tokenizer")
    tokens = [str(t) for t in values["tokenizer.ggml.tokens"]]
    types = [int(t) for t in values.get("tokenizer.ggml.token_type") or [1] * len(tokens)]
    merges = [_pair(str(m)) for m in values.get("tokenizer.ggml.merges") or []]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    normalizer, pre = _pre_tokenizer(values.get("tokenizer.ggml.pre"), path)
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types, strict=True) if ty == CONTROL])
    tok.save(str(out_dir / "tokenizer.json"))
    config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
                              "add_bos_token": bool(values.get("tokenizer.ggml.add_bos_token", False))}
    for name, key in (("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding")):
        token_id = values.get(f"tokenizer.ggml.{key}_token_id")
        if token_id is not None and 0 <= int(token_id) < len(tokens):
            config[name] = tokens[int(token_id)]
    if values.get("tokenizer.chat_template"):
        config["chat_template"] = str(values["tokenizer.chat_template"])
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def import_model(
    source: Path,
    output: Path,
    *,
    force: bool = False,
    unpermute_qk: bool = True,
    config_from_hf: Callable[..., ArchConfig] = from_hf_config,
    hf_architecture_of: Callable[[Mapping[str, Any]], str | None] = hf_architecture_from_config,
    synthesize_hf_class: Callable[[str], str] = synthesize_hf_architecture,
) -> ImportResult:
    import tempfile

    from apr_contracts.hashing import sha256_file
    from engines import model_card
    from engines.trainer.checkpoint import load_checkpoint, save_checkpoint
    from engines.trainer.params import count_parameters

    if output.exists() and not force:
        raise AprError(f"{output}: already exists; refusing to overwrite it",
                       hint="pass --force to replace it, or choose another --output")
    if source.is_file() and source.suffix == ".gguf":
        model = read_gguf(source, unpermute_qk=unpermute_qk)
        config = config_from_hf(model.hf_config, source=f"{source} (GGUF metadata)")
        with tempfile.TemporaryDirectory(prefix=".apr-import-tok-", dir=output.parent if output.parent.exists() else None) as tmp:
            gguf_tokenizer(model.values, source, Path(tmp))
            meta = {"source": str(source), "source_kind": "gguf", "source_sha256": sha256_file(source),
                    "qk_unpermuted": bool(unpermute_qk and config.family == "llama"), "step": 0,
                    "hf_architecture": synthesize_hf_class(str(model.values["general.architecture"])),
                    "hf_model_type": str(model.values["general.architecture"]),
                    "general": model_card.from_gguf_values(model.values)}
            if output.exists():
                shutil.rmtree(output)
            save_checkpoint(output, config, model.state_dict, Path(tmp), meta)
        return ImportResult(output, source, "gguf", config, len(model.state_dict), count_parameters(config), meta)
    if source.is_dir():
        ckpt = load_checkpoint(source)  # strict: config fields, tensors, shapes, tokenizer
        hf_config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        config = config_from_hf(hf_config, source=str(source / "config.json"))
        model_type = hf_config.get("model_type")
        meta = {"source": str(source), "source_kind": "hf", "step": 0, "general": model_card.from_directory(source),
                "hf_architecture": hf_architecture_of(hf_config),
                "hf_model_type": model_type if isinstance(model_type, str) else None}
        if output.exists():
            shutil.rmtree(output)
        save_checkpoint(output, config, ckpt.state_dict, source, meta)
        return ImportResult(output, source, "hf", config, len(ckpt.state_dict), count_parameters(config), meta)
    raise AprError(f"{source}: not a .gguf file nor a model directory",
                   hint="pass an HF directory (config.json + model.safetensors + tokenizer.json) or a .gguf file",
                   exit_code=2 if not source.exists() else 1)
