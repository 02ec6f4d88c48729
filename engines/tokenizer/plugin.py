"""Engine plugin: registers the "tokenizer" kind, the default "hf" engine and the broken-* mutants.

Importable with only the core dependencies installed: the engines are imported by
their factories, when a falsifier or a command first asks for one.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl


def _factory(class_name: str) -> Any:
    def make() -> Any:
        if class_name == "HFTokenizerEngine":
            from engines.tokenizer.engine import HFTokenizerEngine

            return HFTokenizerEngine()
        from engines.tokenizer import mutants

        return getattr(mutants, class_name)()

    make.__qualname__ = f"make_{class_name}"
    return make


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.tokenizer.mutants import (
        MUTANTS,  # light: a table of names, classes resolved lazily
    )
    from engines.tokenizer.protocol import TokenizerEngine

    registry.add_kind("tokenizer", TokenizerEngine)
    registry.add("tokenizer", "hf", _factory("HFTokenizerEngine"), default=True)
    for name, class_name in MUTANTS.items():
        registry.add("tokenizer", name, _factory(class_name))
