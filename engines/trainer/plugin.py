"""Registers the trainer engine kind, the real engine ``torch`` (default) and its broken mutants (by name:
see engines.plugin_support)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from engines.plugin_support import register_engines

MUTANTS: dict[str, str] = {  # registered name -> class in the mutants module (a test keeps them equal)
    "broken-import-drops-hf-arch": "ImportDropsHfArch",
    "broken-import-guesses-hf-arch": "ImportGuessesHfArch",
    "broken-import-last-hf-arch": "ImportLastHfArch",
    "broken-import-slug-as-hf-class": "ImportSlugAsHfClass",
    "broken-qwen-preset-rope": "QwenPresetRope",
    "broken-scratch-mha": "ScratchMHA",
    "broken-defaults-missing-field": "DefaultsMissingField",
    "broken-gqa-tiles-kv": "GQATilesKV",
    "broken-strict-vocab-under-init": "StrictVocabUnderInit",
    "broken-relaxed-without-init": "RelaxedWithoutInit",
    "broken-bound-off-by-one": "BoundOffByOne",
    "broken-bound-exclusive": "BoundExclusive",
    "broken-accepts-encoder": "AcceptsEncoder",
    "broken-init-cpu-only": "InitCpuOnly",
    "broken-count-tied-twice": "CountTiedTwice",
    "broken-tokens-ignore-accum": "TokensIgnoreAccum",
    "broken-suggest-floor": "SuggestFloor",
    "broken-refuse-below-5n": "RefuseBelow5N",
    "broken-severe-unworded": "SevereUnworded",
    "broken-floor-inclusive": "FloorInclusive",
    "broken-optimal-exclusive": "OptimalExclusive",
    "broken-severe-inclusive": "SevereInclusive",
    "broken-import-no-unpermute": "ImportKeepsPermutation",
    "broken-warmup-int-div": "WarmupIntDiv",
    "broken-cosine-from-step-0": "CosineFromStepZero",
    "broken-lr-horizon-dropped": "HorizonDropped",
    "broken-cosine-full-period": "CosineFullPeriod",
    "broken-unknown-horizon-defaulted": "UnknownHorizonDefaulted",
    "broken-lr-first-group-only": "LrFirstGroupOnly",
    "broken-horizon-micro-steps": "HorizonCountsMicroSteps",
    "broken-val-shards-still-split": "ValShardsStillSplit",
    "broken-val-wraps": "ValWrapsAround",
    "broken-val-empty-fallback": "ValEmptyFallsBack",
    "broken-legacy-every-16": "LegacySplitEvery16",
    "broken-shard-big-endian": "ShardBigEndian",
    "broken-manifest-lenient": "ManifestLenient",
    "broken-pe-seq-first-broadcast": "PosSeqFirstBroadcast",
    "broken-pe-add-layernorm": "PosAddLayerNorm",
    "broken-pe-wraps-position": "PosWrapAround",
    "broken-pe-add-fp16": "PosAddHalf",
    "broken-pe-scaled-by-sqrt-d": "PosTableScaled",
    "broken-pe-concat-layout": "PosConcatLayout",
    "broken-pe-freq-exponent": "PosFreqExponent",
    "broken-gqa-mask-after-softmax": "GQAMaskAfterSoftmax",
    "broken-gqa-mha-path-uncausal": "GQAMhaPathNotCausal",
    "broken-gqa-dropout-in-eval": "GQADropoutInEval",
    "broken-gqa-no-ratio-check": "GQANoRatioCheck",
    "broken-gqa-bf16-scores": "GQABf16Scores",
    "broken-gqa-mqa-fold": "GQAMqaFoldHeads",
    "broken-gqa-pow2-group": "GQAPow2GroupRound",
    "broken-init-missing-scratch": "InitMissingScratch",
    "broken-init-fallback-random": "InitFallbackRandom",
    "broken-init-resizes-vocab": "InitResizesVocab",
    "broken-init-reinit-linears": "InitReinitLinears",
    "broken-init-carries-optimizer": "InitCarriesOptimizer",
    "broken-init-unseeded-jitter": "InitUnseededJitter",
    "broken-init-auto-only": "InitAutoOnly",
    "broken-chinchilla-init-exempt": "ChinchillaInitExempt",
    "broken-chinchilla-silent-force": "ChinchillaSilentForce",
    "broken-chinchilla-gates-synthetic": "ChinchillaGatesSynthetic",
    "broken-chinchilla-rounded-ratio": "ChinchillaRoundedRatio",
    "broken-chinchilla-no-warn-band": "ChinchillaNoWarnBand",
    "broken-synthetic-uniform": "SyntheticUniform",
    "broken-gelu-table-offset": "GeluTableOffset",
    "broken-gelu-tanh-coef": "GeluTanhCoefficient",
    "broken-gelu-textbook-f32": "GeluTextbookFloat32",
    "broken-gelu-poly-erf": "GeluPolynomialErf",
    "broken-gelu-tanh-no-half": "GeluTanhNoHalf",
    "broken-silu-sigmoid-gate": "SiluSigmoidGate",
    "broken-relu-mask-multiply": "ReluMaskMultiply",
    "broken-relu-sign-flip": "ReluSignFlip",
    "broken-relu-as-leaky": "ReluAsLeaky",
    "broken-leaky-max-trick": "LeakyMaxTrick",
    "broken-leaky-default-slope": "LeakyDefaultSlope",
    "broken-alibi-no-offset": "AlibiNoOffset",
    "broken-alibi-interleave-offset": "AlibiInterleaveOffset",
    "broken-alibi-naive-geometric": "AlibiNaiveGeometric",
    "broken-loader-drops-fragment": "LoaderDropsFragment",
    "broken-loader-skips-header": "LoaderSkipsHeader",
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.trainer.protocol import TrainerEngine

    register_engines(registry, "trainer", TrainerEngine, ("torch", "engines.trainer.engine", "TorchTrainer"),
                     "engines.trainer.mutants", MUTANTS)
