"""Registers the trainer engine kind, the real engine ``torch`` (default) and its broken mutants
(imported only when first built: see engines.plugin_support and apr_contracts.mutation)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from apr_contracts.mutation import MutantRow, mutant
from engines.plugin_support import register_engines

# Every mutant of this kind, written once: its name -> where its class lives (relative to
# engines.trainer.mutants, imported only when the mutant is first built or described) and the
# falsifiers (CONTRACT::FALSIFIER) meant to kill it, which `pv mutants --mode targeted` runs.
# Its one-line description is the class docstring's first line.
MUTANTS: dict[str, MutantRow] = {
    "broken-inspect-safetensors-as-config": mutant(
        ".core:InspectSafetensorsAsConfig",
        "apr-cli-qa-v1::FALSIFY-QA-009",
    ),
    "broken-import-drops-hf-arch": mutant(
        ".hf_arch:ImportDropsHfArch",
        "C-APR-CONVERT-HF-ARCH::FALSIFY-CONVERT-HF-ARCH-001",
    ),
    "broken-import-guesses-hf-arch": mutant(
        ".hf_arch:ImportGuessesHfArch",
        "C-APR-CONVERT-HF-ARCH::FALSIFY-CONVERT-HF-ARCH-002",
    ),
    "broken-import-last-hf-arch": mutant(
        ".hf_arch:ImportLastHfArch",
        "C-APR-CONVERT-HF-ARCH::FALSIFY-CONVERT-HF-ARCH-003",
    ),
    "broken-import-slug-as-hf-class": mutant(
        ".hf_arch:ImportSlugAsHfClass",
        "C-APR-CONVERT-HF-ARCH::FALSIFY-CONVERT-HF-ARCH-004",
    ),
    "broken-qwen-preset-rope": mutant(
        ".core:QwenPresetRope",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-001",
    ),
    "broken-scratch-mha": mutant(
        ".core:ScratchMHA",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-002",
    ),
    "broken-defaults-missing-field": mutant(
        ".core:DefaultsMissingField",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-003",
    ),
    "broken-gqa-tiles-kv": mutant(
        ".core:GQATilesKV",
        "apr-lifecycle-v1::FALSIFY-LIFECYCLE-002",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-004",
    ),
    "broken-strict-vocab-under-init": mutant(
        ".core:StrictVocabUnderInit",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-005",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-009",
    ),
    "broken-relaxed-without-init": mutant(
        ".core:RelaxedWithoutInit",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-006",
    ),
    "broken-bound-off-by-one": mutant(
        ".core:BoundOffByOne",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-010",
    ),
    "broken-bound-exclusive": mutant(
        ".core:BoundExclusive",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-009",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-010",
    ),
    "broken-accepts-encoder": mutant(
        ".core:AcceptsEncoder",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-007",
    ),
    "broken-init-cpu-only": mutant(
        ".core:InitCpuOnly",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-ARCH-011",
    ),
    "broken-count-tied-twice": mutant(
        ".core:CountTiedTwice",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-001",
    ),
    "broken-tokens-ignore-accum": mutant(
        ".core:TokensIgnoreAccum",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-002",
    ),
    "broken-suggest-floor": mutant(
        ".core:SuggestFloor",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-003",
    ),
    "broken-refuse-below-5n": mutant(
        ".core:RefuseBelow5N",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-004",
    ),
    "broken-severe-unworded": mutant(
        ".core:SevereUnworded",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-005",
    ),
    "broken-floor-inclusive": mutant(
        ".core:FloorInclusive",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-004",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-005",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-004",
    ),
    "broken-optimal-exclusive": mutant(
        ".core:OptimalExclusive",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-005",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-003",
    ),
    "broken-severe-inclusive": mutant(
        ".core:SevereInclusive",
        "apr-pretrain-chinchilla-gate-v1::FALSIFY-APR-PRETRAIN-CHINCHILLA-005",
    ),
    "broken-import-no-unpermute": mutant(
        ".core:ImportKeepsPermutation",
        "apr-lifecycle-v1::FALSIFY-LIFECYCLE-LIVE-001",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-FROM-INIT-001",
    ),
    "broken-warmup-int-div": mutant(
        ".core:WarmupIntDiv",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-FROM-INIT-002",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-002",
    ),
    "broken-cosine-from-step-0": mutant(
        ".schedule_data:CosineFromStepZero",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-001",
    ),
    "broken-lr-horizon-dropped": mutant(
        ".schedule_data:HorizonDropped",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-002",
    ),
    "broken-cosine-full-period": mutant(
        ".schedule_data:CosineFullPeriod",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-001",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-003",
    ),
    "broken-unknown-horizon-defaulted": mutant(
        ".schedule_data:UnknownHorizonDefaulted",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-004",
    ),
    "broken-lr-first-group-only": mutant(
        ".schedule_data:LrFirstGroupOnly",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-005",
    ),
    "broken-horizon-micro-steps": mutant(
        ".schedule_data:HorizonCountsMicroSteps",
        "cosine-lr-schedule-v1::FALSIFY-COSINE-006",
    ),
    "broken-val-shards-still-split": mutant(
        ".schedule_data:ValShardsStillSplit",
        "C-APR-PRETRAIN-VAL-SHARD::FALSIFY-PRETRAIN-VAL-SHARD-001",
    ),
    "broken-val-wraps": mutant(
        ".schedule_data:ValWrapsAround",
        "C-APR-PRETRAIN-VAL-SHARD::FALSIFY-PRETRAIN-VAL-SHARD-002",
    ),
    "broken-val-empty-fallback": mutant(
        ".schedule_data:ValEmptyFallsBack",
        "C-APR-PRETRAIN-VAL-SHARD::FALSIFY-PRETRAIN-VAL-SHARD-003",
    ),
    "broken-legacy-every-16": mutant(
        ".schedule_data:LegacySplitEvery16",
        "C-APR-PRETRAIN-VAL-SHARD::FALSIFY-PRETRAIN-VAL-SHARD-004",
    ),
    "broken-shard-big-endian": mutant(".schedule_data:ShardBigEndian", "data-feed-v1::FALSIFY-ALM-001"),
    "broken-manifest-lenient": mutant(".schedule_data:ManifestLenient", "data-feed-v1::FALSIFY-ALM-002"),
    "broken-pe-seq-first-broadcast": mutant(
        ".pos_gqa:PosSeqFirstBroadcast",
        "absolute-position-v1::FALSIFY-AP-001",
    ),
    "broken-pe-add-layernorm": mutant(".pos_gqa:PosAddLayerNorm", "absolute-position-v1::FALSIFY-AP-002"),
    "broken-pe-wraps-position": mutant(".pos_gqa:PosWrapAround", "absolute-position-v1::FALSIFY-AP-003"),
    "broken-pe-add-fp16": mutant(".pos_gqa:PosAddHalf", "absolute-position-v1::FALSIFY-AP-004"),
    "broken-pe-scaled-by-sqrt-d": mutant(".pos_gqa:PosTableScaled", "absolute-position-v1::FALSIFY-AP-005"),
    "broken-pe-concat-layout": mutant(".pos_gqa:PosConcatLayout", "absolute-position-v1::FALSIFY-AP-006"),
    "broken-pe-freq-exponent": mutant(".pos_gqa:PosFreqExponent", "absolute-position-v1::FALSIFY-AP-007"),
    "broken-gqa-mask-after-softmax": mutant(".pos_gqa:GQAMaskAfterSoftmax", "gqa-kernel-v1::FALSIFY-GQ-001"),
    "broken-gqa-mha-path-uncausal": mutant(".pos_gqa:GQAMhaPathNotCausal", "gqa-kernel-v1::FALSIFY-GQ-002"),
    "broken-gqa-dropout-in-eval": mutant(".pos_gqa:GQADropoutInEval", "gqa-kernel-v1::FALSIFY-GQ-003"),
    "broken-gqa-no-ratio-check": mutant(".pos_gqa:GQANoRatioCheck", "gqa-kernel-v1::FALSIFY-GQ-004"),
    "broken-gqa-bf16-scores": mutant(".pos_gqa:GQABf16Scores", "gqa-kernel-v1::FALSIFY-GQ-005"),
    "broken-gqa-mqa-fold": mutant(".pos_gqa:GQAMqaFoldHeads", "gqa-kernel-v1::FALSIFY-GQ-006"),
    "broken-gqa-pow2-group": mutant(
        ".pos_gqa:GQAPow2GroupRound",
        "gqa-kernel-v1::FALSIFY-GQ-007",
        "gqa-kernel-v1::FALSIFY-GQ-008",
    ),
    "broken-init-missing-scratch": mutant(
        ".init:InitMissingScratch",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-003",
    ),
    "broken-init-fallback-random": mutant(
        ".init:InitFallbackRandom",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-004",
    ),
    "broken-init-resizes-vocab": mutant(
        ".init:InitResizesVocab",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-005",
    ),
    "broken-init-reinit-linears": mutant(
        ".init:InitReinitLinears",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-006",
    ),
    "broken-init-carries-optimizer": mutant(
        ".init:InitCarriesOptimizer",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-009",
    ),
    "broken-init-unseeded-jitter": mutant(
        ".init:InitUnseededJitter",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-010",
    ),
    "broken-init-auto-only": mutant(
        ".init:InitAutoOnly",
        "apr-pretrain-arch-polymorphic-v1::FALSIFY-APR-PRETRAIN-INIT-CUDA-001",
    ),
    "broken-chinchilla-init-exempt": mutant(
        ".init:ChinchillaInitExempt",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-001",
    ),
    "broken-chinchilla-silent-force": mutant(
        ".init:ChinchillaSilentForce",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-002",
    ),
    "broken-chinchilla-gates-synthetic": mutant(
        ".init:ChinchillaGatesSynthetic",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-003",
    ),
    "broken-chinchilla-rounded-ratio": mutant(
        ".init:ChinchillaRoundedRatio",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-004",
    ),
    "broken-chinchilla-no-warn-band": mutant(
        ".init:ChinchillaNoWarnBand",
        "C-CHINCHILLA-GATE::FALSIFY-CHINCHILLA-005",
    ),
    "broken-synthetic-uniform": mutant(
        ".init:SyntheticUniform",
        "apr-pretrain-from-init-v1::FALSIFY-APR-PRETRAIN-INIT-002",
    ),
    "broken-gelu-table-offset": mutant(".act_alibi:GeluTableOffset", "activation-kernel-v1::FALSIFY-ACT-001"),
    "broken-gelu-tanh-coef": mutant(".act_alibi:GeluTanhCoefficient", "activation-kernel-v1::FALSIFY-ACT-002"),
    "broken-gelu-textbook-f32": mutant(
        ".act_alibi:GeluTextbookFloat32",
        "activation-kernel-v1::FALSIFY-ACT-005",
    ),
    "broken-gelu-poly-erf": mutant(".act_alibi:GeluPolynomialErf", "activation-kernel-v1::FALSIFY-ACT-010"),
    "broken-gelu-tanh-no-half": mutant(".act_alibi:GeluTanhNoHalf", "activation-kernel-v1::FALSIFY-ACT-011"),
    "broken-silu-sigmoid-gate": mutant(".act_alibi:SiluSigmoidGate", "activation-kernel-v1::FALSIFY-ACT-003"),
    "broken-relu-mask-multiply": mutant(
        ".act_alibi:ReluMaskMultiply",
        "activation-kernel-v1::FALSIFY-ACT-004",
    ),
    "broken-relu-sign-flip": mutant(".act_alibi:ReluSignFlip", "activation-kernel-v1::FALSIFY-ACT-006"),
    "broken-relu-as-leaky": mutant(".act_alibi:ReluAsLeaky", "activation-kernel-v1::FALSIFY-ACT-007"),
    "broken-leaky-max-trick": mutant(".act_alibi:LeakyMaxTrick", "activation-kernel-v1::FALSIFY-ACT-008"),
    "broken-leaky-default-slope": mutant(
        ".act_alibi:LeakyDefaultSlope",
        "activation-kernel-v1::FALSIFY-ACT-009",
    ),
    "broken-alibi-no-offset": mutant(
        ".act_alibi:AlibiNoOffset",
        "alibi-slopes-v1::FALSIFY-AS-001",
        "alibi-slopes-v1::FALSIFY-AS-002",
    ),
    "broken-alibi-interleave-offset": mutant(
        ".act_alibi:AlibiInterleaveOffset",
        "alibi-slopes-v1::FALSIFY-AS-001",
        "alibi-slopes-v1::FALSIFY-AS-002",
    ),
    "broken-alibi-naive-geometric": mutant(
        ".act_alibi:AlibiNaiveGeometric",
        "alibi-slopes-v1::FALSIFY-AS-003",
    ),
    "broken-loader-drops-fragment": mutant(".loader:LoaderDropsFragment", "C-PRETOK-BIN::FALSIFY-PRETOK-002"),
    "broken-loader-skips-header": mutant(".loader:LoaderSkipsHeader", "C-PRETOK-BIN::FALSIFY-PRETOK-003"),
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.trainer.protocol import TrainerEngine

    register_engines(registry, "trainer", TrainerEngine, ("torch", "engines.trainer.engine", "TorchTrainer"))


@hookimpl
def apr_register_mutants(registry: Any) -> None:
    registry.add_table("trainer", "engines.trainer.mutants", MUTANTS)
