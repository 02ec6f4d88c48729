"""Engine plugin: registers the "tokenizer" kind, the default "hf" engine and the broken-* mutants.

Importable with only the core dependencies installed: the engines are imported by
their factories, when a falsifier or a command first asks for one.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from apr_contracts.mutation import MutantRow, mutant
from engines.plugin_support import register_engines

# Every mutant of this kind, written once: its name -> where its class lives (relative to
# engines.tokenizer.mutants, imported only when the mutant is first built or described) and the
# falsifiers (CONTRACT::FALSIFIER) meant to kill it, which `pv mutants --mode targeted` runs.
# Its one-line description is the class docstring's first line.
MUTANTS: dict[str, MutantRow] = {
    "broken-forgets-manifest": mutant(
        ".core:ForgetsManifest",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-001",
    ),
    "broken-empty-merges": mutant(
        ".core:EmptyMerges",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-002",
    ),
    "broken-ignores-added-tokens": mutant(
        ".core:IgnoresAddedTokens",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-003",
    ),
    "broken-drops-last-merge": mutant(
        ".core:DropsLastMerge",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-004",
    ),
    "broken-validates-after-writing": mutant(
        ".core:ValidatesAfterWriting",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-005",
    ),
    "broken-renumbers-added-tokens": mutant(
        ".core:RenumbersAddedTokens",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-006",
    ),
    "broken-hashes-parsed-json": mutant(
        ".core:HashesParsedJson",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-007",
    ),
    "broken-eos-between-as-after": mutant(
        ".core:EosBetweenAsAfter",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-001",
    ),
    "broken-splits-documents": mutant(
        ".core:SplitsDocuments",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-002",
    ),
    "broken-rotates-past-limit": mutant(
        ".core:RotatesPastLimit",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-002",
    ),
    "broken-vocab-size-ignores-added": mutant(
        ".core:VocabSizeIgnoresAdded",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-003",
        "apr-lifecycle-v1::FALSIFY-LIFECYCLE-001",
    ),
    "broken-hashes-int64": mutant(
        ".core:HashesInt64",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-004",
    ),
    "broken-adds-special-tokens": mutant(
        ".core:AddsSpecialTokens",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-005",
    ),
    "broken-resume-skips-a-document": mutant(
        ".core:ResumeSkipsADocument",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-006",
    ),
    "broken-resume-ignores-tokenizer": mutant(
        ".core:ResumeIgnoresTokenizer",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-007",
    ),
    "broken-fastpath-unverified": mutant(
        ".core:FastPathUnverified",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-008",
    ),
    "broken-drops-bad-lines": mutant(
        ".core:DropsBadLines",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-009",
    ),
    "broken-verify-counts-only": mutant(
        ".core:VerifyCountsOnly",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-010",
    ),
    "broken-sorts-merges": mutant(
        ".core:SortsMerges",
        "apr-cli-tokenize-import-hf-v1::FALSIFY-TOK-IMPORT-HF-LIVE-001",
    ),
    "broken-skips-nfc": mutant(
        ".core:SkipsNfc",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-LIVE-001",
    ),
    "broken-encodes-one-by-one": mutant(
        ".core:EncodesOneByOne",
        "apr-cli-tokenize-encode-corpus-v1::FALSIFY-TOK-ENCODE-CORPUS-LIVE-001",
    ),
    "broken-repair-counts-leftovers": mutant(
        ".shards:RepairCountsLeftovers",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-001",
    ),
    "broken-repair-tokens-as-bytes": mutant(
        ".shards:RepairTokensAsBytes",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-002",
    ),
    "broken-repair-floors-truncated": mutant(
        ".shards:RepairFloorsTruncated",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-002",
    ),
    "broken-repair-reference-schema": mutant(
        ".shards:RepairReferenceSchema",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-003",
    ),
    "broken-repair-local-timestamp": mutant(
        ".shards:RepairLocalTimestamp",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-004",
    ),
    "broken-repair-truncates-shard": mutant(
        ".shards:RepairTruncatesShard",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-005",
    ),
    "broken-repair-run-id": mutant(
        ".shards:RepairRunId",
        "C-APR-TOKENIZE-REPAIR-MANIFEST::FALSIFY-REPAIR-MANIFEST-006",
    ),
    "broken-verify-vocab-inclusive": mutant(
        ".shards:VerifyVocabInclusive",
        "C-PRETOK-BIN::FALSIFY-PRETOK-001",
    ),
    "broken-shuffles-unseeded": mutant(".shards:ShufflesUnseeded", "C-PRETOK-BIN::FALSIFY-PRETOK-004"),
    "broken-big-endian-shards": mutant(".shards:BigEndianShards", "C-PRETOK-BIN::FALSIFY-PRETOK-005"),
    "broken-hash-not-reset": mutant(".shards:HashNotReset", "C-PRETOK-BIN::FALSIFY-PRETOK-006"),
    "broken-strided-workers": mutant(
        ".parallel:StridedWorkers",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-001",
    ),
    "broken-refuses-workers-above-cpus": mutant(
        ".parallel:RefusesWorkersAboveCpus",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-003",
    ),
    "broken-serialized-workers": mutant(
        ".parallel:SerializedWorkers",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-002",
    ),
    "broken-shared-encoder-pool": mutant(".parallel:SharedEncoderPool"),
    "broken-workers-flag-ignored": mutant(
        ".parallel:WorkersFlagIgnored",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-004",
    ),
    "broken-default-workers-cpu-count": mutant(
        ".parallel:DefaultWorkersCpuCount",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-005",
    ),
    "broken-zero-workers-falls-back": mutant(
        ".parallel:ZeroWorkersFallsBack",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-006",
    ),
    "broken-doc-tick-off-by-one": mutant(
        ".parallel:DocTickOffByOne",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-007",
    ),
    "broken-time-tick-millis": mutant(
        ".parallel:TimeTickMillis",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-008",
    ),
    "broken-quiet-keeps-final": mutant(
        ".parallel:QuietKeepsFinal",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-009",
    ),
    "broken-eta-without-total": mutant(
        ".parallel:EtaWithoutTotal",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-010",
    ),
    "broken-shards-floor-divided": mutant(
        ".parallel:ShardsFloorDivided",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-011",
    ),
    "broken-estimate-keeps-sample-shard": mutant(
        ".parallel:EstimateKeepsSampleShard",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-012",
    ),
    "broken-estimate-writes-manifest": mutant(
        ".parallel:EstimateWritesManifest",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-013",
    ),
    "broken-estimate-sample-ignored": mutant(
        ".parallel:EstimateSampleIgnored",
        "apr-tokenize-parallel-bpe-v1::FALSIFY-APR-TOK-PAR-014",
    ),
    "broken-parquet-suffix-case-sensitive": mutant(
        ".parallel:ParquetSuffixCaseSensitive",
        "apr-cli-tokenize-encode-corpus-parquet-v1::FALSIFY-PARQ-INPUT-001",
    ),
    "broken-parquet-first-row-group-only": mutant(
        ".parallel:ParquetFirstRowGroupOnly",
        "apr-cli-tokenize-encode-corpus-parquet-v1::FALSIFY-PARQ-INPUT-002",
    ),
    "broken-guesses-parquet-column": mutant(
        ".parallel:GuessesParquetColumn",
        "apr-cli-tokenize-encode-corpus-parquet-v1::FALSIFY-PARQ-INPUT-003",
    ),
    "broken-encodes-mixed-folder": mutant(
        ".parallel:EncodesMixedFolder",
        "apr-cli-tokenize-encode-corpus-parquet-v1::FALSIFY-PARQ-INPUT-004",
    ),
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.tokenizer.protocol import TokenizerEngine

    register_engines(registry, "tokenizer", TokenizerEngine, ("hf", "engines.tokenizer.engine", "HFTokenizerEngine"))


@hookimpl
def apr_register_mutants(registry: Any) -> None:
    registry.add_table("tokenizer", "engines.tokenizer.mutants", MUTANTS)
