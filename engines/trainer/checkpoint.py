"""Checkpoint directories: what `apr pretrain --output` and `apr import --output` write.

Layout (a directory that ``transformers.AutoModelForCausalLM.from_pretrained`` loads as is)::

    config.json             HF config (architectures Qwen2ForCausalLM | LlamaForCausalLM, ...)
    model.safetensors       HF tensor names; lm_head.weight only when untied
    tokenizer.json          the tokenizer the model was trained with
    tokenizer_config.json   tokenizer class, special tokens, chat_template when known
    apr_checkpoint.json     our metadata (format version, family, step, tokens_seen, val_loss,
                            dataset manifest sha256, seed, tokenizer sha256, ...), written LAST

Writes are atomic: a fresh directory is assembled beside the target and renamed into place;
when the target already exists (the ``--output`` of a training run, which also holds
``checkpoints/`` and ``metrics.jsonl``) each file is replaced with ``os.replace`` and
``apr_checkpoint.json`` — the completeness marker — is removed first and written last.

Reading (:func:`load_checkpoint`) validates everything against the config and names what is
wrong and where: missing config field, missing tokenizer, missing / unexpected tensor, wrong
shape. Heavy libraries (torch, safetensors) are imported inside functions.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apr_contracts.atomic import make_staging_dir, write_json_atomic
from apr_contracts.hashing import sha256_file
from engines.errors import AprError
from engines.trainer.config import ArchConfig, from_config_file
from engines.trainer.params import parameter_shapes

if TYPE_CHECKING:
    from torch import Tensor

    from engines.trainer.model import CausalLM

FORMAT_VERSION = 1
META_FILE = "apr_checkpoint.json"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


class CheckpointError(AprError):
    """A checkpoint that cannot be read or written as asked."""


@dataclass
class Checkpoint:
    path: Path
    config: ArchConfig
    state_dict: dict[str, Tensor]
    tokenizer_path: Path | None
    meta: dict[str, Any] = field(default_factory=dict)

    def model(self, **kwargs: Any) -> CausalLM:
        """A :class:`CausalLM` with these weights (``kwargs`` go to the model, e.g. ``attention_fn``)."""
        from engines.trainer.model import CausalLM

        model = CausalLM(self.config, **kwargs)
        load_into(model, self.state_dict, source=str(self.path))
        return model


def check_state_dict(config: ArchConfig, state: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """``state`` restricted to the tensors ``config`` needs; errors name the tensor and ``source``.

    A tied checkpoint that also stores ``lm_head.weight`` is accepted (the copy is dropped).
    """
    expected = parameter_shapes(config)
    missing = [name for name in expected if name not in state]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(
            f"{source}: tensor {missing[0]!r} is missing{more}; config.json expects "
            f"{len(expected)} tensors for this {config.family} architecture",
            hint="the weights do not match config.json (wrong file, truncated export, or untied "
            "head without lm_head.weight); re-export or re-import the checkpoint",
        )
    extra = [name for name in state if name not in expected and not (
        name == "lm_head.weight" and config.tie_word_embeddings)]
    if extra:
        raise CheckpointError(
            f"{source}: unexpected tensor {extra[0]!r} ({len(extra)} in all) for config.json's architecture",
            hint="config.json and the weights disagree (e.g. attention_bias, layer count); fix config.json",
        )
    for name, shape in expected.items():
        found = tuple(state[name].shape)
        if found != shape:
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {list(found)}, config.json implies {list(shape)}",
                hint="the weights belong to a different architecture than config.json describes",
            )
    return {name: state[name] for name in expected}


def load_into(model: CausalLM, state: Mapping[str, Tensor], *, source: str) -> None:
    """Copy ``state`` into ``model`` after :func:`check_state_dict` (tied head re-tied)."""
    import torch

    checked = check_state_dict(model.config, state, source=source)
    if model.config.tie_word_embeddings:
        checked["lm_head.weight"] = checked["model.embed_tokens.weight"]
    with torch.no_grad():
        result = model.load_state_dict({k: v.to(torch.float32) for k, v in checked.items()}, strict=True)
    del result  # strict=True raised already if anything was off


def _tokenizer_sources(tokenizer_src: Path) -> list[tuple[Path, str]]:
    """(file, name in the checkpoint) for a tokenizer.json (any file name) or a tokenizer directory."""
    if tokenizer_src.is_file():
        files = [(tokenizer_src, "tokenizer.json")]
        config = tokenizer_src.parent / "tokenizer_config.json"
        if config.is_file():
            files.append((config, config.name))
        return files
    if tokenizer_src.is_dir():
        nested = tokenizer_src / "tokenizer"
        for folder in (tokenizer_src, nested):
            if (folder / "tokenizer.json").is_file():
                return [(folder / n, n) for n in TOKENIZER_FILES if (folder / n).is_file()]
    raise CheckpointError(
        f"{tokenizer_src}: no tokenizer.json to put in the checkpoint",
        hint="pass a tokenizer.json, an `apr tokenize import-hf` dir or a checkpoint dir as --tokenizer",
    )


def _tokenizer_config(config: ArchConfig, tokenizer_json: Path) -> dict[str, Any]:
    """A minimal tokenizer_config.json so ``AutoTokenizer`` loads the fast tokenizer."""
    raw = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    by_id = {int(t["id"]): str(t["content"]) for t in raw.get("added_tokens") or [] if "id" in t}
    out: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
                           "model_max_length": config.max_position_embeddings}
    for key, token_id in (("bos_token", config.bos_token_id), ("eos_token", config.eos_token_id),
                          ("pad_token", config.pad_token_id)):
        if token_id is not None and token_id in by_id:
            out[key] = by_id[token_id]
    return out


def save_checkpoint(
    directory: str | Path,
    config: ArchConfig,
    state_dict: Mapping[str, Tensor],
    tokenizer_src: str | Path | None,
    meta: Mapping[str, Any],
) -> Path:
    """Write a checkpoint directory atomically (see the module docstring). Returns its path."""
    import torch
    from safetensors.torch import save_file

    directory = Path(directory)
    checked = check_state_dict(config, state_dict, source="state_dict to save")
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in checked.items()}
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging_dir(directory)  # mkdtemp's 0700 would otherwise become the checkpoint's mode
    try:
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        dtype = str(next(iter(tensors.values())).dtype).removeprefix("torch.") if tensors else "float32"
        write_json_atomic(staging / "config.json", config.to_hf_config(torch_dtype=dtype))
        tokenizer_sha = None
        if tokenizer_src is not None:
            for src, name in _tokenizer_sources(Path(tokenizer_src)):
                shutil.copyfile(src, staging / name)
            tokenizer_sha = sha256_file(staging / "tokenizer.json")
            if not (staging / "tokenizer_config.json").is_file():
                write_json_atomic(staging / "tokenizer_config.json",
                                  _tokenizer_config(config, staging / "tokenizer.json"))
        full_meta = {
            "format_version": FORMAT_VERSION,
            "family": config.family,
            "hf_class": config.hf_class,
            "created_unix": round(time.time(), 3),
            "torch_version": torch.__version__,
            "tokenizer_sha256": tokenizer_sha,
            "weights_sha256": sha256_file(staging / WEIGHTS_FILE),
            **dict(meta),
        }
        write_json_atomic(staging / META_FILE, full_meta)
        _publish(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _publish(staging: Path, directory: Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    # Existing directory (a training --output): invalidate, replace file by file, commit last.
    (directory / META_FILE).unlink(missing_ok=True)
    for stale in (WEIGHTS_INDEX,):
        (directory / stale).unlink(missing_ok=True)
    for item in sorted(staging.iterdir(), key=lambda p: p.name == META_FILE):
        os.replace(item, directory / item.name)


def is_complete(directory: Path) -> bool:
    """A checkpoint we wrote and finished writing (the metadata file is the commit marker)."""
    return (directory / META_FILE).is_file() and (directory / "config.json").is_file()


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable metadata: {exc}", hint="the checkpoint may be corrupt") from exc
    return data if isinstance(data, dict) else {}


def tokenizer_in(directory: Path) -> Path | None:
    for candidate in (directory / "tokenizer.json", directory / "tokenizer" / "tokenizer.json"):
        if candidate.is_file():
            return candidate
    return None


def _read_weights(directory: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files: list[Path]
    if (directory / WEIGHTS_FILE).is_file():
        files = [directory / WEIGHTS_FILE]
    elif (directory / WEIGHTS_INDEX).is_file():
        index = json.loads((directory / WEIGHTS_INDEX).read_text(encoding="utf-8"))
        files = [directory / name for name in sorted(set(index.get("weight_map", {}).values()))]
        absent = [f for f in files if not f.is_file()]
        if absent:
            raise CheckpointError(f"{absent[0]}: weight shard listed in {WEIGHTS_INDEX} is missing",
                                  hint="copy every model-*.safetensors shard into the directory")
    else:
        other = sorted(p.name for p in directory.glob("*.bin")) + sorted(p.name for p in directory.glob("*.pt"))
        raise CheckpointError(
            f"{directory}: no {WEIGHTS_FILE} (nor {WEIGHTS_INDEX})"
            + (f"; found {', '.join(other)}, which is not read (pickle formats are unsafe)" if other else ""),
            hint="convert the weights to safetensors, or `apr import` the model first",
        )
    state: dict[str, Any] = {}
    for path in files:
        try:
            state.update(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: cannot read safetensors: {exc}",
                                  hint="the file is truncated or not safetensors; re-export it") from exc
    return state


def load_checkpoint(
    directory: str | Path, *, weights: bool = True, require_tokenizer: bool = True
) -> Checkpoint:
    """Read and validate a checkpoint directory (ours or any HF Llama/Qwen2 directory).

    ``weights=False`` reads config, tokenizer and metadata only (what preflight needs).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: checkpoint directory not found",
                              hint="pass the --output of `apr pretrain` / `apr import`, or an HF model dir")
    config = from_config_file(directory / "config.json")  # strict: missing field named, encoder refused
    tokenizer = tokenizer_in(directory)
    if tokenizer is None and require_tokenizer:
        raise CheckpointError(
            f"{directory}: tokenizer.json is missing; a checkpoint must carry the tokenizer it was trained with",
            hint="copy the tokenizer.json into the directory, or re-run `apr import` / `apr pretrain`",
        )
    state = check_state_dict(config, _read_weights(directory), source=str(directory)) if weights else {}
    return Checkpoint(directory, config, state, tokenizer, read_meta(directory))
