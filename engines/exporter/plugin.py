"""Registers the exporter engine kind, the real `gguf` engine and its broken mutants (by name:
see engines.plugin_support)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from engines.plugin_support import register_engines

MUTANTS: dict[str, str] = {  # registered name -> class in the mutants module (a test keeps them equal)
    "broken-hf-class-arch": "HFClassArch",
    "broken-drops-pre": "DropsPre",
    "broken-skips-permutation": "SkipsPermutation",
    "broken-pads-after-bpe": "PadsAfterBPE",
    "broken-pad-refuses-full-rows": "PadRefusesFullRows",
    "broken-drops-rope-base": "DropsRopeBase",
    "broken-drops-qkv-bias": "DropsQkvBias",
    "broken-mha-kv-heads": "MhaKvHeads",
    "broken-selfcheck-loadable-only": "SelfCheckLoadableOnly",
    "broken-overwrites": "OverwritesWithoutForce",
    "broken-qa-trusts-tokenizer-config": "QaTrustsTokenizerConfig",
    "broken-qa-arch-only-metadata": "QaArchOnlyMetadata",
    "broken-bench-mean-as-median": "BenchMeanAsMedian",
    "broken-drops-model-card": "DropsModelCard",
    "broken-rms-eps-default": "RmsEpsDefault",
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.exporter.protocol import ExporterEngine

    register_engines(registry, "exporter", ExporterEngine, ("gguf", "engines.exporter.engine", "GGUFExporter"),
                     "engines.exporter.mutants", MUTANTS)
