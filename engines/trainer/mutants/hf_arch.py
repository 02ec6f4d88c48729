"""Broken trainer engines for the HF-architecture identity recorded at `apr import` (one defect each).

Registered, like the others, in the table of :mod:`engines.trainer.plugin`.
"""

from __future__ import annotations

from typing import Any

from engines.trainer.engine import TorchTrainer


class ImportDropsHfArch(TorchTrainer):
    """`apr import` of an HF folder never records the source class (the producer gap: always None)."""

    def hf_architecture_of(self, hf_config: Any) -> str | None:
        return None


class ImportGuessesHfArch(TorchTrainer):
    """With no ``architectures`` in config.json, invents a class from ``model_type`` instead of leaving it unset."""

    def hf_architecture_of(self, hf_config: Any) -> str | None:
        found = super().hf_architecture_of(hf_config)
        model_type = hf_config.get("model_type")
        return found if found is not None or not isinstance(model_type, str) else self.hf_class_for_family(model_type)


class ImportLastHfArch(TorchTrainer):
    """Takes the last entry of ``architectures`` (a secondary head class) instead of the first."""

    def hf_architecture_of(self, hf_config: Any) -> str | None:
        classes = hf_config.get("architectures")
        return classes[-1] if isinstance(classes, list) and classes and isinstance(classes[-1], str) else None


class ImportSlugAsHfClass(TorchTrainer):
    """GGUF import records the family slug (``qwen2``) as the HF class name."""

    def hf_class_for_family(self, family: str) -> str:
        return family

