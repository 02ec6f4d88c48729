"""Deliberately broken tokenizer engines ("mutants"): each has one realistic defect and otherwise works.

They exist so that every falsifier can be shown to fail (FALSIFIED) against an engine that is
wrong in the way the falsifier's claim forbids. None of them merely raises: each exits 0 (or
fails exactly where the real engine would) while producing a wrong result. Registered by
:mod:`engines.tokenizer.plugin` (its ``MUTANTS``: name -> class name, re-exported here), looked
up by class name as attributes of this package, so every class is re-exported here. Each
submodule names its classes from that table, so it imports the plugin, never this package.
The families:

* :mod:`.core` -- import-hf, and encode-corpus's shards, resume, verify and fast path;
* :mod:`.shards` -- repair-manifest and the shard format;
* :mod:`.parallel` -- encode-corpus's workers, progress lines, --estimate-only and Parquet input.
"""

from __future__ import annotations

from engines.tokenizer.mutants.core import (
    AddsSpecialTokens,
    DropsBadLines,
    DropsLastMerge,
    EmptyMerges,
    EncodesOneByOne,
    EosBetweenAsAfter,
    FastPathUnverified,
    ForgetsManifest,
    HashesInt64,
    HashesParsedJson,
    IgnoresAddedTokens,
    RenumbersAddedTokens,
    ResumeIgnoresTokenizer,
    ResumeSkipsADocument,
    RotatesPastLimit,
    SkipsNfc,
    SortsMerges,
    SplitsDocuments,
    ValidatesAfterWriting,
    VerifyCountsOnly,
    VocabSizeIgnoresAdded,
)
from engines.tokenizer.mutants.parallel import (
    DefaultWorkersCpuCount,
    DocTickOffByOne,
    EncodesMixedFolder,
    EstimateKeepsSampleShard,
    EstimateSampleIgnored,
    EstimateWritesManifest,
    EtaWithoutTotal,
    GuessesParquetColumn,
    ParquetFirstRowGroupOnly,
    ParquetSuffixCaseSensitive,
    QuietKeepsFinal,
    RefusesWorkersAboveCpus,
    SerializedWorkers,
    ShardsFloorDivided,
    SharedEncoderPool,
    StridedWorkers,
    TimeTickMillis,
    WorkersFlagIgnored,
    ZeroWorkersFallsBack,
)
from engines.tokenizer.mutants.shards import (
    BigEndianShards,
    HashNotReset,
    RepairCountsLeftovers,
    RepairFloorsTruncated,
    RepairLocalTimestamp,
    RepairReferenceSchema,
    RepairRunId,
    RepairTokensAsBytes,
    RepairTruncatesShard,
    ShufflesUnseeded,
    VerifyVocabInclusive,
)
from engines.tokenizer.plugin import MUTANTS

__all__ = [
    "MUTANTS",
    "AddsSpecialTokens",
    "BigEndianShards",
    "DefaultWorkersCpuCount",
    "DocTickOffByOne",
    "DropsBadLines",
    "DropsLastMerge",
    "EmptyMerges",
    "EncodesMixedFolder",
    "EncodesOneByOne",
    "EosBetweenAsAfter",
    "EstimateKeepsSampleShard",
    "EstimateSampleIgnored",
    "EstimateWritesManifest",
    "EtaWithoutTotal",
    "FastPathUnverified",
    "ForgetsManifest",
    "GuessesParquetColumn",
    "HashNotReset",
    "HashesInt64",
    "HashesParsedJson",
    "IgnoresAddedTokens",
    "ParquetFirstRowGroupOnly",
    "ParquetSuffixCaseSensitive",
    "QuietKeepsFinal",
    "RefusesWorkersAboveCpus",
    "RenumbersAddedTokens",
    "RepairCountsLeftovers",
    "RepairFloorsTruncated",
    "RepairLocalTimestamp",
    "RepairReferenceSchema",
    "RepairRunId",
    "RepairTokensAsBytes",
    "RepairTruncatesShard",
    "ResumeIgnoresTokenizer",
    "ResumeSkipsADocument",
    "RotatesPastLimit",
    "SerializedWorkers",
    "ShardsFloorDivided",
    "SharedEncoderPool",
    "ShufflesUnseeded",
    "SkipsNfc",
    "SortsMerges",
    "SplitsDocuments",
    "StridedWorkers",
    "TimeTickMillis",
    "ValidatesAfterWriting",
    "VerifyCountsOnly",
    "VerifyVocabInclusive",
    "VocabSizeIgnoresAdded",
    "WorkersFlagIgnored",
    "ZeroWorkersFallsBack",
]
