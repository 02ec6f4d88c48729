"""PV-REF-*: references inside a contract and between contracts that resolve to nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apr_contracts.rules._util import entries, norm, text_id
from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

# applies_to words that name a hardware path or everything, not an equation
_APPLIES_WORDS = frozenset({"all", "any", "*", "simd", "cuda", "gpu", "cpu", "scalar", "avx2", "avx512", "neon", "ptx", "wgpu"})


def kani_obligation(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    targets: set[str] = set(map(norm, c.equations))
    for _, ob in entries(c, "proof_obligations"):
        for key in ("id", "property"):
            if ob.get(key) is not None:
                targets.add(norm(ob[key]))
    for i, h in entries(c, "kani_harnesses"):
        ref = h.get("obligation")
        if ref is None:
            continue
        want = norm(ref)
        # harnesses often quote an obligation's property with extra words after a dash
        if want in targets or any(t and (want.startswith(t + " ") or t.startswith(want + " ")) for t in targets):
            continue
        yield Finding(("kani_harnesses", i, "obligation"),
                      f"kani harness {h.get('id', i)} names obligation {ref!r}, which is no proof obligation id, property or equation here",
                      "point `obligation` at a proof_obligations id (give the obligation an id if it has none)")


def applies_to(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    if not c.equations:
        return
    names = set(c.equations)
    for i, ob in entries(c, "proof_obligations"):
        value = ob.get("applies_to")
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and name.strip() and name.strip().lower() not in _APPLIES_WORDS and name.strip() not in names:
                yield Finding(("proof_obligations", i, "applies_to"), f"applies_to {name!r} is not an equation of this contract",
                              "use an equation name, `all`, or a dispatch path (simd, cuda)")


def falsifier_invariant(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    inv = c.raw.get("invariants")
    if not isinstance(inv, list):
        return
    known = {text_id(e.get("id")) for e in inv if isinstance(e, dict)}
    for i, entry in entries(c, "falsification_tests"):
        ref = entry.get("invariant")
        for name in ref if isinstance(ref, list) else [ref]:
            if isinstance(name, str) and name.strip() and name.strip() not in known:
                yield Finding(("falsification_tests", i, "invariant"), f"falsifier names invariant {name!r}, which is not in `invariants`",
                              "fix the invariant id or add the invariant")


def _refs(c: LoadedContract) -> Iterator[tuple[tuple[str | int, ...], str]]:
    meta = c.metadata
    for key in ("depends_on", "parent_contracts", "peer_contracts"):
        value = meta.get(key)
        for i, ref in enumerate(value if isinstance(value, list) else [value] if value is not None else []):
            if isinstance(ref, str) and ref.strip():
                yield ("metadata", key, i) if isinstance(value, list) else ("metadata", key), ref.strip()
    for i, ob in entries(c, "proof_obligations"):
        if isinstance(ob.get("parent_contract"), str):
            yield ("proof_obligations", i, "parent_contract"), ob["parent_contract"].strip()


def _exists_near(c: LoadedContract, ref: str, cache: dict[str, Any]) -> bool:
    """A reference may name a file relative to the contract or to any folder above it."""
    names = [ref] if ref.endswith((".yaml", ".yml")) else [ref + ".yaml", ref + ".yml"]
    # `contracts/x.yaml` is usually written relative to the repository root; the referring
    # contract often sits in that same folder, so its own folder is also tried by file name
    names += [Path(n).name for n in names if "/" in n]
    key_folder = "dir:" + str(c.path.parent)
    if key_folder not in cache:
        folder = c.path.resolve().parent
        cache[key_folder] = [folder, *list(folder.parents)[:6]]
    for base in cache[key_folder]:
        for name in names:
            key = str(base / name)
            if key not in cache:
                cache[key] = os.path.isfile(key)
            if cache[key]:
                return True
    return False


def contract_refs(contracts: Sequence[LoadedContract], ctx: CheckContext) -> Iterator[tuple[LoadedContract, Finding]]:
    known = {c.id for c in contracts} | {c.path.stem for c in contracts}
    cache = ctx.cache.setdefault("ref-files", {})
    for c in contracts:
        for path, ref in _refs(c):
            stem = Path(ref).stem if ref.endswith((".yaml", ".yml")) else ref
            if ref in known or stem in known or _exists_near(c, ref, cache):
                continue
            yield c, Finding(path, f"contract reference {ref!r} resolves to no loaded contract and no file",
                             "fix the name, or validate the referenced contract together with this one")


W = Severity.WARNING
RULES = (
    Rule("PV-REF-001", "kani harness obligation resolves to nothing", W,
         "A `kani_harnesses[].obligation` that is neither a proof obligation id, nor an obligation's property "
         "text, nor an equation name of the same contract.", check=kani_obligation),
    Rule("PV-REF-002", "contract reference resolves to nothing", W,
         "A `metadata.depends_on`/`parent_contracts`/`peer_contracts` entry (or an obligation's "
         "`parent_contract`) that names no contract id or file stem among the loaded contracts, and no file "
         "relative to the contract's folder or one of its parents.", corpus_check=contract_refs),
    Rule("PV-REF-003", "applies_to names no equation", W,
         "A proof obligation's `applies_to` is not an equation of the contract (nor all/simd/cuda/...).",
         check=applies_to),
    Rule("PV-REF-004", "falsifier names an unknown invariant", W,
         "A falsifier's `invariant:` is not the id of an entry in the contract's `invariants` list.",
         check=falsifier_invariant),
)
