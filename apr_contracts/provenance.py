"""Where a run happened: git sha, host, and the versions of everything that could change a verdict."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Libraries whose version is recorded with every run (read from metadata, never imported).
TRACKED_DISTRIBUTIONS = (
    "apr-contracts",
    "pydantic",
    "pluggy",
    "torch",
    "tokenizers",
    "numpy",
    "gguf",
    "safetensors",
    "tiktoken",
    "transformers",
    "llama_cpp_python",
)


def git_sha(start: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = out.stdout.strip()
    if out.returncode != 0 or not sha:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(start), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return sha + ("-dirty" if dirty.stdout.strip() else "")


def host() -> str:
    return f"{platform.node()} {platform.system()} {platform.machine()} py{platform.python_version()}"


def versions() -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    for dist in TRACKED_DISTRIBUTIONS:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding pyproject.toml or .git, if any."""
    start = Path(start).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return None


def project_root(start: Path) -> Path:
    """The project holding ``start`` (see :func:`find_project_root`), else ``start``'s own folder."""
    found = find_project_root(start)
    if found is not None:
        return found
    start = Path(start).resolve()
    return start if start.is_dir() else start.parent
