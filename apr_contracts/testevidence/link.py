"""Link test cases to the falsifiers they are evidence for, in a fixed order, never by guessing.

1. An explicit id the test carries (``@pytest.mark.falsifies``, the JUnit property
   ``falsifies``): ``ID`` or ``CONTRACT::ID``. A bare id two loaded contracts declare is ambiguous.
2. The falsifier's ``test:`` field (:mod:`.refs`). Every reference it makes must match at least one
   case of a report in its language; one that matches none is reported, and the falsifier gets an
   ERROR result naming it, so a mistyped reference can never leave an older HELD standing.
3. The reference corpus's naming convention: a test function named after the id,
   ``falsify_apr_pretrain_arch_009_...`` for ``FALSIFY-APR-PRETRAIN-ARCH-009``, for falsifiers
   whose ``test:`` names no readable test, among the cases no ``test:`` or explicit id claimed.
   A case that fits two falsifiers (the same id in two contracts, or ``X-001`` and ``X-001-B``)
   is reported as ambiguous and links to neither.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from apr_contracts.testevidence.cases import TestCase
from apr_contracts.testevidence.refs import TestRef, references

Key = tuple[str, str]  # (contract id, falsifier id)


@dataclass
class Link:
    contract: Any  # apr_contracts.loader.LoadedContract
    entry: Any  # apr_contracts.loader.FalsifierEntry
    how: str  # "explicit", "test", "convention"
    cases: list[TestCase] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # test: references that matched no case

    @property
    def key(self) -> Key:
        return (str(self.contract.id), str(self.entry.id))


@dataclass
class Linking:
    links: dict[Key, Link] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unlinked: list[TestCase] = field(default_factory=list)  # cases no falsifier claimed (informational)


def convention_name(falsifier_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", falsifier_id.lower()).strip("_")


def _function(case: TestCase) -> str:
    """The test function's name; pytest's required ``test_`` prefix is not part of the convention."""
    return case.name.split("[", 1)[0].split("::")[-1].split(".")[-1].lower().removeprefix("test_")


def link(cases: Sequence[TestCase], contracts: Sequence[Any]) -> Linking:
    out = Linking()
    entries: dict[Key, tuple[Any, Any]] = {}
    by_id: dict[str, list[Key]] = defaultdict(list)
    for contract in contracts:
        for entry in contract.falsifiers:
            key = (str(contract.id), str(entry.id))
            entries[key] = (contract, entry)
            by_id[str(entry.id)].append(key)
    claimed: set[int] = set()  # ids of cases linked explicitly or by a test: reference

    def add(key: Key, how: str, case: TestCase | None) -> Link:
        contract, entry = entries[key]
        current = out.links.setdefault(key, Link(contract, entry, how))
        if case is not None and case not in current.cases:
            current.cases.append(case)
        return current

    # 1. explicit ids
    explicit: set[Key] = set()
    for case in cases:
        for value in case.falsifies:
            contract_id, sep, fid = value.rpartition("::")
            keys = [(contract_id, fid)] if sep else by_id.get(fid, [])
            keys = [k for k in keys if k in entries]
            if not keys:
                out.problems.append(f"{case.report}: {case.label} says it falsifies {value}, which no loaded contract "
                                    "declares; check the id, or pass the contract with --contracts")
            elif len(keys) > 1:
                out.problems.append(f"{case.report}: {case.label} says it falsifies {value}, which "
                                    f"{', '.join(k[0] for k in keys)} all declare; write CONTRACT::ID "
                                    "(@pytest.mark.falsifies(ID, contract=...)) to say which")
            else:
                explicit.add(keys[0])
                add(keys[0], "explicit", case)
                claimed.add(id(case))

    languages = {case.kind for case in cases}
    reports = sorted({case.report for case in cases})

    # 2. test: references
    convention_keys: list[Key] = []
    for key, (_contract, entry) in entries.items():
        if key in explicit:
            continue
        refs = references(getattr(entry, "test", None))
        if refs is None:
            convention_keys.append(key)
            continue
        answerable = [r for r in refs if r.language in languages or "" in languages]
        if not answerable:
            continue  # these reports hold no test of that language: nothing to say either way
        matched: list[TestCase] = []
        unmatched: list[TestRef] = []
        for ref in answerable:
            hits = [c for c in cases if ref.matches(c)]
            (matched.extend(hits) if hits else unmatched.append(ref))
        if unmatched:
            texts = [r.text for r in unmatched]
            out.problems.append(f"{key[0]}: {key[1]}: its test: reference {', '.join(texts)} matches no test case "
                                f"in {', '.join(reports)}; fix the reference or run the test it names")
            link_ = add(key, "test", None)
            link_.unmatched = texts
        if unmatched or matched:
            for case in matched:
                add(key, "test", case)
                claimed.add(id(case))

    # 3. naming convention
    fits: dict[int, list[Key]] = defaultdict(list)
    names = {key: convention_name(key[1]) for key in convention_keys}
    for case in cases:
        if id(case) in claimed:
            continue
        fn = _function(case)
        for key, prefix in names.items():
            if fn == prefix or fn.startswith(prefix + "_"):
                fits[id(case)].append(key)
    for case in cases:
        keys = fits.get(id(case), [])
        if len(keys) == 1:
            add(keys[0], "convention", case)
        elif len(keys) > 1:
            out.problems.append(f"{case.report}: {case.label} is named after "
                                f"{', '.join(f'{c}::{f}' for c, f in keys)}: ambiguous, linked to none; "
                                "mark it with the id it falsifies (JUnit property falsifies=CONTRACT::ID)")
        elif id(case) not in claimed:
            out.unlinked.append(case)
    return out
