"""What llama.cpp (the runtime an exported GGUF is for) accepts, and loading a file through it.

Measured against llama-cpp-python 0.3.36: its ``qwen2`` graph creates ``attn_q.weight`` as
``[n_embd, n_embd]`` and ``attn_output.weight`` as ``[n_embd, n_embd]`` whatever
``qwen2.attention.key_length`` says, so a qwen2 model whose ``head_dim * num_attention_heads``
differs from ``hidden_size`` is refused at load time ("tensor 'blk.0.attn_q.weight' has wrong
shape; expected 64, 64, got 64, 128"), although the file carries every head size. Its ``llama``
graph sizes the same tensors from ``n_embd_head_k * n_head`` and loads any even head_dim.
Exporting such a qwen2 model anyway used to exit 0 with a file no runtime could open.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from engines.exporter.layout import HParams


def llama_cpp_refusals(hp: HParams) -> list[str]:
    """Why llama.cpp would refuse a GGUF for ``hp`` (empty: it loads), each with what to do instead."""
    out = []
    if hp.arch == "qwen2" and hp.head_dim * hp.num_attention_heads != hp.hidden_size:
        out.append(
            f"head_dim={hp.head_dim} x num_attention_heads={hp.num_attention_heads} = "
            f"{hp.head_dim * hp.num_attention_heads} != hidden_size={hp.hidden_size}: llama.cpp's qwen2 graph "
            "sizes attn_q/attn_output as hidden_size x hidden_size and refuses this file at load time "
            "('attn_q.weight has wrong shape'), although the GGUF would carry the head sizes"
        )
    return out


def load_llama(path: Path, **kwargs: Any) -> tuple[Any, str]:
    """(``llama_cpp.Llama`` or None, llama.cpp's own error lines when it refused the file).

    llama-cpp-python raises only "Failed to load model from file"; the reason (a wrong tensor
    shape, a missing key) goes to its log, which verbose=False sends to /dev/null. So a refused
    file is loaded once more with verbose=True and the log's error lines are kept (a second
    load only on the failure path). ImportError propagates: callers decide whether a missing
    llama_cpp is a SKIP.
    """
    import llama_cpp

    try:
        return llama_cpp.Llama(str(path), verbose=False, **kwargs), ""
    except (ValueError, RuntimeError) as exc:
        first = str(exc)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            llama_cpp.Llama(str(path), verbose=True, **kwargs)
    except (ValueError, RuntimeError):
        pass
    lines = [ln.strip() for ln in captured.getvalue().splitlines() if "error" in ln.lower()]
    return None, "; ".join(lines[:2]) or first
