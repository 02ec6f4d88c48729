"""The state of a project's tree, so test evidence goes stale when the code it tested changes.

A plugin's result is reused or not by its fingerprint (apr_contracts.fingerprint): pv knows what
executed it. A test run outside pv (an imported JUnit file, a `test:` command) tested *the
project*, and pv cannot know which files it read, so such a result is current only while the
whole tree is as it was: the same commit and the same tracked changes (sha256 of
``git diff HEAD``, plus the names of untracked files that git does not ignore, since a new
module can change what a test imports). ``--commit SHA`` pins a result to a commit instead (a
CI artifact imported into another checkout): it is then current while HEAD is that commit.

Outside git there is nothing cheap and reliable to compare, so the state is a digest of every
file's path, size and mtime under the root (hidden folders and build outputs left out).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

PINNED = "commit:"
_SKIP_DIRS = frozenset({"__pycache__", "target", "node_modules", "build", "dist"})
_cache: dict[str, str | None] = {}


def _git(root: Path, *args: str) -> bytes | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def head(root: Path) -> str | None:
    sha = _git(root, "rev-parse", "HEAD")
    return sha.decode().strip() if sha else None


def _walk_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _is_output(name: str) -> bool:
    parts = name.split("/")
    return (name.endswith((".pyc", ".xml", ".json", ".sqlite", ".jsonl"))
            or any(p in _SKIP_DIRS or p.startswith(".") for p in parts[:-1]) or parts[-1].startswith("."))


def state(root: Path) -> str:
    """The tree state of ``root`` now: ``git:<HEAD>:<digest of changes>``, or ``files:<digest>``."""
    sha = head(root)
    if sha is None:
        return "files:" + _walk_digest(root)
    diff = _git(root, "diff", "HEAD", "--binary") or b""
    listed = (_git(root, "ls-files", "--others", "--exclude-standard", "-z") or b"").split(b"\0")
    # Outputs of running the tests themselves (bytecode, caches, cargo's target/) are not edits.
    untracked = b"\0".join(sorted(n for n in listed if n and not _is_output(n.decode(errors="replace"))))
    changes = hashlib.sha256(diff + b"\0untracked\0" + untracked).hexdigest()
    return f"git:{sha}:{changes}"


def pinned(commit: str) -> str:
    return PINNED + commit


def reset_cache() -> None:
    """Forget computed states: called when a scoreboard starts, so edits since are seen."""
    _cache.clear()


def _current_state(root: str) -> str | None:
    if root not in _cache:
        _cache[root] = state(Path(root)) if Path(root).is_dir() else None
    return _cache[root]


def is_current(tree_state: str | None, tree_root: str | None) -> bool:
    """Whether a result produced on ``tree_state`` of ``tree_root`` still describes the tree."""
    if tree_state is None:
        return True  # not bound to a tree
    if not tree_root:
        return False
    if tree_state.startswith(PINNED):
        sha = tree_state[len(PINNED):]
        now = _current_state(tree_root)
        current_head = now.split(":")[1] if now and now.startswith("git:") else None
        return current_head is not None and (current_head == sha or current_head.startswith(sha))
    return _current_state(tree_root) == tree_state


def why_stale(tree_state: str | None) -> str:
    if tree_state and tree_state.startswith(PINNED):
        return f"produced on commit {tree_state[len(PINNED):][:12]}, and HEAD is another commit"
    return "the project's tree changed since the tests ran (commit or tracked files); rerun them"
