"""Read a GGUF back with an independent reader (``gguf.GGUFReader``) and check it against the layout table.

Used by the exporter before it renames its temp file into place, and by the `apr qa` gate
``gguf-readback``. Both use :data:`engines.exporter.layout.REQUIRED_KEYS` and
:func:`engines.exporter.layout.expected_tensors`; nothing here keeps its own list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.exporter import layout
from engines.exporter.layout import HParams, KeySpec


class GGUFReadError(ValueError):
    """The file is not a readable GGUF (truncated, wrong magic, corrupt header)."""


@dataclass
class GGUFInfo:
    path: Path
    values: dict[str, Any]
    tensors: dict[str, tuple[tuple[int, ...], str]]  # name -> (shape [out, in], ggml type name)
    reader: Any = field(repr=False, default=None)

    @property
    def arch(self) -> str | None:
        value = self.values.get("general.architecture")
        return value if isinstance(value, str) else None


# Arrays that are large and only needed as lists of strings/ints.
_LAZY_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")


def read_gguf(path: Path, *, keep_reader: bool = False) -> GGUFInfo:
    """Parse ``path``; raise :class:`GGUFReadError` (never a bare traceback) when it is not a valid GGUF."""
    import gguf

    if not path.is_file():
        raise GGUFReadError(f"{path} does not exist or is not a file")
    try:
        reader = gguf.GGUFReader(str(path))
        values: dict[str, Any] = {}
        for key, fld in reader.fields.items():
            if key.startswith("GGUF."):
                continue
            values[key] = fld.contents()
        tensors = {
            t.name: (tuple(int(d) for d in reversed(t.shape.tolist())), t.tensor_type.name)
            for t in reader.tensors
        }
        if reader.tensors:
            # A file cut short still parses its header; touching the last tensor's bytes proves the data is there.
            last = max(reader.tensors, key=lambda t: int(t.data_offset) + int(t.n_bytes))
            if int(last.data_offset) + int(last.n_bytes) > len(reader.data):
                raise GGUFReadError(f"{path}: tensor data ends beyond the end of the file (truncated?)")
    except GGUFReadError:
        raise
    except Exception as exc:  # gguf raises ValueError/IndexError/struct errors on bad files
        raise GGUFReadError(f"{path} is not a readable GGUF ({type(exc).__name__}: {exc}); is it truncated or corrupt?") from exc
    return GGUFInfo(path, values, tensors, reader if keep_reader else None)


@dataclass(frozen=True)
class Problem:
    """One defect found in a GGUF: what (``item``), why it matters, and the value found."""

    item: str
    message: str
    silent: bool = False  # llama.cpp would load it and compute wrong answers

    def __str__(self) -> str:
        tag = " (llama.cpp would load this and compute wrong answers)" if self.silent else ""
        return f"{self.item}: {self.message}{tag}"


KeyFilter = Callable[[KeySpec], bool]


def check_keys(info: GGUFInfo, hp: HParams, *, key_filter: KeyFilter | None = None) -> list[Problem]:
    problems = []
    for spec, key in layout.required_keys(hp):
        if key_filter is not None and not key_filter(spec):
            continue
        if key not in info.values:
            problems.append(Problem(key, f"missing ({spec.why})", spec.silent))
            continue
        expected = layout.hparams_value(hp, spec)
        if expected is not None and not layout.values_match(expected, info.values[key]):
            problems.append(Problem(key, f"is {info.values[key]!r}, the config says {expected!r}", spec.silent))
    if info.arch is not None and info.arch not in layout.SUPPORTED_ARCHS:
        problems.append(
            Problem("general.architecture", f"{info.arch!r} is not a llama.cpp architecture name (expected {hp.arch!r})")
        )
    return problems


def check_tensors(info: GGUFInfo, hp: HParams) -> list[Problem]:
    expected = layout.expected_tensors(hp)
    problems = []
    for name, shape in expected.items():
        if name not in info.tensors:
            silent = name.endswith(".bias")
            problems.append(Problem(name, f"missing tensor (expected shape {list(shape)})", silent))
        elif info.tensors[name][0] != shape:
            problems.append(Problem(name, f"shape {list(info.tensors[name][0])}, expected {list(shape)}"))
    for name in sorted(set(info.tensors) - set(expected)):
        problems.append(Problem(name, "unexpected tensor for this config (llama.cpp would refuse or ignore it)"))
    return problems


def check_vocab(info: GGUFInfo, hp: HParams, added: Mapping[int, str] | None = None) -> list[Problem]:
    """Tokens fill the embedding rows exactly; ``added`` tokens (id -> text) sit at their own ids."""
    tokens = info.values.get("tokenizer.ggml.tokens")
    types = info.values.get("tokenizer.ggml.token_type")
    problems = []
    if isinstance(tokens, list) and len(tokens) != hp.vocab_size:
        problems.append(
            Problem("tokenizer.ggml.tokens", f"{len(tokens)} entries for {hp.vocab_size} embedding rows (must be equal)")
        )
    if isinstance(tokens, list) and isinstance(types, list) and len(types) != len(tokens):
        problems.append(Problem("tokenizer.ggml.token_type", f"{len(types)} types for {len(tokens)} tokens"))
    if isinstance(tokens, list) and added:
        for token_id, text in sorted(added.items()):
            found = tokens[token_id] if token_id < len(tokens) else None
            if found != text:
                problems.append(Problem("tokenizer.ggml.tokens", f"id {token_id} is {found!r}, the tokenizer has {text!r} there"))
                break
    eos = info.values.get("tokenizer.ggml.eos_token_id")
    if isinstance(eos, int) and isinstance(tokens, list) and not 0 <= eos < len(tokens):
        problems.append(Problem("tokenizer.ggml.eos_token_id", f"{eos} is outside the {len(tokens)} tokens"))
    return problems


def check_gguf(
    info: GGUFInfo,
    hp: HParams,
    *,
    added: Mapping[int, str] | None = None,
    key_filter: KeyFilter | None = None,
) -> list[Problem]:
    """Every problem that makes ``info`` not a faithful GGUF of a model with ``hp``."""
    return check_keys(info, hp, key_filter=key_filter) + check_tensors(info, hp) + check_vocab(info, hp, added)


def hparams_from_gguf(info: GGUFInfo) -> HParams:
    """HParams as the GGUF itself declares them (for `apr qa FILE.gguf` with no config at hand)."""
    arch = info.arch
    if arch not in layout.SUPPORTED_ARCHS:
        raise layout.LayoutError(f"general.architecture={arch!r}; expected one of {layout.SUPPORTED_ARCHS}")
    values = dict(info.values)
    values["__tied__"] = "output.weight" not in info.tensors
    config = layout.hf_config_from_gguf_values(arch, values)
    if arch == "llama":
        config["attention_bias"] = "blk.0.attn_q.bias" in info.tensors
    return layout.hparams_from_config(config)
