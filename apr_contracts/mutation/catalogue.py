"""The mutant catalogue: what ``apr_register_mutants`` fills.

Each mutant is written once, in one table per plugin: its registered name maps to where its
class lives (imported only when the mutant is built or described), the falsifiers meant to catch
it, or the reason it is equivalent (no falsifier can tell it from the real engine)::

    MUTANTS = {
        "broken-forgets-manifest": mutant(".core:ForgetsManifest", "my-contract-v1::FALSIFY-X-001"),
        "broken-same-bytes": mutant(".core:SameBytes", equivalent="writes identical files by another route"),
    }

    @hookimpl
    def apr_register_mutants(registry):
        registry.add_table("tokenizer", "my_plugin.mutants", MUTANTS)

Registered mutants are also engines (``--engine KIND=NAME`` picks one), flagged as mutants so
`pv plugins` lists them only with ``--mutants``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (contract id, falsifier id)
PAIR_SEPARATOR = "::"


class MutantError(Exception):
    """A plugin registered a mutant inconsistently (duplicate name, bad target, caught-by and equivalent...)."""


def parse_pair(item: Any, where: str) -> Key:
    """``(contract id, falsifier id)`` or ``"CONTRACT::FALSIFIER"`` -> the pair."""
    if isinstance(item, str):
        contract, sep, falsifier = item.partition(PAIR_SEPARATOR)
    elif isinstance(item, tuple | list) and len(item) == 2:
        contract, sep, falsifier = str(item[0]), PAIR_SEPARATOR, str(item[1])
    else:
        contract = sep = falsifier = ""
    if not sep or not contract.strip() or not falsifier.strip():
        raise MutantError(f"{where}: caught_by entries are (contract id, falsifier id) or "
                          f"'CONTRACT{PAIR_SEPARATOR}FALSIFIER', got {item!r}")
    return contract.strip(), falsifier.strip()


@dataclass(frozen=True)
class MutantRow:
    """One row of a plugin's mutant table (see :func:`mutant`)."""

    target: str | Callable[[], Any]
    caught_by: tuple[Any, ...] = ()
    equivalent: str | None = None
    description: str | None = None


def mutant(target: str | Callable[[], Any], *caught_by: Any, equivalent: str | None = None,
           description: str | None = None) -> MutantRow:
    """A table row: ``target`` is ``"module:Class"`` (``".sub:Class"`` relative to the table's
    package) or the class itself; ``caught_by`` are the (contract, falsifier) pairs meant to kill
    it; ``equivalent`` the reason no falsifier can; ``description`` defaults to the class
    docstring's first line."""
    return MutantRow(target, tuple(caught_by), equivalent, description)


@dataclass(frozen=True)
class MutantSpec:
    name: str
    kind: str
    breaks: str  # the engine it is a broken copy of ("" until resolved: the kind's default)
    module: str
    attribute: str  # the class (or factory) in ``module``
    plugin: str
    caught_by: tuple[Key, ...] = ()
    equivalent: str = ""
    declared_description: str = ""
    # A target handed over as an object rather than a dotted path (third-party tables, legacy engines).
    obj: Callable[[], Any] | None = field(default=None, compare=False)

    def load(self) -> Callable[[], Any]:
        """The mutant's class or factory, imported now (on first use, never at registration)."""
        if self.obj is not None:
            return self.obj
        target: Callable[[], Any] = getattr(importlib.import_module(self.module), self.attribute)
        return target

    def factory(self) -> Callable[[], Any]:
        """A factory importing the class only when called; its ``__module__`` is the mutant's code,
        which is what run fingerprints follow."""

        def make() -> Any:
            return self.load()()

        make.__qualname__ = f"make_{self.attribute}"
        make.__module__ = self.module
        return make

    def description(self) -> str:
        """The declared one-line description, else the first line of the class docstring."""
        if self.declared_description:
            return self.declared_description
        try:
            doc = self.load().__doc__ or ""
        except Exception as exc:  # described, not fatal: a listing must not die on one broken import
            return f"(cannot import {self.module}:{self.attribute}: {type(exc).__name__}: {exc})"
        lines = [line.strip() for line in doc.strip().splitlines()]
        return lines[0] if lines and lines[0] else "(no description: give the class a docstring)"


@dataclass
class MutantRegistry:
    """Mutants by (engine kind, name)."""

    mutants: dict[tuple[str, str], MutantSpec] = field(default_factory=dict)
    current_plugin: str = "?"

    def add(self, name: str, kind: str, target: str | Callable[[], Any], *, breaks: str | None = None,
            package: str | None = None, caught_by: Iterable[Any] = (), equivalent: str | None = None,
            description: str | None = None) -> None:
        """Register mutant ``kind=name`` (see :func:`mutant` for the arguments)."""
        where = f"mutant {kind}={name} (plugin {self.current_plugin!r})"
        if not name or not kind:
            raise MutantError(f"{where}: a mutant needs a name and an engine kind")
        module, attribute, obj = _target(target, package, where)
        pairs = tuple(parse_pair(item, where) for item in caught_by)
        reason = " ".join(str(equivalent).split()) if equivalent is not None else ""
        if equivalent is not None and not reason:
            raise MutantError(f"{where}: equivalent= needs the reason no falsifier can catch it (one line)")
        if reason and pairs:
            raise MutantError(f"{where}: declared both equivalent and caught by {len(pairs)} falsifier(s); "
                              "an equivalent mutant is one nothing can catch: keep one")
        taken = self.mutants.get((kind, name))
        if taken is not None:
            raise MutantError(f"mutant {kind}={name} is registered by both {taken.plugin!r} and "
                              f"{self.current_plugin!r}; block one with -p no:NAME")
        self.mutants[(kind, name)] = MutantSpec(
            name, kind, breaks or "", module, attribute, self.current_plugin, pairs, reason,
            " ".join((description or "").split()), obj)

    def add_table(self, kind: str, package: str, table: Mapping[str, MutantRow | str], *,
                  breaks: str | None = None) -> None:
        """Register every row of ``table`` (name -> :func:`mutant` row, or a bare target string)."""
        for name, row in table.items():
            row = row if isinstance(row, MutantRow) else MutantRow(row)
            self.add(name, kind, row.target, breaks=breaks, package=package, caught_by=row.caught_by,
                     equivalent=row.equivalent, description=row.description)

    def of_kind(self, kind: str) -> list[MutantSpec]:
        return sorted((s for (k, _), s in self.mutants.items() if k == kind), key=lambda s: s.name)

    def specs(self) -> list[MutantSpec]:
        return sorted(self.mutants.values(), key=lambda s: (s.kind, s.name))

    def get(self, kind: str, name: str) -> MutantSpec | None:
        return self.mutants.get((kind, name))


def _target(target: str | Callable[[], Any], package: str | None, where: str
            ) -> tuple[str, str, Callable[[], Any] | None]:
    if not isinstance(target, str):
        module = getattr(target, "__module__", "") or ""
        return module, getattr(target, "__qualname__", repr(target)), target
    module, sep, attribute = target.partition(":")
    if not sep or not module or not attribute:
        raise MutantError(f"{where}: target {target!r} is not 'module:Class' (or '.submodule:Class')")
    if module.startswith("."):
        if not package:
            raise MutantError(f"{where}: relative target {target!r} needs the table's package")
        module = package + (module if module != "." else "")
    return module, attribute, None
