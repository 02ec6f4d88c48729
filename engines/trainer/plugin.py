"""Registers the trainer engine kind, the real engine ``torch`` (default) and its broken mutants.

Importable with only pydantic/pyyaml/pluggy/rich installed: the engine modules it imports
keep torch, numpy, safetensors, gguf and tokenizers inside functions.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_engines(registry: Any) -> None:
    from engines.trainer.engine import TorchTrainer
    from engines.trainer.mutants import MUTANTS
    from engines.trainer.protocol import TrainerEngine

    registry.add_kind("trainer", TrainerEngine)
    registry.add("trainer", TorchTrainer.name, TorchTrainer, default=True)
    for mutant in MUTANTS:
        registry.add("trainer", mutant.name, mutant)
