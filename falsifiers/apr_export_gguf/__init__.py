"""Falsifiers of apr-export-gguf-v1: `apr export`, `apr qa`, `apr bench`.

``export`` holds the packaging and GGUF export claims (FALSIFY-EXPORT-GGUF-*), read back with
gguf.GGUFReader and the checkpoint's own files; ``llama`` holds the claims judged by the
llama.cpp oracle (FALSIFY-EXPORT-LLAMA-*, and the SmolLM2-135M live ones FALSIFY-EXPORT-LIVE-*);
``runtime`` the claims judged by llama.cpp's loader (exit 0 means llama.cpp opens the file).
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from falsifiers.apr_export_gguf import export, llama, runtime

CONTRACT = "apr-export-gguf-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(export, contract=CONTRACT)
    registry.add_module(llama, contract=CONTRACT)
    registry.add_module(runtime, contract=CONTRACT)
