"""Registers the trainer engine kind, the real engine ``torch`` (default) and its broken mutants.

Light on purpose (every `apr` and `pv` command loads it): engines are named here and
their modules (pydantic models, and torch inside functions) are imported by the
factories, when a command or a falsifier first asks for one.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl

MUTANT_NAMES = (  # the `name` of each class in engines.trainer.mutants.MUTANTS (a test keeps them equal)
    "broken-qwen-preset-rope",
    "broken-scratch-mha",
    "broken-defaults-missing-field",
    "broken-gqa-tiles-kv",
    "broken-strict-vocab-under-init",
    "broken-relaxed-without-init",
    "broken-bound-off-by-one",
    "broken-accepts-encoder",
    "broken-init-cpu-only",
    "broken-count-tied-twice",
    "broken-tokens-ignore-accum",
    "broken-suggest-floor",
    "broken-refuse-below-5n",
    "broken-severe-unworded",
    "broken-import-no-unpermute",
    "broken-warmup-int-div",
)


def _real() -> Any:
    from engines.trainer.engine import TorchTrainer

    return TorchTrainer()


def _mutant(name: str) -> Any:
    def factory() -> Any:
        from engines.trainer.mutants import MUTANTS

        return {cls.name: cls for cls in MUTANTS}[name]()

    factory.__qualname__ = f"make_{name}"
    return factory


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.trainer.protocol import TrainerEngine

    registry.add_kind("trainer", TrainerEngine)
    registry.add("trainer", "torch", _real, default=True)
    for name in MUTANT_NAMES:
        registry.add("trainer", name, _mutant(name))
