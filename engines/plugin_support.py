"""What the built-in engine plugins share: engines registered by name, imported when first built.

Every `apr` and `pv` start loads all plugins, so registering must import nothing heavy:
a plugin names its classes (``module``, ``class name``) and :func:`lazy_engine` imports the
module only when a command or falsifier first asks for that engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_engine(module: str, class_name: str) -> Callable[[], Any]:
    """A factory that imports ``module`` and builds ``class_name()`` when called."""

    def make() -> Any:
        return getattr(importlib.import_module(module), class_name)()

    make.__qualname__ = f"make_{class_name}"
    make.__module__ = module  # what pv's fingerprints follow: the engine's code, not this helper
    return make


def register_engines(registry: Any, kind: str, protocol: type, default: tuple[str, str, str]) -> None:
    """Register ``kind`` with its default engine (name, module, class). The kind's mutants are
    registered apart, by the plugin's ``apr_register_mutants`` (apr_contracts.mutation)."""
    registry.add_kind(kind, protocol)
    name, module, class_name = default
    registry.add(kind, name, lazy_engine(module, class_name), default=True)
