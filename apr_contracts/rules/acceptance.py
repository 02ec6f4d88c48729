"""PV-ACCEPT-*: acceptance files, and how contracts bind to their criteria (evidence-free checks).

Structural checks of a hand-typed ``status: {count, of, ids}`` (the reference team's audit:
count == len(ids), count <= of) and of references in both directions. Whether the claim matches
the *evidence* is `pv ship`'s drift, not a validation rule: `pv validate` never reads evidence.
Rules about references run only when the other side is loaded (no noise for contract-only runs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance, ProductEntry
    from apr_contracts.loader import LoadedContract

Located = tuple[Any, Finding]  # (the LoadedAcceptance or LoadedContract the finding is in, finding)


def _where(doc: LoadedAcceptance, path: tuple[str | int, ...]) -> str:
    from apr_contracts.scoreboard import display_path

    return f"{display_path(doc.path)}:{doc.line_of(path)}"


def duplicates(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    seen: dict[str, tuple[LoadedAcceptance, tuple[str | int, ...]]] = {}
    for doc in ctx.acceptance:
        products: dict[str, tuple[str | int, ...]] = {}
        for p in doc.products:
            if p.id in products:
                yield doc, Finding((*p.path, "id"), f"product {p.id} is defined twice in this file "
                                   f"(first at line {doc.line_of(products[p.id])})",
                                   "merge the two entries; a product may also continue in another acceptance file")
            products.setdefault(p.id, p.path)
            for c in p.criteria:
                if c.id in seen:
                    first_doc, first_path = seen[c.id]
                    yield doc, Finding((*c.path, "id"), f"criterion id {c.id} is already used at "
                                       f"{_where(first_doc, first_path)}: `binds_to: {c.id}` would be ambiguous")
                else:
                    seen[c.id] = (doc, c.path)


def _product_criteria(ctx: CheckContext) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for doc in ctx.acceptance:
        for p in doc.products:
            out.setdefault(p.id, set()).update(c.id for c in p.criteria)
    return out


def _claims(ctx: CheckContext) -> Iterator[tuple[LoadedAcceptance, ProductEntry]]:
    for doc in ctx.acceptance:
        for p in doc.products:
            if p.status is not None:
                yield doc, p


def count_vs_ids(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    for doc, p in _claims(ctx):
        s = p.status
        assert s is not None
        if s.count is not None and s.count != len(s.ids):
            yield doc, Finding((*s.path, "count"), f"{p.id}: status.count is {s.count} but status.ids lists {len(s.ids)}")


def count_over_of(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    for doc, p in _claims(ctx):
        s = p.status
        assert s is not None
        if s.count is not None and s.of is not None and s.count > s.of:
            yield doc, Finding((*s.path, "count"), f"{p.id}: status.count {s.count} exceeds status.of {s.of}")


def ids_unknown(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    known = _product_criteria(ctx)
    for doc, p in _claims(ctx):
        s = p.status
        assert s is not None
        seen: set[str] = set()
        for k, cid in enumerate(s.ids):
            if cid in seen:
                yield doc, Finding((*s.path, "ids", k), f"{p.id}: status.ids lists {cid} twice")
            elif cid not in known.get(p.id, set()):
                yield doc, Finding((*s.path, "ids", k), f"{p.id}: status.ids names {cid}, which is no criterion of {p.id}")
            seen.add(cid)


def of_vs_criteria(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    known = _product_criteria(ctx)
    for doc, p in _claims(ctx):
        s = p.status
        assert s is not None
        n = len(known.get(p.id, set()))
        if s.of is not None and s.of != n:
            yield doc, Finding((*s.path, "of"), f"{p.id}: status.of is {s.of} but the product has {n} criteria")


def unknown_references(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    if not contracts:
        return  # nothing to resolve against: `pv validate acceptance/` alone says nothing about ids
    from apr_contracts.acceptance.bind import FalsifierIndex

    index = FalsifierIndex.of(contracts)
    ids = {c.id for c in contracts}
    for doc in ctx.acceptance:
        for p in doc.products:
            for c in p.criteria:
                for k, fid in c.falsifiers:
                    if index.resolve(fid)[1] == "unknown":
                        yield doc, Finding((*c.path, "falsifiers", k),
                                           f"criterion {c.id} needs falsifier {fid}, which no loaded contract defines")
                for k, cid in c.contracts:
                    if cid not in ids:
                        yield doc, Finding((*c.path, "contracts", k),
                                           f"criterion {c.id} needs contract {cid}, which is not among the loaded contracts")


def ambiguous_references(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    """A bare falsifier id that several loaded contracts declare: which claim the criterion needs is unknown."""
    if not contracts:
        return
    from apr_contracts.acceptance.bind import FalsifierIndex

    index = FalsifierIndex.of(contracts)
    for doc in ctx.acceptance:
        for p in doc.products:
            for c in p.criteria:
                for k, fid in c.falsifiers:
                    problem = index.resolve(fid)[1]
                    if problem not in (None, "unknown"):
                        yield doc, Finding((*c.path, "falsifiers", k), f"criterion {c.id}: {problem}")


def listed_but_bound_elsewhere(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    from apr_contracts.acceptance.bind import (
        FalsifierIndex,
        binds_to_tokens,
        local_names,
        qualified,
    )
    from apr_contracts.scoreboard import display_path

    index = FalsifierIndex.of(contracts)

    bound: dict[str, tuple[list[str], str]] = {}
    for contract in contracts:
        local = local_names(contract)
        for entry in contract.falsifiers:
            tokens = [t for t in binds_to_tokens(entry.raw.get("binds_to")) if t not in local]
            key = qualified(contract.id, entry.id)
            if tokens and key not in bound:
                bound[key] = (tokens, f"{display_path(contract.path)}:{contract.line_of((*entry.path, 'binds_to'))}")
    for doc in ctx.acceptance:
        for p in doc.products:
            for c in p.criteria:
                for k, fid in c.falsifiers:
                    key = index.resolve(fid)[0]
                    if key in bound and c.id not in bound[key][0]:
                        tokens, where = bound[key]
                        yield doc, Finding((*c.path, "falsifiers", k),
                                           f"criterion {c.id} lists {fid}, whose `binds_to` ({where}) names "
                                           f"{' + '.join(tokens)}, not {c.id}")


def binds_to_unknown(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    if not ctx.acceptance:
        return  # a contract-only run cannot tell a criterion id from a typo
    from apr_contracts.acceptance.bind import bindings

    criteria = {c for ids in _product_criteria(ctx).values() for c in ids}
    known = {f.id for c in contracts for f in c.falsifiers}
    for contract in contracts:
        for b in bindings(contract, known):
            if b.criterion not in criteria:
                yield contract, Finding(b.path, f"{b.source} binds to {b.criterion}, which no acceptance file defines "
                                        "(nor is it an equation or invariant of this contract)")


def _needs(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[tuple[LoadedAcceptance, Any, Any]]:
    """(doc, criterion entry, resolved spec) for every criterion, when contracts are loaded."""
    if not contracts or not ctx.acceptance:
        return
    from apr_contracts.acceptance.bind import resolve

    specs = {c.id: c for p in resolve(ctx.acceptance, contracts) for c in p.criteria}
    for doc in ctx.acceptance:
        for p in doc.products:
            for c in p.criteria:
                if c.id in specs:
                    yield doc, c, specs[c.id]


def live_without_live_falsifier(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    from apr_contracts.acceptance.bind import qualified
    from apr_contracts.outcomes import Level

    levels = {qualified(c.id, f.id): f.level for c in contracts for f in c.falsifiers}
    for doc, c, spec in _needs(contracts, ctx):
        if c.live and spec.needs and not any(levels.get(fid) is Level.LIVE for fid in spec.needs):
            yield doc, Finding((*c.path, "live"), f"criterion {c.id} requires live evidence but none of the "
                               f"{len(spec.needs)} falsifier(s) it needs is live-level: it can never be met")


def needs_nothing(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[Located]:
    for doc, c, spec in _needs(contracts, ctx):
        if not spec.needs and not spec.blockers:
            yield doc, Finding((*c.path, "id"), f"criterion {c.id} needs no falsifier: no `falsifiers`, no "
                               "`contracts`, and no `binds_to` points at it, so it can never be met")


E, W = Severity.ERROR, Severity.WARNING
RULES = (
    Rule("PV-ACCEPT-001", "duplicate criterion or product id", E,
         "A criterion id used twice across the acceptance files (`binds_to:` could not tell which is meant), "
         "or a product defined twice in one file. A product may continue in another acceptance file.",
         "give each criterion its own id", corpus_check=duplicates),
    Rule("PV-ACCEPT-002", "status.count disagrees with status.ids", W,
         "A product's hand-typed `status: {count, of, ids}` whose `count` is not the number of `ids`. "
         "`pv ship` derives the real count from evidence; the typed one must at least agree with itself.",
         "make count equal len(ids), or delete the hand-typed block (`pv ship` derives it)", corpus_check=count_vs_ids),
    Rule("PV-ACCEPT-003", "status.count exceeds status.of", W,
         "A hand-typed `status:` that claims more criteria met than it says exist.",
         "fix count or of, or delete the hand-typed block", corpus_check=count_over_of),
    Rule("PV-ACCEPT-004", "status.ids names no criterion of the product", W,
         "An id in a product's `status.ids` that is not one of that product's criteria, or an id listed twice.",
         "list only criterion ids of this product, once each", corpus_check=ids_unknown),
    Rule("PV-ACCEPT-005", "status.of disagrees with the product's criteria", W,
         "A hand-typed `status.of` that is not the number of criteria the product defines (in all acceptance "
         "files validated together).", "set of to the number of criteria", corpus_check=of_vs_criteria),
    Rule("PV-ACCEPT-006", "criterion needs a falsifier or contract that does not exist", W,
         "A criterion's `falsifiers:` entry that no loaded contract defines, or a `contracts:` entry that is no "
         "loaded contract id. Checked only when contracts are validated together with the acceptance file "
         "(or are in [tool.pv] paths).", "fix the id, or validate the contracts together with the acceptance file",
         corpus_check=unknown_references),
    Rule("PV-ACCEPT-007", "criterion lists a falsifier bound to another criterion", W,
         "A criterion lists falsifier F under `falsifiers:`, but F's own `binds_to:` in its contract names other "
         "criteria and not this one: the two directions of the binding disagree.",
         "list F under the criterion its binds_to names, or add this criterion to its binds_to",
         corpus_check=listed_but_bound_elsewhere),
    Rule("PV-ACCEPT-008", "binds_to names no criterion", W,
         "A falsifier's or gate's `binds_to:` names something that is no criterion of the acceptance files "
         "validated together, and no equation or invariant of its own contract. Checked only when acceptance "
         "files are part of the validated set (given or in [tool.pv] paths).",
         "fix the criterion id, or add the criterion to an acceptance file", corpus_check=binds_to_unknown),
    Rule("PV-ACCEPT-009", "live criterion without a live falsifier", W,
         "A criterion with `live: true` none of whose needed falsifiers is live-level: non-live evidence can "
         "never meet it.", "add a live falsifier to what it needs, or drop `live: true`",
         corpus_check=live_without_live_falsifier),
    Rule("PV-ACCEPT-010", "criterion needs no falsifier", W,
         "A criterion with no `falsifiers:`, no `contracts:` and no `binds_to:` pointing at it: nothing can "
         "ever meet it. Checked only when contracts are loaded.",
         "name the falsifiers or contracts whose evidence meets it", corpus_check=needs_nothing),
    Rule("PV-ACCEPT-011", "criterion names a falsifier id several contracts declare", E,
         "Falsifier ids are scoped per contract, so a bare id in a criterion's `falsifiers:` that two loaded "
         "contracts declare does not say which claim the criterion needs. Write it qualified: "
         "`CONTRACT-ID::FALSIFIER-ID`.",
         "qualify the id with its contract: `CONTRACT-ID::FALSIFIER-ID`", corpus_check=ambiguous_references),
)
