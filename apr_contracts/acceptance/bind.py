"""Binding acceptance criteria to falsifiers, from both directions.

From the acceptance side a criterion lists falsifier ids and whole contracts. From the
contract side a falsifier entry or a gate says ``binds_to: AC-X`` (the reference team
writes ``binds_to: AC-SHIP2-003 + AC-SHIP2-011`` for two). A gate is not executed: it
contributes the falsifiers it names (``falsification_id``, or falsifier ids in its ``rule``
or ``check``); a gate naming none blocks its criterion, because its ``verdict:`` is typed by
hand and only executed evidence may move ship-%.

``binds_to`` also names an equation or invariant of its own contract in some real contracts
(``binds_to: parquet_input_signature``); such words are claim bindings, not criteria.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apr_contracts.acceptance.derive import Blocker, CriterionSpec, weight_of
from apr_contracts.scoreboard import display_path

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance, StatusEntry
    from apr_contracts.loader import LoadedContract

_SEPARATORS = re.compile(r"[\s,+&;|]+")
_WORD = re.compile(r"[A-Za-z0-9_.\-]+")
_FILLER = frozenset({"and", "or"})


def binds_to_tokens(value: Any) -> list[str]:
    """The names a ``binds_to`` value lists: text split at spaces, commas and ``+``, or a list of them."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out += [t for t in _SEPARATORS.split(item) if t and t.lower() not in _FILLER and t not in out]
    return out


def local_names(contract: LoadedContract) -> set[str]:
    """Names ``binds_to`` may point at inside its own contract: equations and invariants."""
    names = set(contract.equations)
    inv = contract.raw.get("invariants")
    if isinstance(inv, dict):
        names.update(map(str, inv))
    elif isinstance(inv, list):
        names.update(str(e["id"]) for e in inv if isinstance(e, dict) and isinstance(e.get("id"), str))
    return names


@dataclass(frozen=True)
class Binding:
    """``binds_to: CRITERION`` on a falsifier entry or a gate of a contract."""

    criterion: str
    falsifiers: tuple[str, ...]  # the falsifier itself, or those a gate names (may be empty)
    contract: LoadedContract = field(compare=False)
    path: tuple[str | int, ...]  # of the binds_to value, for file:line
    source: str  # "falsifier FALSIFY-X" or "gate GATE-Y"

    @property
    def where(self) -> str:
        return f"{display_path(self.contract.path)}:{self.contract.line_of(self.path)}"


def bindings(contract: LoadedContract, known_falsifiers: set[str]) -> Iterator[Binding]:
    """Every criterion reference a contract makes with ``binds_to`` (local names excluded)."""
    local = local_names(contract)
    for entry in contract.falsifiers:
        for token in binds_to_tokens(entry.raw.get("binds_to")):
            if token not in local:
                yield Binding(token, (entry.id,), contract, (*entry.path, "binds_to"), f"falsifier {entry.id}")
    gates = contract.raw.get("gates")
    for i, gate in enumerate(gates if isinstance(gates, list) else []):
        if not isinstance(gate, dict):
            continue
        tokens = [t for t in binds_to_tokens(gate.get("binds_to")) if t not in local]
        if tokens:
            named = gate_falsifiers(gate, known_falsifiers)
            for token in tokens:
                yield Binding(token, named, contract, ("gates", i, "binds_to"), f"gate {gate.get('id', i)}")


def gate_falsifiers(gate: dict[str, Any], known: set[str]) -> tuple[str, ...]:
    """Falsifier ids a gate names: ``falsification_id`` (even unknown ones), known ids in its rule/check."""
    named: list[str] = [t for t in binds_to_tokens(gate.get("falsification_id"))]
    for key in ("rule", "check"):
        text = gate.get(key)
        if isinstance(text, str):
            named += [w for w in _WORD.findall(text) if w in known and w not in named]
    return tuple(dict.fromkeys(named))


QUALIFIER = "::"  # `CONTRACT-ID::FALSIFIER-ID`: a falsifier named with its contract


def qualified(contract_id: str, falsifier_id: str) -> str:
    """The key a criterion needs and evidence is looked up by: falsifier ids are scoped per contract."""
    return f"{contract_id}{QUALIFIER}{falsifier_id}"


@dataclass
class FalsifierIndex:
    """Which loaded contracts declare each falsifier id, to resolve acceptance references to keys."""

    owners: dict[str, list[str]] = field(default_factory=dict)  # falsifier id -> contract ids
    keys: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, contracts: Sequence[LoadedContract]) -> FalsifierIndex:
        index = cls()
        for contract in contracts:
            for entry in contract.falsifiers:
                key = qualified(contract.id, entry.id)
                if key not in index.keys:
                    index.keys.add(key)
                    index.owners.setdefault(entry.id, []).append(contract.id)
        return index

    def resolve(self, ref: str, prefer: str | None = None) -> tuple[str, str | None]:
        """``(key, problem)`` for a reference written in an acceptance file or a gate.

        ``CONTRACT::ID`` is taken as written; a bare id is qualified with the one contract that
        declares it (``prefer``, the referring contract, wins when it declares it). A bare id that
        several contracts declare is ambiguous: the key is returned bare, with the problem.
        """
        if QUALIFIER in ref:
            return ref, None if ref in self.keys else "unknown"
        owners = self.owners.get(ref, [])
        if prefer is not None and prefer in owners:
            return qualified(prefer, ref), None
        if len(owners) == 1:
            return qualified(owners[0], ref), None
        if not owners:
            return ref, "unknown"
        forms = " or ".join(f"`{qualified(c, ref)}`" for c in owners)
        return ref, f"{ref} is declared by {len(owners)} loaded contracts ({', '.join(owners)}); write {forms}"

    def ids(self) -> set[str]:
        return set(self.owners)


@dataclass(frozen=True)
class StatusClaimSpec:
    product: str
    count: int | None
    of: int | None
    ids: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class ProductSpec:
    id: str
    title: str | None
    criteria: tuple[CriterionSpec, ...]
    claims: tuple[StatusClaimSpec, ...] = ()


def resolve(acceptance: Sequence[LoadedAcceptance], contracts: Sequence[LoadedContract]) -> list[ProductSpec]:
    """Products (sorted by id; one product may span files) with each criterion's needed falsifiers."""
    by_contract = {c.id: [qualified(c.id, f.id) for f in c.falsifiers] for c in contracts}
    index = FalsifierIndex.of(contracts)
    known = index.ids()
    bound: dict[str, list[Binding]] = {}
    for contract in contracts:
        for b in bindings(contract, known):
            bound.setdefault(b.criterion, []).append(b)
    products: dict[str, tuple[str | None, list[CriterionSpec], list[StatusClaimSpec]]] = {}
    for doc in acceptance:
        for p in doc.products:
            title, criteria, claims = products.setdefault(p.id, (p.title, [], []))
            if title is None and p.title:
                products[p.id] = (p.title, criteria, claims)
            for c in p.criteria:
                needs: list[str] = []
                blockers: list[Blocker] = []
                for _, ref in c.falsifiers:
                    key, problem = index.resolve(ref)
                    if problem is not None and problem != "unknown":
                        blockers.append(Blocker("ambiguous_falsifier", problem))
                    else:
                        needs.append(key)  # an unknown one stays, so the criterion says it is missing
                for _, cid in c.contracts:
                    if cid in by_contract:
                        needs += by_contract[cid]
                    else:
                        blockers.append(Blocker("unknown_contract", f"contract {cid} is not among the loaded contracts"))
                for b in bound.get(c.id, []):
                    needs += [index.resolve(fid, prefer=b.contract.id)[0] for fid in b.falsifiers]
                    if not b.falsifiers:
                        blockers.append(Blocker("gate_without_falsifier",
                                                f"{b.source} ({b.where}) binds to it but names no falsifier; "
                                                "a gate's verdict is typed by hand and cannot count"))
                criteria.append(CriterionSpec(
                    id=c.id, product=p.id, needs=tuple(dict.fromkeys(needs)), weight=weight_of(c.weight),
                    live=c.live, title=c.title, blockers=tuple(blockers), file=display_path(doc.path),
                    line=doc.line_of(c.path),
                ))
            if p.status is not None:
                claims.append(_claim(p.id, p.status, doc))
    return [ProductSpec(pid, title, tuple(criteria), tuple(claims))
            for pid, (title, criteria, claims) in sorted(products.items())]


def _claim(product: str, status: StatusEntry, doc: LoadedAcceptance) -> StatusClaimSpec:
    return StatusClaimSpec(product, status.count, status.of, tuple(status.ids), display_path(doc.path),
                           doc.line_of(status.path))
