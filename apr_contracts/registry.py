"""Registries handed to plugin hooks: engines by kind and name, falsifiers by id, reporters by name."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from apr_contracts.api import FalsifierFn, FalsifierSpec, specs_in


class RegistryError(Exception):
    """A plugin registered something inconsistently (duplicate id, unknown kind...)."""


@dataclass(frozen=True)
class EngineSpec:
    kind: str
    name: str
    factory: Callable[[], Any]
    plugin: str
    default: bool = False

    def create(self) -> Any:
        """Instantiate the engine; the instance learns its registered ``name`` so it can pass it on
        (an integration falsifier hands it to the `apr` subprocess as ``--engine-impl KIND=NAME``)."""
        engine = self.factory()
        if getattr(engine, "name", None) != self.name:
            with contextlib.suppress(AttributeError):
                engine.name = self.name
        return engine


@dataclass
class EngineRegistry:
    """Engines by kind, then by name. Each kind may carry a Protocol its engines must satisfy."""

    kinds: dict[str, type | None] = field(default_factory=dict)
    engines: dict[str, dict[str, EngineSpec]] = field(default_factory=dict)
    current_plugin: str = "?"

    def add_kind(self, kind: str, protocol: type | None = None) -> None:
        known = self.kinds.get(kind)
        if known is not None and protocol is not None and known is not protocol:
            raise RegistryError(f"engine kind {kind!r} is declared twice with different protocols")
        self.kinds[kind] = protocol or known
        self.engines.setdefault(kind, {})

    def add(self, kind: str, name: str, factory: Callable[[], Any], *, default: bool = False) -> None:
        if kind not in self.kinds:
            self.add_kind(kind)
        by_name = self.engines[kind]
        if name in by_name:
            raise RegistryError(
                f"engine {kind}={name} is registered by both {by_name[name].plugin!r} and {self.current_plugin!r}"
            )
        by_name[name] = EngineSpec(kind, name, factory, self.current_plugin, default)

    def names(self, kind: str) -> list[str]:
        return sorted(self.engines.get(kind, {}))

    def choose(self, kind: str, name: str | None = None) -> EngineSpec:
        """The engine for ``kind``: ``name`` if given, else the default (or the only one)."""
        by_name = self.engines.get(kind)
        if not by_name:
            raise LookupError(f"no engine of kind {kind!r} is registered (install the 'engines' extra or a plugin)")
        if name is not None:
            if name not in by_name:
                raise LookupError(f"no {kind} engine named {name!r}; available: {', '.join(sorted(by_name))}")
            return by_name[name]
        defaults = [spec for spec in by_name.values() if spec.default]
        if len(defaults) == 1:
            return defaults[0]
        if len(by_name) == 1:
            return next(iter(by_name.values()))
        raise LookupError(f"several {kind} engines and no single default: {', '.join(sorted(by_name))}")

    def conforms(self, kind: str, engine: object) -> list[str]:
        """Names of protocol members ``engine`` lacks (empty when it conforms)."""
        protocol = self.kinds.get(kind)
        if protocol is None:
            return []
        members = [m for m in getattr(protocol, "__protocol_attrs__", ()) if not m.startswith("_")]
        return sorted(m for m in members if not hasattr(engine, m))


@dataclass(frozen=True)
class OutOfScope:
    """A plugin's word that a falsifier id does not apply to these engines, and why."""

    falsifier_id: str
    reason: str
    plugin: str


@dataclass
class FalsifierRegistry:
    """Falsifier implementations by id; an id may be bound once, or declared out of scope once."""

    by_id: dict[str, FalsifierSpec] = field(default_factory=dict)
    out_of_scope: dict[str, OutOfScope] = field(default_factory=dict)
    current_plugin: str = "?"

    def declare_out_of_scope(self, falsifier_id: str, reason: str) -> None:
        """Say that ``falsifier_id`` (of someone else's contract) does not apply here, in one line.

        `pv run` records it as OUT_OF_SCOPE with the reason; it never counts as HELD.
        """
        reason = " ".join(str(reason).split())
        if not reason:
            raise RegistryError(f"{falsifier_id}: declaring it out of scope needs a reason (one line)")
        for taken in (self.by_id.get(falsifier_id), self.out_of_scope.get(falsifier_id)):
            if taken is not None:
                raise RegistryError(
                    f"{falsifier_id} is declared out of scope by plugin {self.current_plugin!r} but "
                    f"{'bound' if isinstance(taken, FalsifierSpec) else 'already declared out of scope'} "
                    f"by plugin {taken.plugin!r}; keep one"
                )
        self.out_of_scope[falsifier_id] = OutOfScope(falsifier_id, reason, self.current_plugin)

    def add(self, fn: FalsifierFn | FalsifierSpec) -> None:
        specs = [fn] if isinstance(fn, FalsifierSpec) else specs_in_function(fn)
        if not specs:
            raise RegistryError(f"{fn!r} is not decorated with @falsifier(...)")
        for spec in specs:
            spec = replace(spec, plugin=self.current_plugin)
            if spec.id in self.out_of_scope:
                raise RegistryError(
                    f"falsifier {spec.id} is bound by plugin {spec.plugin!r} ({spec.qualname}) but declared out "
                    f"of scope by plugin {self.out_of_scope[spec.id].plugin!r}; keep one"
                )
            if spec.id in self.by_id:
                other = self.by_id[spec.id]
                raise RegistryError(
                    f"falsifier {spec.id} is registered twice: by plugin {other.plugin!r} "
                    f"({other.qualname}) and by plugin {spec.plugin!r} ({spec.qualname}); "
                    "block one with -p no:NAME"
                )
            self.by_id[spec.id] = spec

    def add_module(self, module: ModuleType) -> None:
        for spec in specs_in(module):
            self.add(spec)

    def add_all(self, fns: Iterable[FalsifierFn]) -> None:
        for fn in fns:
            self.add(fn)

    def get(self, falsifier_id: str) -> FalsifierSpec | None:
        return self.by_id.get(falsifier_id)


def specs_in_function(fn: FalsifierFn) -> list[FalsifierSpec]:
    return list(getattr(fn, "__apr_falsifier_spec__", []))


@dataclass
class ReporterRegistry:
    """Extra scoreboard formats: name -> render(board) -> str."""

    renderers: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    current_plugin: str = "?"

    def add(self, name: str, render: Callable[[Any], str]) -> None:
        if name in self.renderers:
            raise RegistryError(f"reporter format {name!r} is registered twice (second by {self.current_plugin!r})")
        self.renderers[name] = render
