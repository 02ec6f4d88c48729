"""The ship board: acceptance files x contracts x evidence -> criterion status, ship-%, history, drift.

Like the scoreboard it never runs anything: it reads the evidence store, recomputes each
falsifier's claim hash from the contract text as it is now (``scoreboard.evidence_for``), and
hands the current rows to the pure derivation (:mod:`apr_contracts.acceptance.derive`). The
history recomputes the same derivation from the evidence as it stood after each recorded run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from apr_contracts.acceptance.bind import ProductSpec, StatusClaimSpec, qualified, resolve
from apr_contracts.acceptance.derive import (
    CriterionResult,
    CriterionStatus,
    derive_criteria,
    display_percent,
    ship_fraction,
)
from apr_contracts.claims import claim_hash
from apr_contracts.evidence import EvidenceStore, RunRecord, StoredResult
from apr_contracts.scoreboard import HISTORY_RUNS, evidence_for
from apr_contracts.status import FalsifierEvidence
from apr_contracts.testevidence import tree

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance
    from apr_contracts.loader import LoadedContract

SHIP_JSON_VERSION = 1
FAIL_ON_HELP = "below:PCT (a product under PCT %), regression (the latest run unmet a criterion met before), drift"


@dataclass(frozen=True)
class Drift:
    file: str
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ProductRow:
    spec: ProductSpec
    criteria: list[CriterionResult]
    drift: list[Drift] = field(default_factory=list)
    history: list[tuple[int, Fraction, dict[str, CriterionStatus]]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def ship(self) -> Fraction:
        return ship_fraction(self.criteria)

    @property
    def percent(self) -> str:
        return display_percent(self.ship)

    @property
    def met(self) -> list[str]:
        return [r.spec.id for r in self.criteria if r.met]

    def regressions(self) -> list[str]:
        """Criteria MET after the previous run and not MET after the latest one."""
        if len(self.history) < 2:
            return []
        (prev_run, _, before), (last_run, _, after) = self.history[-2], self.history[-1]
        return [f"{self.id}: {cid} was MET after run #{prev_run}, is {after.get(cid, CriterionStatus.UNMET).value} "
                f"after run #{last_run}" for cid, s in before.items()
                if s is CriterionStatus.MET and after.get(cid) is not CriterionStatus.MET]


@dataclass
class ShipBoard:
    products: list[ProductRow]
    runs: list[RunRecord] = field(default_factory=list)
    evidence_path: str | None = None
    notes: list[str] = field(default_factory=list)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return {"version": SHIP_JSON_VERSION, "generated_at": self.generated_at, "evidence": self.evidence_path,
                "products": [product_dict(p) for p in self.products], "notes": list(self.notes)}

    def fail_reasons(self, conditions: Iterable[str]) -> list[str]:
        reasons: list[str] = []
        for cond in conditions:
            if cond == "regression":
                reasons += [r for p in self.products for r in p.regressions()]
            elif cond == "drift":
                reasons += [f"{p.id}: {d}" for p in self.products for d in p.drift]
            elif cond.startswith("below:"):
                floor = Fraction(cond.split(":", 1)[1])
                reasons += [f"{p.id}: ship {p.percent} % is below {cond.split(':', 1)[1]} %"
                            + (f" (exactly {float(p.ship):.4g} %)" if p.ship != Fraction(p.percent) else "")
                            for p in self.products if p.ship < floor]
        return reasons


def product_dict(p: ProductRow) -> dict[str, Any]:
    return {
        "id": p.id, "title": p.spec.title, "ship_percent": float(p.percent),
        "ship_exact": [p.ship.numerator, p.ship.denominator],
        "met": len(p.met), "of": len(p.criteria),
        "criteria": [criterion_dict(r) for r in p.criteria],
        "drift": [d.to_dict() for d in p.drift],
        "history": [{"run": run, "ship_percent": float(display_percent(frac)),
                     "met": sorted(c for c, s in statuses.items() if s is CriterionStatus.MET)}
                    for run, frac, statuses in p.history],
    }


def criterion_dict(r: CriterionResult) -> dict[str, Any]:
    s = r.spec
    return {
        "id": s.id, "title": s.title, "status": r.status.value, "weight": float(s.weight), "live": s.live,
        "file": s.file, "line": s.line,
        "falsifiers": [{"id": n.id, "outcome": n.label, "level": n.required_level.value if n.required_level else None,
                        "held_at_level": n.held_at_level} for n in r.needs],
        "missing": [m.to_dict() for m in r.missing],
    }


def evidence_rows(contracts: Sequence[LoadedContract], results: Sequence[StoredResult],
                  up_to_run: int | None = None) -> dict[str, FalsifierEvidence]:
    """Each falsifier's current evidence (claim hash as the contract reads now), up to a run if given,
    keyed ``CONTRACT::FALSIFIER`` (acceptance.bind.qualified): ids are scoped per contract."""
    by_key: dict[tuple[str, str], list[StoredResult]] = defaultdict(list)
    for s in results:
        by_key[(s.result.contract_id, s.result.falsifier_id)].append(s)
    rows: dict[str, FalsifierEvidence] = {}
    for contract in contracts:
        for entry in contract.falsifiers:
            key = qualified(contract.id, entry.id)
            if key not in rows:
                own = by_key.get((contract.id, entry.id), [])
                rows[key] = evidence_for(entry, claim_hash(contract, entry), own, up_to_run)[0]
    return rows


def claim_drift(claim: StatusClaimSpec, results: Sequence[CriterionResult]) -> list[Drift]:
    """Where a hand-typed ``{count, of, ids}`` disagrees with the derived state."""
    met = [r.spec.id for r in results if r.met]
    out: list[str] = []
    if claim.count is not None and claim.count != len(met):
        out.append(f"status.count is {claim.count}, but {len(met)} criteria are MET in the evidence")
    if claim.of is not None and claim.of != len(results):
        out.append(f"status.of is {claim.of}, but the product has {len(results)} criteria")
    claimed = set(claim.ids)
    if claimed - set(met):
        out.append(f"status.ids claims {', '.join(sorted(claimed - set(met)))} MET; the evidence does not")
    if set(met) - claimed:
        out.append(f"status.ids omits {', '.join(sorted(set(met) - claimed))}, MET in the evidence")
    return [Drift(claim.file, claim.line, f"{claim.product}: {m}") for m in out]


def derive_products(specs: Sequence[ProductSpec], rows: Mapping[str, FalsifierEvidence]) -> list[ProductRow]:
    return [ProductRow(p, derive_criteria(p.criteria, rows)) for p in specs]


def build_ship(
    acceptance: Sequence[LoadedAcceptance], contracts: Sequence[LoadedContract], store: EvidenceStore | None,
    *, history_runs: int = HISTORY_RUNS, notes: Sequence[str] = (),
) -> ShipBoard:
    specs = resolve(acceptance, contracts)
    results: list[StoredResult] = []
    runs: list[RunRecord] = []
    tree.reset_cache()  # test evidence is current only while the tree is unchanged: look again now
    if store is not None:
        results = store.results_for(contract_ids=sorted({c.id for c in contracts}))
        runs = store.runs(limit=history_runs)
    products = derive_products(specs, evidence_rows(contracts, results))
    for run in runs:
        at_run = derive_products(specs, evidence_rows(contracts, results, run.id))
        for row, then in zip(products, at_run, strict=True):
            row.history.append((run.id, then.ship, {r.spec.id: r.status for r in then.criteria}))
    for row in products:
        for claim in row.spec.claims:
            row.drift += claim_drift(claim, row.criteria)
    return ShipBoard(products, runs, str(store.path) if store is not None else None, list(notes))


@dataclass(frozen=True)
class Movement:
    """How one product's ship-% moved between two states of the evidence, and why."""

    product: str
    old: Fraction
    new: Fraction
    criteria: list[tuple[str, str, str, list[str]]]  # (criterion, old status, new status, falsifier changes)

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "old_percent": float(display_percent(self.old)),
                "new_percent": float(display_percent(self.new)),
                "criteria": [{"id": c, "old": o, "new": n, "because": because} for c, o, n, because in self.criteria]}


def movement(old: Sequence[ProductRow], new: Sequence[ProductRow]) -> list[Movement]:
    """Per product: old -> new ship-%, the criteria whose status changed and the needed falsifiers that moved."""
    out = []
    for before, after in zip(old, new, strict=True):
        moved = []
        for a, b in zip(before.criteria, after.criteria, strict=True):
            if a.status is b.status:
                continue
            because = [f"{x.id}: {x.label} -> {y.label}" + ("" if y.held_at_level or y.label != "HELD" else " (below level)")
                       for x, y in zip(a.needs, b.needs, strict=True)
                       if (x.label, x.held_at_level) != (y.label, y.held_at_level)]
            moved.append((a.spec.id, a.status.value, b.status.value, because))
        out.append(Movement(before.id, before.ship, after.ship, moved))
    return out
