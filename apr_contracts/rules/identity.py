"""PV-ID-*: ids that are duplicated, missing or not shaped like the contract's other ids."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from apr_contracts.rules._util import entries, text_id
from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

FALSIFY_ID = re.compile(r"^FALSIFY-[A-Z0-9]+(?:-[A-Z0-9]+)*-\d+$")
_TAIL = re.compile(r"-\d+$")


def _duplicates(c: LoadedContract, sections: tuple[str, ...], what: str) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for name in sections:
        for i, entry in entries(c, name):
            ident = text_id(entry.get("id"))
            if ident is None:
                continue
            if ident in first:
                yield Finding((name, i, "id"), f"duplicate {what} id `{ident}` (first at line {first[ident]})",
                              "give every entry its own id; evidence and references are keyed by id")
            else:
                first[ident] = c.line_of((name, i, "id"))


def dup_falsifiers(c: LoadedContract, ctx: CheckContext) -> Iterable[Finding]:
    return _duplicates(c, ("falsification_tests", "falsification"), "falsifier")


def dup_obligations(c: LoadedContract, ctx: CheckContext) -> Iterable[Finding]:
    return _duplicates(c, ("proof_obligations",), "proof obligation")


def dup_harnesses(c: LoadedContract, ctx: CheckContext) -> Iterable[Finding]:
    return _duplicates(c, ("kani_harnesses",), "kani harness")


def cross_falsifiers(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[tuple[LoadedContract, Finding]]:
    seen: dict[str, tuple[LoadedContract, int]] = {}
    for c in contracts:
        for f in c.falsifiers:
            other = seen.get(f.id)
            if other is None:
                seen[f.id] = (c, f.line)
            elif other[0] is not c:
                yield c, Finding((*f.path, "id"), f"falsifier id `{f.id}` is also used in {other[0].path}:{other[1]}",
                                 "allowed (ids are scoped per contract); an acceptance file naming this id must "
                                 f"write `{c.id}::{f.id}` or `{other[0].id}::{f.id}`")


def cross_contract_ids(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[tuple[LoadedContract, Finding]]:
    seen: dict[str, LoadedContract] = {}
    for c in contracts:
        other = seen.setdefault(c.id, c)
        if other is not c:
            where = ("metadata", "id") if c.id_source == "metadata.id" else (c.id_source,)
            yield c, Finding(where, f"contract id `{c.id}` is also the id of {other.path}",
                             "each contract needs its own id (an old copy of a contract belongs in version control, not beside it)")


def falsify_prefix(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for f in c.falsifiers:
        if not f.id.startswith("FALSIFY-"):
            yield Finding((*f.path, "id"), f"falsifier id `{f.id}` does not start with FALSIFY-",
                          "name falsifiers FALSIFY-<AREA>-<NNN> so tools and people can tell them from other ids")


def id_pattern(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    custom = ctx.config.falsifier_id_pattern
    pattern = re.compile(custom) if custom else FALSIFY_ID
    ids = [f for f in c.falsifiers if f.id.startswith("FALSIFY-")]
    prefixes = [_TAIL.sub("", f.id).split("-") for f in ids if FALSIFY_ID.match(f.id)]
    shared: list[str] = []
    if len(prefixes) >= 2:  # the words every well-formed id starts with, beyond FALSIFY
        for words in zip(*prefixes, strict=False):
            if len(set(words)) != 1:
                break
            shared.append(words[0])
    common = "-".join(shared) if len(shared) >= 2 else ""
    for f in ids:
        if not pattern.match(f.id):
            yield Finding((*f.path, "id"), f"falsifier id `{f.id}` does not match {pattern.pattern}",
                          "use upper-case words and a trailing number, e.g. FALSIFY-TOK-IMPORT-HF-004")
        elif common and not f.id.startswith(common + "-") and not custom:
            yield Finding((*f.path, "id"), f"falsifier id `{f.id}` does not share this contract's prefix `{common}-`",
                          "keep one prefix per contract so ids say which contract they belong to")


def missing_id(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    if c.id_source == "file name":
        yield Finding(("metadata",) if "metadata" in c.raw else (), "contract has no `metadata.id`; its file name is used",
                      f"add `id: {c.path.stem}` under metadata", key=True)


W, E = Severity.WARNING, Severity.ERROR
RULES = (
    Rule("PV-ID-001", "duplicate falsifier id in a contract", E,
         "Two falsifier entries of one contract (in `falsification_tests` or `falsification`) share an id; "
         "evidence and `pv run -k` cannot tell them apart.", check=dup_falsifiers),
    Rule("PV-ID-002", "duplicate proof obligation id in a contract", E,
         "Two proof obligations of one contract share an id.", check=dup_obligations),
    Rule("PV-ID-003", "duplicate kani harness id in a contract", E,
         "Two kani harnesses of one contract share an id.", check=dup_harnesses),
    Rule("PV-ID-004", "falsifier id used by two contracts", Severity.INFO,
         "A falsifier id appears in more than one contract. Ids are scoped per contract (as the Rust `pv` "
         "scopes them): plugins bind (contract id, falsifier id) and evidence is stored under both, so this "
         "is allowed and only noted; an acceptance criterion naming such an id must qualify it as "
         "`CONTRACT-ID::FALSIFIER-ID` (PV-ACCEPT-011). Reported on every occurrence after the first.",
         corpus_check=cross_falsifiers),
    Rule("PV-ID-005", "falsifier id without FALSIFY- prefix", W,
         "Falsifier ids are expected to start with `FALSIFY-`.", check=falsify_prefix),
    Rule("PV-ID-006", "falsifier id does not match the contract's id pattern", W,
         "A FALSIFY- id that is not upper-case words plus a trailing number, or whose prefix differs from "
         "the prefix the contract's other falsifiers share. Set `falsifier_id_pattern` (a regex) in "
         "[tool.pv] to impose your own pattern.", check=id_pattern),
    Rule("PV-ID-007", "two files with the same contract id", E,
         "Two files declare the same contract id (metadata.id, contract_id or contract).",
         corpus_check=cross_contract_ids),
    Rule("PV-ID-008", "contract without metadata.id", W,
         "Under --strict, a contract must name itself in `metadata.id` (the file name is only a fallback).",
         check=missing_id, strict_only=True),
)
