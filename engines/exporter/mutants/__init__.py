"""Deliberately broken exporters ("mutants"): each is the real engine with ONE realistic defect.

They exist so that every export falsifier can be shown to fail (FALSIFIED) against a defect it
claims to catch, and to hold (HELD) against the real engine. None of them merely raises. Several
reproduce defects found in the field: an HF class name as GGUF architecture, a missing
``tokenizer.ggml.pre``, padding appended after the BPE entries. Registered by
:mod:`engines.exporter.plugin` under ``broken-...`` names, looked up by class name as attributes
of this package, so every class is re-exported here. The families:

* :mod:`.core` -- GGUF metadata, tensor layout, tokenizer padding, overwrite, qa metadata gates, bench;
* :mod:`.schema` -- the architecture schema (`apr qa` gate QA-ARCH-SCHEMA) and metadata inference;
* :mod:`.qa` -- the `apr` command surface: qa gates, format parity, `apr run`, bench receipts;
* :mod:`.heads` -- head sizes llama.cpp reads and the llama.cpp format-parity gate.
"""

from __future__ import annotations

from engines.exporter.engine import GGUFExporter
from engines.exporter.mutants.core import (
    MUTANTS_CORE,
    BenchMeanAsMedian,
    DropsModelCard,
    DropsPre,
    DropsQkvBias,
    DropsRopeBase,
    HFClassArch,
    MhaKvHeads,
    OverwritesWithoutForce,
    PadRefusesFullRows,
    PadsAfterBPE,
    QaArchOnlyMetadata,
    QaTrustsTokenizerConfig,
    RmsEpsDefault,
    SelfCheckLoadableOnly,
    SkipsPermutation,
)
from engines.exporter.mutants.heads import (
    MUTANTS_HEADS,
    DropsHeadSizes,
    ExportsAnyHeadDim,
    ParityTorchOnly,
)
from engines.exporter.mutants.qa import (
    MUTANTS_QA,
    BenchArmsCrossClass,
    BenchCaseTableShrunk,
    BenchClassNotRequired,
    BenchSummaryOnly,
    ParityAbsentFails,
    ParityExplicitFallsBack,
    ParityFirstStepOnly,
    ParityNoFloor,
    QaArchFromClass,
    QaMissingAsGguf,
    QaRawF32Details,
    QaWarnOnlyGates,
    RunDividesByTemperature,
)
from engines.exporter.mutants.schema import (
    MUTANTS_SCHEMA,
    DefaultsMissingDims,
    ExpectsNumLayers,
    InferKvAsHeads,
    InferLayersDistinct,
    SchemaAttnRowsOnly,
    SchemaCountOneSided,
    SchemaEmbedColsOnly,
    SchemaFfnSortedDims,
    SchemaFloorHeadDim,
    SchemaGqaBound,
    SchemaNormTotal,
    SchemaRopeDefault,
)

MUTANTS: tuple[type[GGUFExporter], ...] = (
    *MUTANTS_CORE,
    *MUTANTS_SCHEMA,
    *MUTANTS_QA,
    *MUTANTS_HEADS,
)

__all__ = [
    "MUTANTS",
    "MUTANTS_CORE",
    "MUTANTS_HEADS",
    "MUTANTS_QA",
    "MUTANTS_SCHEMA",
    "BenchArmsCrossClass",
    "BenchCaseTableShrunk",
    "BenchClassNotRequired",
    "BenchMeanAsMedian",
    "BenchSummaryOnly",
    "DefaultsMissingDims",
    "DropsHeadSizes",
    "DropsModelCard",
    "DropsPre",
    "DropsQkvBias",
    "DropsRopeBase",
    "ExpectsNumLayers",
    "ExportsAnyHeadDim",
    "HFClassArch",
    "InferKvAsHeads",
    "InferLayersDistinct",
    "MhaKvHeads",
    "OverwritesWithoutForce",
    "PadRefusesFullRows",
    "PadsAfterBPE",
    "ParityAbsentFails",
    "ParityExplicitFallsBack",
    "ParityFirstStepOnly",
    "ParityNoFloor",
    "ParityTorchOnly",
    "QaArchFromClass",
    "QaArchOnlyMetadata",
    "QaMissingAsGguf",
    "QaRawF32Details",
    "QaTrustsTokenizerConfig",
    "QaWarnOnlyGates",
    "RmsEpsDefault",
    "RunDividesByTemperature",
    "SchemaAttnRowsOnly",
    "SchemaCountOneSided",
    "SchemaEmbedColsOnly",
    "SchemaFfnSortedDims",
    "SchemaFloorHeadDim",
    "SchemaGqaBound",
    "SchemaNormTotal",
    "SchemaRopeDefault",
    "SelfCheckLoadableOnly",
    "SkipsPermutation",
]
