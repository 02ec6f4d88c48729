"""Registers the exporter engine kind, the real `gguf` engine and its broken mutants
(imported only when first built: see engines.plugin_support and apr_contracts.mutation)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from apr_contracts.mutation import MutantRow, mutant
from engines.plugin_support import register_engines

# Every mutant of this kind, written once: its name -> where its class lives (relative to
# engines.exporter.mutants, imported only when the mutant is first built or described) and the
# falsifiers (CONTRACT::FALSIFIER) meant to kill it, which `pv mutants --mode targeted` runs.
# Its one-line description is the class docstring's first line.
MUTANTS: dict[str, MutantRow] = {
    "broken-qa-missing-as-gguf": mutant(".qa:QaMissingAsGguf", "apr-cli-qa-v1::FALSIFY-QA-002"),
    "broken-qa-warn-only-gates": mutant(".qa:QaWarnOnlyGates", "apr-cli-qa-v1::FALSIFY-QA-006"),
    "broken-qa-raw-f32-details": mutant(".qa:QaRawF32Details", "apr-cli-qa-v1::FALSIFY-QA-003"),
    "broken-qa-arch-from-class": mutant(".qa:QaArchFromClass", "apr-cli-qa-v1::FALSIFY-QA-010"),
    "broken-run-divides-by-temperature": mutant(
        ".qa:RunDividesByTemperature",
        "apr-cli-qa-v1::FALSIFY-QA-004",
    ),
    "broken-parity-absent-fails": mutant(".qa:ParityAbsentFails", "apr-cli-qa-v1::FALSIFY-QA-011"),
    "broken-parity-explicit-falls-back": mutant(
        ".qa:ParityExplicitFallsBack",
        "apr-cli-qa-v1::FALSIFY-QA-012",
    ),
    "broken-parity-no-floor": mutant(".qa:ParityNoFloor", "apr-cli-qa-v1::FALSIFY-QA-013"),
    "broken-parity-first-step-only": mutant(".qa:ParityFirstStepOnly", "apr-cli-qa-v1::FALSIFY-QA-014"),
    "broken-bench-class-not-required": mutant(
        ".qa:BenchClassNotRequired",
        "apr-bench-receipt-v1::F-BENCH-001",
    ),
    "broken-bench-arms-cross-class": mutant(".qa:BenchArmsCrossClass", "apr-bench-receipt-v1::F-BENCH-002"),
    "broken-bench-summary-only": mutant(".qa:BenchSummaryOnly", "apr-bench-receipt-v1::F-BENCH-003"),
    "broken-bench-case-table-shrunk": mutant(".qa:BenchCaseTableShrunk", "apr-bench-receipt-v1::F-BENCH-004"),
    "broken-schema-floor-head-dim": mutant(
        ".schema:SchemaFloorHeadDim",
        "apr-architecture-schema-v1::FALSIFY-ARCH-001",
    ),
    "broken-schema-gqa-bound": mutant(
        ".schema:SchemaGqaBound",
        "apr-architecture-schema-v1::FALSIFY-ARCH-002",
    ),
    "broken-schema-attn-rows-only": mutant(
        ".schema:SchemaAttnRowsOnly",
        "apr-architecture-schema-v1::FALSIFY-ARCH-003",
    ),
    "broken-schema-ffn-sorted-dims": mutant(
        ".schema:SchemaFfnSortedDims",
        "apr-architecture-schema-v1::FALSIFY-ARCH-004",
    ),
    "broken-schema-norm-total": mutant(
        ".schema:SchemaNormTotal",
        "apr-architecture-schema-v1::FALSIFY-ARCH-005",
    ),
    "broken-schema-embed-cols-only": mutant(
        ".schema:SchemaEmbedColsOnly",
        "apr-architecture-schema-v1::FALSIFY-ARCH-006",
    ),
    "broken-schema-rope-default": mutant(
        ".schema:SchemaRopeDefault",
        "apr-architecture-schema-v1::FALSIFY-ARCH-007",
    ),
    "broken-schema-count-one-sided": mutant(
        ".schema:SchemaCountOneSided",
        "apr-architecture-schema-v1::FALSIFY-ARCH-008",
    ),
    "broken-infer-layers-distinct": mutant(
        ".schema:InferLayersDistinct",
        "apr-export-num-layers-v1::FALSIFY-EXPORT-NUM-LAYERS-001",
    ),
    "broken-export-expects-num-layers": mutant(
        ".schema:ExpectsNumLayers",
        "apr-export-num-layers-v1::FALSIFY-EXPORT-NUM-LAYERS-002",
    ),
    "broken-export-defaults-missing": mutant(
        ".schema:DefaultsMissingDims",
        "apr-export-num-layers-v1::FALSIFY-EXPORT-NUM-LAYERS-003",
    ),
    "broken-infer-kv-as-heads": mutant(
        ".schema:InferKvAsHeads",
        "apr-export-num-layers-v1::FALSIFY-EXPORT-INFER-METADATA-001",
    ),
    "broken-hf-class-arch": mutant(
        ".core:HFClassArch",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-002",
        "apr-lifecycle-v1::FALSIFY-LIFECYCLE-002",
    ),
    "broken-drops-pre": mutant(
        ".core:DropsPre",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-005",
        "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-001",
    ),
    "broken-skips-permutation": mutant(
        ".core:SkipsPermutation",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-007",
        "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-001",
        "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-002",
        "apr-lifecycle-v1::FALSIFY-LIFECYCLE-002",
    ),
    "broken-pads-after-bpe": mutant(
        ".core:PadsAfterBPE",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-008",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-009",
    ),
    "broken-pad-refuses-full-rows": mutant(
        ".core:PadRefusesFullRows",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-009",
    ),
    "broken-drops-rope-base": mutant(".core:DropsRopeBase", "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-004"),
    "broken-drops-qkv-bias": mutant(".core:DropsQkvBias", "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-006"),
    "broken-mha-kv-heads": mutant(".core:MhaKvHeads", "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-003"),
    "broken-selfcheck-loadable-only": mutant(
        ".core:SelfCheckLoadableOnly",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-010",
    ),
    "broken-overwrites": mutant(".core:OverwritesWithoutForce", "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-001"),
    "broken-qa-trusts-tokenizer-config": mutant(
        ".core:QaTrustsTokenizerConfig",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-011",
    ),
    "broken-qa-arch-only-metadata": mutant(
        ".core:QaArchOnlyMetadata",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-012",
    ),
    "broken-bench-mean-as-median": mutant(
        ".core:BenchMeanAsMedian",
        "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-013",
    ),
    "broken-drops-model-card": mutant(".core:DropsModelCard", "apr-export-gguf-v1::FALSIFY-EXPORT-GGUF-014"),
    "broken-rms-eps-default": mutant(".core:RmsEpsDefault", "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-001"),
    "broken-export-any-head-dim": mutant(".heads:ExportsAnyHeadDim", "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-003"),
    "broken-drops-head-sizes": mutant(".heads:DropsHeadSizes", "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-003"),
    "broken-parity-torch-only": mutant(".heads:ParityTorchOnly", "apr-export-gguf-v1::FALSIFY-EXPORT-LLAMA-004"),
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.exporter.protocol import ExporterEngine

    register_engines(registry, "exporter", ExporterEngine, ("gguf", "engines.exporter.engine", "GGUFExporter"))


@hookimpl
def apr_register_mutants(registry: Any) -> None:
    registry.add_table("exporter", "engines.exporter.mutants", MUTANTS)
