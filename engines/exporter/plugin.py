"""Engine plugin: registers the exporter kind, the real `gguf` engine and its broken mutants.

Importable with only the core dependencies: engine classes are imported inside factories.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl

MUTANT_NAMES = (
    "broken-hf-class-arch",
    "broken-drops-pre",
    "broken-skips-permutation",
    "broken-pads-after-bpe",
    "broken-drops-rope-base",
    "broken-drops-qkv-bias",
    "broken-mha-kv-heads",
    "broken-selfcheck-loadable-only",
    "broken-overwrites",
    "broken-qa-trusts-tokenizer-config",
    "broken-qa-arch-only-metadata",
    "broken-bench-mean-as-median",
    "broken-drops-model-card",
)


def _real() -> Any:
    from engines.exporter.engine import GGUFExporter

    return GGUFExporter()


def _mutant(name: str) -> Any:
    def factory() -> Any:
        from engines.exporter.mutants import MUTANTS

        by_name = {cls.name: cls for cls in MUTANTS}
        return by_name[name]()

    return factory


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.exporter.protocol import ExporterEngine

    registry.add_kind("exporter", ExporterEngine)
    registry.add("exporter", "gguf", _real, default=True)
    for name in MUTANT_NAMES:
        registry.add("exporter", name, _mutant(name))
