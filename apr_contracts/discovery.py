"""Which files under the given paths are contracts: folders walked, exclusions and snapshots skipped.

Kept apart from reading (:mod:`apr_contracts.loader`): `pv validate`, `run`, `scoreboard` and
`ship` all decide *which* files to read here, the same way, before any YAML is parsed.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from pathlib import Path

from apr_contracts.rules.base import Issue, Severity
from apr_contracts.rules.loading import LOADER_RULES

CONTRACT_SUFFIXES = (".yaml", ".yml")
_SEVERITY = {rule.code: rule.severity for rule in LOADER_RULES}


def excluded(relative: str, patterns: Sequence[str]) -> bool:
    """Whether a path inside a searched folder matches an ``--exclude`` pattern, as .gitignore reads
    them: a pattern without ``/`` matches any file or folder name (``versions``, ``*-draft.yaml``);
    one with ``/`` matches the path relative to the folder (``aprender/versions/*``)."""
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.strip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern) or any(
                    fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts))):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


# `name@<git revision>.yaml`: a snapshot of `name.yaml` kept for history (e.g. a versions/ folder).
REVISION_SNAPSHOT = re.compile(r"^(?P<stem>.+)@(?P<rev>[0-9a-fA-F]{7,40})$")


def archived_revisions(files: Sequence[Path]) -> dict[Path, Path]:
    """Files found in folders that are snapshots of another file found there: ``x@<rev>.yaml`` next
    to (anywhere in the same search as) ``x.yaml``. They repeat the live contract's falsifier ids, so
    reading both would only report duplicates; a snapshot named explicitly is always read."""
    by_name = {f.name: f for f in files if not REVISION_SNAPSHOT.match(f.stem)}
    snapshots = {}
    for f in files:
        m = REVISION_SNAPSHOT.match(f.stem)
        live = by_name.get(m["stem"] + f.suffix) if m else None
        if live is not None:
            snapshots[f] = live
    return snapshots


def discover(paths: Sequence[str | Path], exclude: Sequence[str] = (),
             skipped: list[tuple[Path, str]] | None = None) -> tuple[list[Path], list[Issue]]:
    """Contract files under ``paths``: files as given, folders recursively (``*.yaml``/``*.yml``),
    skipping hidden folders and files (``.pv/``, ``.git/``), what ``exclude`` matches (see
    :func:`excluded`) and archived revisions (see :func:`archived_revisions`; each is appended to
    ``skipped`` with its reason). Files named explicitly are never skipped. Sorted, no duplicates."""
    found: list[Path] = []
    issues: list[Issue] = []
    seen: set[str] = set()
    walked: list[Path] = []

    def add(p: Path) -> None:
        key = os.path.abspath(p)  # realpath() costs an lstat per component; symlinked twins are rare
        if key not in seen:
            seen.add(key)
            found.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                here = Path(dirpath).relative_to(p).as_posix()
                inside = "" if here == "." else here + "/"
                dirnames[:] = sorted(d for d in dirnames
                                     if not d.startswith(".") and not excluded(inside + d, exclude))
                for name in sorted(filenames):
                    if (name.endswith(CONTRACT_SUFFIXES) and not name.startswith(".")
                            and not excluded(inside + name, exclude)):
                        add(Path(dirpath) / name)
                        walked.append(Path(dirpath) / name)
        elif p.exists():
            add(p)
        else:
            issues.append(Issue("PV-YAML-006", _SEVERITY.get("PV-YAML-006", Severity.ERROR), str(p), 0, 0,
                                "path does not exist", "check the path"))
    snapshots = archived_revisions(walked)
    explicit = {os.path.abspath(raw) for raw in paths if Path(raw).is_file()}
    snapshots = {f: live for f, live in snapshots.items() if os.path.abspath(f) not in explicit}
    for f, live in snapshots.items():
        if skipped is not None:
            skipped.append((f, f"archived revision of {live.name} (name@revision); name the file to read it"))
    return [f for f in found if f not in snapshots], issues
