"""What executes a falsifier, as a fingerprint: evidence is reused only while it is unchanged.

A result may stand in for a new execution when the falsifier's claim hash (see ``claims``)
and everything that executed it are the same. "Everything" is gathered in two parts:

* **before the run**, statically (:func:`static_fingerprint`): the source of every module in
  the import closure of the falsifier's module, of the engines selected for it and of the
  framework code that executes and judges it (``ast``-parsed, function-level imports
  included, nothing imported); the versions of the third-party distributions that closure
  imports; whether each declared optional dependency is installed and at which version; the
  engine names, the contract's ``params``, the seed, Python and the machine type.
* **during the run**, dynamically (:func:`read_trace`): falsifiers reach engines through the
  ``apr`` / ``pv`` commands in subprocesses, whose imports no static walk from the falsifier
  sees. Those commands call :func:`install_module_trace`; with ``PV_MODULE_TRACE`` set (the
  worker sets it per job) they write, at exit, the files of every module they loaded. The
  worker hashes the first-party ones and records the distribution versions of the rest.

Reuse (:func:`still_current`) then needs the static fingerprint equal and every traced file
and distribution unchanged. Changing one engine module reruns the falsifiers whose closure or
trace holds it, and no others. Data files a falsifier reads are not tracked (documented).
"""

from __future__ import annotations

import ast
import atexit
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from apr_contracts.hashing import sha256_file, sha256_text

FINGERPRINT_SCHEME = "apr-fingerprint-v1"
TRACE_ENV = "PV_MODULE_TRACE"
TRACE_OWNER_ENV = "PV_MODULE_TRACE_OWNER"  # the worker's pid: it traces its subprocesses, not itself
# The framework modules that execute a falsifier and judge its verdict: a change there may
# change any verdict, so every fingerprint covers their closure.
FRAMEWORK_MODULES = ("apr_contracts.execute", "apr_contracts.worker")

_STDLIB = frozenset(sys.stdlib_module_names)


@functools.cache
def _site_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(sorted({str(Path(paths[key]).resolve()) for key in ("purelib", "platlib")}))


@functools.cache
def _stdlib_dir() -> str:
    return str(Path(sysconfig.get_paths()["stdlib"]).resolve())


# --- the static part ------------------------------------------------------------------------------


@functools.cache
def _package_dir(top: str) -> Path | None:
    """Where the top-level package or module ``top`` lives (located, not imported)."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return None
    return Path(spec.origin).parent


def module_file(name: str) -> Path | None:
    """The source file of a dotted module name, found by path under its top-level package."""
    top, *rest = name.split(".")
    base = _package_dir(top)
    if base is None:
        return None
    if not rest:
        for candidate in (base / "__init__.py", base / f"{top}.py"):
            if candidate.is_file():
                return candidate
        return None
    folder = base.joinpath(*rest[:-1])
    for candidate in (folder / f"{rest[-1]}.py", folder / rest[-1] / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _imports(path: Path, mtime_ns: int) -> tuple[str, ...]:
    """Every module name ``path`` imports, at any depth (lazy imports inside functions too)."""
    del mtime_ns  # part of the cache key only
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = path.parent.name if path.name == "__init__.py" else None
    names: list[str] = []
    own = _dotted_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = own.split(".")
                anchor = parts if package else parts[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)  # may be submodules
    return tuple(n for n in names if n)


def _dotted_name(path: Path) -> str:
    """Best-effort dotted name of a source file from the packages above it (``__init__.py`` chain)."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


@functools.cache
def is_first_party(top: str) -> bool:
    """Source we hash: a package that lives outside site-packages and the standard library
    (a checkout, an editable install). Installed distributions are tracked by version instead."""
    if top in _STDLIB:
        return False
    folder = _package_dir(top)
    return folder is not None and not _is_under(str(folder.resolve()), (*_site_dirs(), _stdlib_dir()))


def import_closure(roots: Iterable[str]) -> tuple[dict[str, Path], set[str]]:
    """The first-party modules reachable from ``roots`` (name -> file) and the third-party top-level
    names they import. The roots' own packages count as first-party wherever they are installed."""
    own = {r.split(".")[0] for r in roots}
    found: dict[str, Path] = {}
    third_party: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        top = name.split(".")[0]
        if top not in own and not is_first_party(top):
            if top not in _STDLIB and not top.startswith("_"):
                third_party.add(top)
            continue
        if name in found:
            continue
        path = module_file(name)
        if path is None:
            continue  # `from pkg import function`: the name is not a module
        found[name] = path
        # Importing a.b.c runs a/__init__ and a/b/__init__ too.
        parents = name.split(".")
        todo.extend(".".join(parents[:i]) for i in range(1, len(parents)))
        todo.extend(_imports(path, path.stat().st_mtime_ns))
    return found, third_party


@functools.cache
def _top_level_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed distribution: once


def _distributions_of(top: str) -> tuple[str, ...]:
    return tuple(sorted(set(_top_level_distributions().get(top, ()))))


def distribution_versions(tops: Iterable[str]) -> dict[str, str]:
    """``{distribution: version}`` for the third-party top-level names (unknown ones are skipped)."""
    versions: dict[str, str] = {}
    for top in tops:
        for dist in _distributions_of(top):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def file_sha256(path: Path | str) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return "missing"


def _requirement_state(module: str) -> str:
    """'missing', or the installed version of what provides ``module`` (presence alone if unknown)."""
    if _package_dir(module) is None:
        return "missing"
    return ",".join(f"{d}=={v}" for d, v in sorted(distribution_versions([module]).items())) or "present"


def static_fingerprint(
    *,
    falsifier_module: str,
    engines: Mapping[str, tuple[str, str]],
    requirements: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[str, dict[str, Any]]:
    """``(hash, parts)`` of what a falsifier will execute. ``engines``: kind -> (name, module)."""
    roots = [falsifier_module, *(module for _, module in engines.values()), *FRAMEWORK_MODULES]
    modules, third_party = import_closure(roots)
    parts: dict[str, Any] = {
        "scheme": FINGERPRINT_SCHEME,
        "sources": {name: file_sha256(path) for name, path in sorted(modules.items())},
        "distributions": distribution_versions(third_party),
        "requirements": {module: _requirement_state(module) for module in sorted(requirements)},
        "engines": {kind: f"{name}@{module}" for kind, (name, module) in sorted(engines.items())},
        "params": dict(params or {}),
        "seed": seed,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    encoded = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=repr)
    return sha256_text(encoded), parts


def clear_caches() -> None:
    """Forget located packages and parsed imports (a long-lived process whose sys.path changed)."""
    for cached in (_package_dir, is_first_party, _imports, _top_level_distributions):
        cached.cache_clear()


# --- the dynamic part -----------------------------------------------------------------------------


def install_module_trace() -> None:
    """In a command's ``main``: when ``PV_MODULE_TRACE`` names a folder, record at exit the files
    of every module this process loaded (a falsifier's subprocess reports what it executed)."""
    folder = os.environ.get(TRACE_ENV)
    if not folder or os.environ.get(TRACE_OWNER_ENV) == str(os.getpid()):
        return  # not under `pv run`, or a command called in-process by the worker itself

    def write() -> None:
        files = sorted({str(f) for m in list(sys.modules.values()) if (f := getattr(m, "__file__", None))})
        target = Path(folder) / f"{os.getpid()}.txt"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(files), encoding="utf-8")
        except OSError:
            pass  # a missing trace only costs reuse: the result then records no dynamic inputs

    atexit.register(write)


def _is_under(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f + os.sep) for f in folders)


def read_trace(folder: Path) -> dict[str, Any]:
    """``{"files": {path: sha256}, "distributions": {name: version}}`` of the traced subprocesses:
    first-party files are hashed, site-packages modules are recorded by distribution version."""
    files: dict[str, str] = {}
    tops: set[str] = set()
    for trace in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        for line in trace.read_text(encoding="utf-8").splitlines():
            path = str(Path(line).resolve())
            site = next((d for d in _site_dirs() if _is_under(path, [d])), None)
            if site is not None:
                tops.add(Path(path).relative_to(site).parts[0].removesuffix(".py").split(".")[0])
            elif not _is_under(path, [_stdlib_dir()]) and path.endswith(".py"):
                files[path] = file_sha256(path)
    return {"files": files, "distributions": distribution_versions(tops)}


def still_current(inputs: Mapping[str, Any]) -> bool:
    """Whether every traced file and distribution is as it was when the result was recorded."""
    for path, sha in (inputs.get("files") or {}).items():
        if file_sha256(path) != sha:
            return False
    recorded = inputs.get("distributions") or {}
    current = _installed_versions(tuple(sorted(recorded)))
    return all(current.get(name) == version for name, version in recorded.items())


def _installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
