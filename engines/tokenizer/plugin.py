"""Engine plugin: registers the "tokenizer" kind, the default "hf" engine and the broken-* mutants.

Importable with only the core dependencies installed: the engines are imported by
their factories, when a falsifier or a command first asks for one.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from engines.plugin_support import register_engines

# registered name -> class name in engines.tokenizer.mutants (resolved when first asked for)
MUTANTS: dict[str, str] = {
    "broken-forgets-manifest": "ForgetsManifest",
    "broken-empty-merges": "EmptyMerges",
    "broken-ignores-added-tokens": "IgnoresAddedTokens",
    "broken-drops-last-merge": "DropsLastMerge",
    "broken-validates-after-writing": "ValidatesAfterWriting",
    "broken-renumbers-added-tokens": "RenumbersAddedTokens",
    "broken-hashes-parsed-json": "HashesParsedJson",
    "broken-eos-between-as-after": "EosBetweenAsAfter",
    "broken-splits-documents": "SplitsDocuments",
    "broken-rotates-past-limit": "RotatesPastLimit",
    "broken-vocab-size-ignores-added": "VocabSizeIgnoresAdded",
    "broken-hashes-int64": "HashesInt64",
    "broken-adds-special-tokens": "AddsSpecialTokens",
    "broken-resume-skips-a-document": "ResumeSkipsADocument",
    "broken-resume-ignores-tokenizer": "ResumeIgnoresTokenizer",
    "broken-fastpath-unverified": "FastPathUnverified",
    "broken-drops-bad-lines": "DropsBadLines",
    "broken-verify-counts-only": "VerifyCountsOnly",
    "broken-sorts-merges": "SortsMerges",
    "broken-skips-nfc": "SkipsNfc",
    "broken-encodes-one-by-one": "EncodesOneByOne",
    "broken-repair-counts-leftovers": "RepairCountsLeftovers",
    "broken-repair-tokens-as-bytes": "RepairTokensAsBytes",
    "broken-repair-floors-truncated": "RepairFloorsTruncated",
    "broken-repair-reference-schema": "RepairReferenceSchema",
    "broken-repair-local-timestamp": "RepairLocalTimestamp",
    "broken-repair-truncates-shard": "RepairTruncatesShard",
    "broken-repair-run-id": "RepairRunId",
    "broken-verify-vocab-inclusive": "VerifyVocabInclusive",
    "broken-shuffles-unseeded": "ShufflesUnseeded",
    "broken-big-endian-shards": "BigEndianShards",
    "broken-hash-not-reset": "HashNotReset",
    "broken-strided-workers": "StridedWorkers",
    "broken-refuses-workers-above-cpus": "RefusesWorkersAboveCpus",
    "broken-serialized-workers": "SerializedWorkers",
    "broken-shared-encoder-pool": "SharedEncoderPool",
    "broken-workers-flag-ignored": "WorkersFlagIgnored",
    "broken-default-workers-cpu-count": "DefaultWorkersCpuCount",
    "broken-zero-workers-falls-back": "ZeroWorkersFallsBack",
    "broken-doc-tick-off-by-one": "DocTickOffByOne",
    "broken-time-tick-millis": "TimeTickMillis",
    "broken-quiet-keeps-final": "QuietKeepsFinal",
    "broken-eta-without-total": "EtaWithoutTotal",
    "broken-shards-floor-divided": "ShardsFloorDivided",
    "broken-estimate-keeps-sample-shard": "EstimateKeepsSampleShard",
    "broken-estimate-writes-manifest": "EstimateWritesManifest",
    "broken-estimate-sample-ignored": "EstimateSampleIgnored",
    "broken-parquet-suffix-case-sensitive": "ParquetSuffixCaseSensitive",
    "broken-parquet-first-row-group-only": "ParquetFirstRowGroupOnly",
    "broken-guesses-parquet-column": "GuessesParquetColumn",
    "broken-encodes-mixed-folder": "EncodesMixedFolder",
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.tokenizer.protocol import TokenizerEngine

    register_engines(registry, "tokenizer", TokenizerEngine, ("hf", "engines.tokenizer.engine", "HFTokenizerEngine"),
                     "engines.tokenizer.mutants", MUTANTS)
