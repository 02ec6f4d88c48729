"""Shared helpers of the export falsifiers: fixtures in the workspace, `apr` subprocesses, GGUF reading.

Importable with the core dependencies only; numpy/gguf are imported inside functions. The
GGUF checks here read files with ``gguf.GGUFReader`` directly and compare with the checkpoint's
own config.json / tokenizer.json / safetensors: they never ask the engine under test (nor its
layout table) what the right answer is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext

APR_TIMEOUT_S = 600


def engine_name(ctx: RunContext) -> str:
    return str(getattr(ctx.engine("exporter"), "name", "gguf"))


def apr(ctx: RunContext, *args: str | Path, timeout: float = APR_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run `apr` as a subprocess with the exporter engine this falsifier was given."""
    cmd = [sys.executable, "-m", "engines.cli", "--engine-impl", f"exporter={engine_name(ctx)}", *map(str, args)]
    env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ctx.workspace)


def tail(proc: subprocess.CompletedProcess[str], n: int = 600) -> str:
    return (proc.stderr or proc.stdout or "").strip()[-n:]


def checkpoint(ctx: RunContext, arch: str = "qwen2", *, name: str = "", **kwargs: Any) -> Path:
    """A tiny real checkpoint (stdlib-trained BPE, random weights) in the workspace."""
    from engines.exporter.fixtures import tiny_checkpoint

    dest = ctx.workspace / (name or f"ckpt-{arch}")
    if not (dest / "config.json").is_file():
        tiny_checkpoint(dest, arch, seed=ctx.seed, **kwargs)
    return dest


def export(
    ctx: RunContext, ckpt: Path, name: str, *, dtype: str = "f32", verify: bool = False
) -> tuple[Path | None, subprocess.CompletedProcess[str]]:
    """`apr export` (by default with --no-verify: the writer's own output, before any self-check)."""
    out = ctx.workspace / name
    args: list[str | Path] = ["export", ckpt, "--format", "gguf", "-o", out, "--dtype", dtype, "--force", "--no-progress"]
    if not verify:
        args.append("--no-verify")
    proc = apr(ctx, *args)
    return (out if proc.returncode == 0 and out.is_file() else None), proc


def read_gguf(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata key -> value, tensor name -> numpy array in [out, in] order) via gguf.GGUFReader."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(path))
    values = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    tensors = {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        tensors[t.name] = np.asarray(data, dtype=np.float32).reshape(shape)
    return values, tensors


def config_of(ckpt: Path) -> dict[str, Any]:
    return dict(json.loads((ckpt / "config.json").read_text(encoding="utf-8")))


def hf_tensors(ckpt: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return dict(load_file(str(ckpt / "model.safetensors")))


def tokenizer_ids(ckpt: Path) -> dict[int, tuple[str, bool | None]]:
    """id -> (text, special flag or None for BPE entries) straight from tokenizer.json."""
    data = json.loads((ckpt / "tokenizer.json").read_text(encoding="utf-8"))
    out: dict[int, tuple[str, bool | None]] = {int(i): (t, None) for t, i in data["model"]["vocab"].items()}
    for added in data.get("added_tokens") or ():
        out[int(added["id"])] = (added["content"], bool(added.get("special")))
    return out


def gguf_rows_for_llama(hf: Any, n_head: int) -> Any:
    """The row order llama.cpp's llama graph expects, written out index by index (not reshapes).

    Within each head of size d, GGUF row 2i+j holds HF row j*(d/2)+i: HF's rotate_half pairs
    rows i and i+d/2, llama.cpp pairs adjacent rows.
    """
    import numpy as np

    rows = hf.shape[0]
    d = rows // n_head
    order = np.empty(rows, dtype=np.int64)
    for h in range(n_head):
        for i in range(d // 2):
            for j in range(2):
                order[h * d + 2 * i + j] = h * d + j * (d // 2) + i
    return hf[order]


def copy_gguf_without(src: Path, dst: Path, *, drop_key: str | None = None, drop_tensor: str | None = None) -> None:
    """Rewrite an F32/F16 GGUF with one metadata key or one tensor left out."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(src))
    writer = gguf.GGUFWriter(str(dst), str(reader.fields["general.architecture"].contents()))
    if drop_key == "general.architecture":
        writer.kv_data[0].pop("general.architecture", None)
    for key, fld in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", drop_key):
            continue
        vtype = fld.types[0]
        sub = fld.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, fld.contents(), vtype, sub_type=sub)
    for t in reader.tensors:
        if t.name != drop_tensor:
            writer.add_tensor(t.name, np.array(t.data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
