"""PV-VERSION-*, PV-CHANGELOG-*, PV-DRIFT-001: versions and the changelog that explains them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]+)?$")
_LEADING = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")


def version_key(text: str) -> tuple[int, ...] | None:
    m = _LEADING.match(text)
    if not m:
        return None
    parts = [int(p) for p in m.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 1.0 == 1.0.0
        parts.pop()
    return tuple(parts)


def _declared(c: LoadedContract) -> tuple[tuple[str, ...], Any] | None:
    if "version" in c.metadata:
        return ("metadata", "version"), c.metadata["version"]
    if "version" in c.raw:
        return ("version",), c.raw["version"]
    header = c.raw.get("contract")
    if isinstance(header, dict) and "version" in header:  # `contract: {name: x, version: 1.0.0}`
        return ("contract", "version"), header["version"]
    return None


def not_a_version(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    found = _declared(c)
    if found is None:
        return
    path, value = found
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not VERSION.match(str(value)):
        yield Finding(path, f"version {value!r} is not a version number", "write it as MAJOR.MINOR.PATCH, e.g. 1.2.0")


def no_version(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    if _declared(c) is None:
        yield Finding(("metadata",) if "metadata" in c.raw else (), "contract has no version",
                      "add `version: 1.0.0` under metadata", key=True)


def versions_disagree(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    top, meta = c.raw.get("version"), c.metadata.get("version")
    if top is None or meta is None:
        return
    kt, km = version_key(str(top)), version_key(str(meta))
    if kt != km or kt is None:
        yield Finding(("version",), f"top-level version {top} differs from metadata.version {meta}",
                      "keep one version (metadata.version) or bump both together")


def _shown(entry: Any) -> str:
    text = str(entry.get("version")) if isinstance(entry, dict) else str(entry)
    m = _LEADING.match(text)
    return m.group(1) if m else text


def _changelog(c: LoadedContract) -> list[tuple[int, Any, tuple[int, ...] | None]]:
    log = c.metadata.get("changelog")
    out = []
    if isinstance(log, list):
        for i, entry in enumerate(log):
            if isinstance(entry, dict):
                v = entry.get("version")
                key = version_key(str(v)) if v is not None and not isinstance(v, bool) else None
            elif isinstance(entry, str | int | float):
                key = version_key(str(entry))
            else:
                key = None
            out.append((i, entry, key))
    return out


def changelog_newest(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    log = [(k, e) for _, e, k in _changelog(c) if k is not None]
    found = _declared(c)
    if not log or found is None:
        return
    current = version_key(str(found[1]))
    newest, entry = max(log, key=lambda pair: pair[0])
    if current is not None and newest != current:
        shown = _shown(entry)
        yield Finding(found[0], f"version is {found[1]} but the newest changelog entry is {shown}",
                      "bump the version together with the changelog entry that explains it")


def changelog_order(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    log = [(k, e) for _, e, k in _changelog(c) if k is not None]
    keys = [k for k, _ in log]
    steps = {(a > b) - (a < b) for a, b in itertools.pairwise(keys)} - {0}
    if len(steps) > 1:
        shown = ", ".join(_shown(e) for _, e in log)
        yield Finding(("metadata", "changelog"), f"changelog is neither newest-first nor oldest-first: {shown}",
                      "order the entries one way throughout (newest first is the convention)")


def changelog_unversioned(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, _entry, key in _changelog(c):
        if key is None:
            yield Finding(("metadata", "changelog", i), "changelog entry has no version",
                          "start the entry with its version: `{version: 1.2.0, date: ..., change: ...}` or '1.2.0 (date): ...'")


W = Severity.WARNING
RULES = (
    Rule("PV-VERSION-001", "version is not a version number", W,
         "`metadata.version` (or the top-level `version`) must look like 1, 1.2 or 1.2.3 (optionally -rc1/+build). "
         "Strings, integers and floats are accepted as written.", check=not_a_version),
    Rule("PV-VERSION-002", "contract without a version", W,
         "No `metadata.version` and no top-level `version`.", check=no_version),
    Rule("PV-DRIFT-001", "top-level version and metadata.version disagree", W,
         "Governance contracts repeat the version at the top level and in metadata; the two have drifted.",
         check=versions_disagree),
    Rule("PV-CHANGELOG-001", "newest changelog entry is not the current version", W,
         "The highest version in `metadata.changelog` differs from the contract's version: either the version "
         "was bumped without a changelog entry or the entry was written without a bump.", check=changelog_newest),
    Rule("PV-CHANGELOG-002", "changelog order is mixed", W,
         "Changelog entries must be newest-first or oldest-first throughout; a mixed order hides which entry is current.",
         check=changelog_order),
    Rule("PV-CHANGELOG-003", "changelog entry without a version", W,
         "A changelog entry (mapping or string) from which no version can be read.", check=changelog_unversioned),
)
