"""Registers the trainer engine kind, the real engine ``torch`` (default) and its broken mutants (by name:
see engines.plugin_support)."""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from engines.plugin_support import register_engines

MUTANTS: dict[str, str] = {  # registered name -> class in the mutants module (a test keeps them equal)
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
}


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.trainer.protocol import TrainerEngine

    register_engines(registry, "trainer", TrainerEngine, ("torch", "engines.trainer.engine", "TorchTrainer"),
                     "engines.trainer.mutants", MUTANTS)
