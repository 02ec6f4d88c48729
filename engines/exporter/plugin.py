"""Registers the exporter engine kind, the real `gguf` engine and its broken mutants (by name:
see engines.plugin_support)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from engines.plugin_support import register_engines

MUTANTS: dict[str, str] = {  # registered name -> class in the mutants module (a test keeps them equal)
    "broken-qa-missing-as-gguf": "QaMissingAsGguf",
    "broken-qa-warn-only-gates": "QaWarnOnlyGates",
    "broken-qa-raw-f32-details": "QaRawF32Details",
    "broken-qa-arch-from-class": "QaArchFromClass",
    "broken-run-divides-by-temperature": "RunDividesByTemperature",
    "broken-parity-absent-fails": "ParityAbsentFails",
    "broken-parity-explicit-falls-back": "ParityExplicitFallsBack",
    "broken-parity-no-floor": "ParityNoFloor",
    "broken-parity-first-step-only": "ParityFirstStepOnly",
    "broken-bench-class-not-required": "BenchClassNotRequired",
    "broken-bench-arms-cross-class": "BenchArmsCrossClass",
    "broken-bench-summary-only": "BenchSummaryOnly",
    "broken-bench-case-table-shrunk": "BenchCaseTableShrunk",
    "broken-schema-floor-head-dim": "SchemaFloorHeadDim",
    "broken-schema-gqa-bound": "SchemaGqaBound",
    "broken-schema-attn-rows-only": "SchemaAttnRowsOnly",
    "broken-schema-ffn-sorted-dims": "SchemaFfnSortedDims",
    "broken-schema-norm-total": "SchemaNormTotal",
    "broken-schema-embed-cols-only": "SchemaEmbedColsOnly",
    "broken-schema-rope-default": "SchemaRopeDefault",
    "broken-schema-count-one-sided": "SchemaCountOneSided",
    "broken-infer-layers-distinct": "InferLayersDistinct",
    "broken-export-expects-num-layers": "ExpectsNumLayers",
    "broken-export-defaults-missing": "DefaultsMissingDims",
    "broken-infer-kv-as-heads": "InferKvAsHeads",
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
    "broken-export-any-head-dim": "ExportsAnyHeadDim",
    "broken-drops-head-sizes": "DropsHeadSizes",
    "broken-parity-torch-only": "ParityTorchOnly",
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.exporter.protocol import ExporterEngine

    register_engines(registry, "exporter", ExporterEngine, ("gguf", "engines.exporter.engine", "GGUFExporter"),
                     "engines.exporter.mutants", MUTANTS)
