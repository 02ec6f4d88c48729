"""Claim hashes: the key under which evidence for one falsifier is stored.

Evidence must go stale when a falsifier's *claim* changes, and only then. So the
hash covers the falsifier's normalized entry (id, rule, prediction, level,
thresholds) and the equations it refers to, never the whole file: editing
``metadata.status``, the changelog, ``verification_summary`` or a falsifier's own
``status``/``notes`` keeps the evidence valid, while rewording a prediction,
moving a threshold or changing a referenced equation makes it stale.

Strings are whitespace-normalized (runs of blanks and newlines collapse to one
space) so re-flowing YAML (folded vs literal block, re-wrapping) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from apr_contracts.outcomes import Level

# Bump when the normalization below changes: every stored hash becomes stale at once,
# which is the honest outcome (old evidence was keyed differently).
CLAIM_HASH_SCHEME = "apr-claim-v1"

# Fields of a falsifier entry that name equations explicitly.
_EQUATION_REF_FIELDS = ("equation", "equations", "applies_to")

# Fields whose text is narrative or self-declared state, not part of the claim: an
# equation named only there is not something the claim depends on.
_NARRATIVE_FIELDS = frozenset({"status", "notes", "changelog", "discharge_notes", "verdict"})

_WS = re.compile(r"\s+")


class FalsifierEntryLike(Protocol):
    # Read-only properties, so the loader's dataclasses (and test stand-ins) conform.
    @property
    def id(self) -> str: ...
    @property
    def rule(self) -> str | None: ...
    @property
    def prediction(self) -> str | None: ...
    @property
    def level(self) -> Level | str | None: ...
    @property
    def thresholds(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def raw(self) -> Mapping[str, Any]: ...


class ContractLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def equations(self) -> Mapping[str, Any]: ...


def normalize_text(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


def _normalize(value: Any) -> Any:
    """A JSON-stable form: normalized strings, ints and floats unified, mappings sorted by json.dumps."""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        # 4 and 4.0 are the same threshold; YAML may produce either.
        as_float = float(value)
        return int(as_float) if as_float.is_integer() else as_float
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return normalize_text(str(value))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if str(key) not in _NARRATIVE_FIELDS:
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def referenced_equations(contract: ContractLike, entry: FalsifierEntryLike) -> list[str]:
    """Names of ``contract.equations`` the entry refers to, sorted.

    An equation counts when an explicit ``equation``/``equations``/``applies_to``
    field names it, or when its name appears as a whole word in one of the
    entry's claim strings (narrative fields such as ``notes`` and ``status`` excluded).
    """
    names = [str(n) for n in (contract.equations or {})]
    if not names:
        return []
    raw: Mapping[str, Any] = entry.raw or {}
    found: set[str] = set()
    for field_name in _EQUATION_REF_FIELDS:
        explicit = raw.get(field_name)
        listed = explicit if isinstance(explicit, list) else [explicit]
        found.update(str(item).strip() for item in listed if str(item).strip() in names)
    texts = [*_strings(raw), entry.rule or "", entry.prediction or ""]
    for name in names:
        if name in found:
            continue
        # Whole-word match: `loss` must not match inside `val_loss`.
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
        if any(pattern.search(text) for text in texts):
            found.add(name)
    return sorted(found)


def claim_payload(contract: ContractLike, entry: FalsifierEntryLike) -> dict[str, Any]:
    """The normalized data the claim hash is computed from (useful for `pv status` and debugging)."""
    level = entry.level.value if isinstance(entry.level, Level) else Level.parse(entry.level).value
    thresholds = [
        {"metric": _normalize(t.get("metric")), "op": _normalize(t.get("op")), "value": _normalize(t.get("value"))}
        for t in (entry.thresholds or [])
    ]
    equations = {
        name: _normalize({k: v for k, v in (contract.equations[name] or {}).items() if k not in _NARRATIVE_FIELDS})
        if isinstance(contract.equations[name], Mapping)
        else _normalize(contract.equations[name])
        for name in referenced_equations(contract, entry)
    }
    return {
        "scheme": CLAIM_HASH_SCHEME,
        "id": normalize_text(entry.id),
        "rule": _normalize(entry.rule or ""),
        "prediction": _normalize(entry.prediction or ""),
        "level": level,
        "thresholds": thresholds,
        "equations": equations,
    }


def claim_hash(contract: ContractLike, entry: FalsifierEntryLike) -> str:
    """sha256 hex digest of :func:`claim_payload` in canonical JSON."""
    canonical = json.dumps(claim_payload(contract, entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
