"""Registries handed to plugin hooks: engines by kind and name, falsifiers by id, reporters by name."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from apr_contracts.api import FalsifierFn, FalsifierSpec, normalize_contracts, specs_in


class RegistryError(Exception):
    """A plugin registered something inconsistently (duplicate id, unknown kind...)."""


@dataclass(frozen=True)
class EngineSpec:
    kind: str
    name: str
    factory: Callable[[], Any]
    plugin: str
    default: bool = False
    # A deliberately broken engine (the built-in `broken-*` ones) that exists so falsifiers can be
    # shown to catch its defect; `pv plugins` hides mutants unless asked (`--mutants`).
    mutant: bool = False

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

    def add(
        self, kind: str, name: str, factory: Callable[[], Any], *, default: bool = False, mutant: bool = False
    ) -> None:
        """Register engine ``kind=name``; ``mutant=True`` marks a deliberately broken one (see EngineSpec)."""
        if default and mutant:
            raise RegistryError(
                f"engine {kind}={name} (plugin {self.current_plugin!r}) is registered as both the default and a "
                "mutant; a mutant is deliberately broken, so it cannot be what runs when no engine is named: "
                "drop default=True"
            )
        if kind not in self.kinds:
            self.add_kind(kind)
        by_name = self.engines[kind]
        if name in by_name:
            raise RegistryError(
                f"engine {kind}={name} is registered by both {by_name[name].plugin!r} and {self.current_plugin!r}"
            )
        by_name[name] = EngineSpec(kind, name, factory, self.current_plugin, default, mutant)

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
    """A plugin's word that a falsifier of one contract does not apply to these engines, and why."""

    falsifier_id: str
    reason: str
    plugin: str
    contract: str = ""
    # Where the plugin made the declaration (its call to declare_out_of_scope), for `pv plugins --where`.
    source: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


Key = tuple[str, str]  # (contract id, falsifier id): how a falsifier is identified


@dataclass(frozen=True)
class Binding:
    """What the registry says about one contract entry: bound, declared out of scope, or neither, and why."""

    spec: FalsifierSpec | None = None
    out_of_scope: OutOfScope | None = None
    reason: str = ""  # why nothing is bound, when neither is set


@dataclass
class FalsifierRegistry:
    """Falsifier implementations by (contract id, falsifier id).

    Ids are scoped per contract: two plugins may implement the same falsifier id for different
    contracts, and an entry is bound only where both ids match. Each key may be bound once, or
    declared out of scope once.
    """

    bindings: dict[Key, FalsifierSpec] = field(default_factory=dict)
    out_of_scope: dict[Key, OutOfScope] = field(default_factory=dict)
    current_plugin: str = "?"

    def declare_out_of_scope(self, falsifier_id: str, reason: str, *, contract: str) -> None:
        """Say that ``falsifier_id`` of ``contract`` (someone else's) does not apply here, in one line.

        `pv run` records it as OUT_OF_SCOPE with the reason; it never counts as HELD.
        """
        reason = " ".join(str(reason).split())
        if not reason:
            raise RegistryError(f"{falsifier_id}: declaring it out of scope needs a reason (one line)")
        (contract,) = _contracts_of(contract, f"{falsifier_id} declared out of scope")
        key = (contract, falsifier_id)
        for taken in (self.bindings.get(key), self.out_of_scope.get(key)):
            if taken is not None:
                raise RegistryError(
                    f"{falsifier_id} of {contract} is declared out of scope by plugin {self.current_plugin!r} but "
                    f"{'bound' if isinstance(taken, FalsifierSpec) else 'already declared out of scope'} "
                    f"by plugin {taken.plugin!r}; keep one"
                )
        caller = sys._getframe(1)  # the plugin's line, so `pv plugins --where` can point at it
        self.out_of_scope[key] = OutOfScope(falsifier_id, reason, self.current_plugin, contract,
                                            caller.f_code.co_filename, caller.f_lineno)

    def add(self, fn: FalsifierFn | FalsifierSpec, *, contract: str | Iterable[str] | None = None) -> None:
        """Register the implementation(s) ``fn`` declares; ``contract`` applies to those that name none."""
        specs = [fn] if isinstance(fn, FalsifierSpec) else specs_in_function(fn)
        if not specs:
            raise RegistryError(f"{fn!r} is not decorated with @falsifier(...)")
        for spec in specs:
            contracts = spec.contracts or _contracts_of(contract, f"falsifier {spec.id} ({spec.qualname})")
            if spec.pin and len(contracts) != 1:
                raise RegistryError(
                    f"falsifier {spec.id} ({spec.qualname}) pins one claim but names {len(contracts)} contracts; "
                    "stack one @falsifier(..., contract=C, pin=P) per contract"
                )
            spec = replace(spec, plugin=self.current_plugin, contracts=contracts)
            for contract_id in contracts:
                self._bind(contract_id, spec)

    def _bind(self, contract_id: str, spec: FalsifierSpec) -> None:
        key = (contract_id, spec.id)
        if key in self.out_of_scope:
            raise RegistryError(
                f"falsifier {spec.id} of {contract_id} is bound by plugin {spec.plugin!r} ({spec.qualname}) but "
                f"declared out of scope by plugin {self.out_of_scope[key].plugin!r}; keep one"
            )
        if key in self.bindings:
            other = self.bindings[key]
            raise RegistryError(
                f"falsifier {spec.id} of {contract_id} is registered twice: by plugin {other.plugin!r} "
                f"({other.qualname}) and by plugin {spec.plugin!r} ({spec.qualname}); block one with -p no:NAME"
            )
        self.bindings[key] = spec

    def add_module(self, module: ModuleType, *, contract: str | Iterable[str] | None = None) -> None:
        """Register every falsifier declared in ``module``; ``contract`` for those that name none."""
        for spec in specs_in(module):
            self.add(spec, contract=contract)

    def add_all(self, fns: Iterable[FalsifierFn], *, contract: str | Iterable[str] | None = None) -> None:
        for fn in fns:
            self.add(fn, contract=contract)

    def get(self, contract_id: str, falsifier_id: str) -> FalsifierSpec | None:
        return self.bindings.get((contract_id, falsifier_id))

    def lookup(self, contract_id: str, falsifier_id: str) -> Binding:
        """What binds ``falsifier_id`` of ``contract_id``, or why nothing does."""
        key = (contract_id, falsifier_id)
        if key in self.bindings:
            return Binding(spec=self.bindings[key])
        if key in self.out_of_scope:
            return Binding(out_of_scope=self.out_of_scope[key])
        others = self.contracts_implementing(falsifier_id)
        if others:
            return Binding(reason=f"{falsifier_id} is implemented for {', '.join(others)}, not for {contract_id}")
        return Binding(reason="no plugin implements this falsifier id")

    def contracts_implementing(self, falsifier_id: str) -> list[str]:
        """The contract ids for which ``falsifier_id`` is bound or declared out of scope, sorted."""
        return sorted({c for c, f in [*self.bindings, *self.out_of_scope] if f == falsifier_id})

    def only(self, falsifier_id: str) -> FalsifierSpec:
        """The implementation of ``falsifier_id`` when exactly one contract has one (tests, ad-hoc runs)."""
        found = [spec for (_, fid), spec in self.bindings.items() if fid == falsifier_id]
        if not found:
            raise LookupError(f"no implementation is registered for {falsifier_id}")
        if len({id(s) for s in found}) > 1:
            contracts = sorted(c for c, fid in self.bindings if fid == falsifier_id)
            raise LookupError(f"{falsifier_id} is implemented for several contracts ({', '.join(contracts)}); "
                              "name one with contract=")
        return found[0]

    def specs(self) -> list[FalsifierSpec]:
        """Every registered implementation once (one spec may bind several contracts)."""
        seen: dict[int, FalsifierSpec] = {}
        for spec in self.bindings.values():
            seen.setdefault(id(spec), spec)
        return sorted(seen.values(), key=lambda s: (s.id, s.contracts))


def _contracts_of(contract: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    try:
        contracts = normalize_contracts(contract if contract is None or isinstance(contract, str) else list(contract))
    except ValueError as exc:
        raise RegistryError(f"{what}: {exc}") from exc
    if not contracts:
        raise RegistryError(
            f"{what} names no contract: falsifier ids are scoped per contract, so say which one it "
            "implements with @falsifier(..., contract='ID') or registry.add_module(module, contract='ID')"
        )
    return contracts


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
