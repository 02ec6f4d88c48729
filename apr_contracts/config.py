"""`[tool.pv]` in pyproject.toml: pv's settings for a repository, parsed here and nowhere else.

Every command resolves the table once through :class:`apr_contracts.project.Project` (the
project of the current directory: its root, paths, evidence database and plugins). ``pv
validate`` alone reads it from the project holding the first PATH given (not from the current
directory, so validating another project's folder does not inherit this project's ``strict =
true``), or from ``--config FILE``. Command-line options override it.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from apr_contracts.provenance import find_project_root
from apr_contracts.schema.yamlsrc import DEFAULT_MAX_FILE_BYTES


class ConfigError(Exception):
    """The configuration is unusable (a usage error, exit 2)."""


@dataclass(frozen=True)
class ValidateConfig:
    strict: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    check_test_nodes: bool = False
    falsifier_id_pattern: str | None = None
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # patterns of files/folders to skip inside searched folders
    # Keys for the commands that run and report (read through apr_contracts.project.Project).
    evidence: str | None = None  # the evidence database, relative to the project root
    plugins: tuple[str, ...] = ()  # modules loaded as plugins, as `-p module.path`
    builtins: bool = True  # false: the built-in falsifier families are not loaded (engines are)
    # true: `pv run` runs the `test:` command of unbound falsifiers of contracts inside the root
    allow_test_commands: bool = False
    source: str | None = field(default=None, compare=False)  # the file the settings came from
    # Unknown keys, one message each: reported as warnings by the command, never fatal, so a
    # table written for a newer pv still works with this one.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def override(self, **changes: Any) -> ValidateConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_TYPES: dict[str, type | tuple[type, ...]] = {
    "strict": bool, "select": list, "ignore": list, "max_file_bytes": int, "check_test_nodes": bool,
    "falsifier_id_pattern": str, "paths": list, "exclude": list, "evidence": str, "plugins": list,
    "builtins": bool, "allow_test_commands": bool,
}


def _table(pyproject: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc
    table = data.get("tool", {}).get("pv")
    return table if isinstance(table, dict) else None


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.pv] table, from ``start`` upwards."""
    here = start.resolve()
    for folder in [here, *here.parents] if here.is_dir() else list(here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                if _table(candidate) is not None:
                    return candidate
            except ConfigError:
                continue
    return None


@functools.lru_cache(maxsize=256)
def _root_of(folder: str) -> str | None:
    found = find_config(Path(folder))
    return str(found.parent) if found is not None else None


@functools.lru_cache(maxsize=256)
def _root_of_plain(folder: str) -> str | None:
    found = _root_of(folder) or find_project_root(Path(folder))
    return str(found) if found is not None else None


def project_root(contract: Path) -> str | None:
    """The root of the project holding ``contract``: the folder of the nearest pyproject.toml with
    a [tool.pv] table above it, else of the nearest pyproject.toml or .git (the rule of
    :class:`apr_contracts.project.Project`); None when there is none (then test nodes are not
    checked: nothing says where tests live). Cached."""
    return _root_of_plain(str(contract.resolve().parent))


def load_config(config_file: str | Path | None = None, start: str | Path | None = None) -> ValidateConfig:
    """Settings from ``config_file`` (a pyproject.toml, or a TOML file with a top-level [tool.pv] or
    plain keys), else from the nearest pyproject.toml above ``start``; defaults when none."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        table = _table(path)
        if table is None:  # a dedicated pv.toml with the keys at top level
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    else:
        found = find_config(Path(start or "."))
        if found is None:
            return ValidateConfig()
        path, table = found, _table(found)
    return from_table(table or {}, str(path))


def from_table(table: dict[str, Any], source: str) -> ValidateConfig:
    known = {f.name for f in fields(ValidateConfig)} - {"source", "warnings"}
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            guess = f"did you mean {near[0]}? " if near else ""
            unknown.append(f"{source}: [tool.pv] {key}: unknown key, ignored; {guess}"
                           f"known keys: {', '.join(sorted(known))}; fix its spelling or remove it")
            continue
        expected = _TYPES[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{source}: [tool.pv] {key} must be a {getattr(expected, '__name__', expected)}, got {value!r}")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: [tool.pv] {key} must be a list of strings")
            value = tuple(value)
        values[name] = value
    if values.get("max_file_bytes", 1) <= 0:
        raise ConfigError(f"{source}: [tool.pv] max_file_bytes must be positive")
    if not values.get("evidence", "x").strip():
        raise ConfigError(f"{source}: [tool.pv] evidence must name a file (relative to the project root), got ''")
    return ValidateConfig(source=source, warnings=tuple(unknown), **values)
