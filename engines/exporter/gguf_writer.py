"""Reading an HF-layout checkpoint and writing a GGUF with the `gguf` library.

The writing is split in small steps (metadata list, tensor list, file) so the engine can
check each of them and the deliberately broken engines can change exactly one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.exporter.layout import HParams
from engines.exporter.tokmeta import TokenizerMeta

DTYPES = ("f32", "f16", "q8_0")
# general.file_type values (llama.cpp's LLAMA_FTYPE_*): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0.
FILE_TYPE = {"f32": 0, "f16": 1, "q8_0": 7}
Q8_0_BLOCK = 32


class CheckpointError(ValueError):
    """The checkpoint directory cannot be exported (missing file, missing metadata, bad tensors)."""


def read_config(ckpt_dir: Path) -> dict[str, Any]:
    path = ckpt_dir / "config.json"
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing: the checkpoint carries no architecture metadata "
            "(expected an HF-layout directory: config.json, model.safetensors, tokenizer.json)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} must hold a JSON object, found {type(config).__name__}")
    return config


def safetensors_files(ckpt_dir: Path) -> list[Path]:
    single = ckpt_dir / "model.safetensors"
    if single.is_file():
        return [single]
    index = ckpt_dir / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [ckpt_dir / s for s in shards]
    raise CheckpointError(f"{ckpt_dir} has no model.safetensors (nor a sharded index): no weights to export")


def iter_checkpoint_arrays(ckpt_dir: Path) -> Iterator[tuple[str, Any]]:
    """(HF name, float32 numpy array) for every tensor of the checkpoint, one at a time."""
    import numpy as np
    from safetensors import safe_open

    for path in safetensors_files(ckpt_dir):
        try:
            handle = safe_open(str(path), framework="numpy")
        except Exception as exc:  # safetensors raises its own error types
            if "bf16" not in str(exc).lower() and "bfloat16" not in str(exc).lower():
                raise CheckpointError(f"{path} cannot be read as safetensors: {exc}") from exc
            handle = None
        if handle is not None:
            try:
                for name in handle.keys():  # noqa: SIM118 - safe_open is not a Mapping
                    yield name, np.asarray(handle.get_tensor(name), dtype=np.float32)
                continue
            except TypeError:
                pass  # bfloat16 has no numpy dtype: read through torch instead
        import torch
        from safetensors.torch import load_file

        for name, t in load_file(str(path)).items():
            yield name, t.to(torch.float32).numpy()


@dataclass(frozen=True)
class KV:
    """One metadata entry to write: key, value, and the gguf value kind."""

    key: str
    value: Any
    kind: str  # "str" | "u32" | "f32" | "bool" | "str[]" | "i32[]"


def hparam_kvs(arch: str, hp: HParams, dtype: str, name: str) -> list[KV]:
    kvs = [
        KV("general.name", name, "str"),
        KV("general.file_type", FILE_TYPE[dtype], "u32"),
        KV(f"{arch}.context_length", hp.max_position_embeddings, "u32"),
        KV(f"{arch}.embedding_length", hp.hidden_size, "u32"),
        KV(f"{arch}.block_count", hp.num_hidden_layers, "u32"),
        KV(f"{arch}.feed_forward_length", hp.intermediate_size, "u32"),
        KV(f"{arch}.attention.head_count", hp.num_attention_heads, "u32"),
        KV(f"{arch}.attention.head_count_kv", hp.num_key_value_heads, "u32"),
        KV(f"{arch}.attention.layer_norm_rms_epsilon", hp.rms_norm_eps, "f32"),
        KV(f"{arch}.rope.freq_base", hp.rope_theta, "f32"),
        KV(f"{arch}.vocab_size", hp.vocab_size, "u32"),
        KV(f"{arch}.rope.dimension_count", hp.head_dim, "u32"),
        # Written for every head_dim, not only when it differs from hidden/heads: llama.cpp sizes
        # attn_q/k/v from these (n_embd_head_k/v) and falls back to hidden/heads without them, so a
        # file that states them never depends on a reader re-deriving the same number.
        KV(f"{arch}.attention.key_length", hp.head_dim, "u32"),
        KV(f"{arch}.attention.value_length", hp.head_dim, "u32"),
    ]
    return kvs


def tokenizer_kvs(tok: TokenizerMeta, tokens: list[str], types: list[int]) -> list[KV]:
    kvs = [
        KV("tokenizer.ggml.model", tok.model, "str"),
        KV("tokenizer.ggml.pre", tok.pre, "str"),
        KV("tokenizer.ggml.tokens", tokens, "str[]"),
        KV("tokenizer.ggml.token_type", types, "i32[]"),
        KV("tokenizer.ggml.merges", tok.merges, "str[]"),
    ]
    for role, token_id in sorted(tok.special_ids.items()):
        kvs.append(KV(f"tokenizer.ggml.{role}_token_id", token_id, "u32"))
    kvs.append(KV("tokenizer.ggml.add_bos_token", tok.add_bos, "bool"))
    if tok.chat_template:
        kvs.append(KV("tokenizer.chat_template", tok.chat_template, "str"))
    return kvs


def convert(name: str, array: Any, dtype: str) -> tuple[Any, Any]:
    """(data, raw ggml type or None) for one tensor in the requested dtype.

    1-D tensors (norms, biases) always stay F32, as llama.cpp's converter does; Q8_0 needs rows
    that are a multiple of 32, other 2-D tensors stay F32 in a Q8_0 file.
    """
    import numpy as np

    a = np.ascontiguousarray(array, dtype=np.float32)
    if a.ndim < 2 or dtype == "f32":
        return a, None
    if dtype == "f16":
        return a.astype(np.float16), None
    if dtype == "q8_0":
        if a.shape[-1] % Q8_0_BLOCK:
            return a, None
        from gguf import GGMLQuantizationType, quants

        return quants.quantize(a, GGMLQuantizationType.Q8_0), GGMLQuantizationType.Q8_0
    raise CheckpointError(f"unknown dtype {dtype!r} for {name}; choose one of {DTYPES}")


def write_gguf(path: Path, arch: str, kvs: Iterable[KV], tensors: Iterable[tuple[str, Any]], dtype: str) -> None:
    """Write a complete GGUF at ``path`` (the caller handles temp files and atomic rename)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    try:
        adders: dict[str, Callable[[str, Any], None]] = {
            "str": writer.add_string,
            "u32": writer.add_uint32,
            "f32": writer.add_float32,
            "bool": writer.add_bool,
        }
        for kv in kvs:
            if kv.kind == "str[]":
                writer.add_array(kv.key, list(kv.value))
            elif kv.kind == "i32[]":
                writer.add_array(kv.key, [int(v) for v in kv.value])
            else:
                adders[kv.kind](kv.key, kv.value)
        for name, array in tensors:
            data, raw = convert(name, array, dtype)
            if raw is None:
                writer.add_tensor(name, data)
            else:
                writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=raw)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def expected_values(kvs: Iterable[KV]) -> Mapping[str, Any]:
    return {kv.key: kv.value for kv in kvs}
