"""The project a `pv` command works in, resolved once per command.

* Root: the nearest ancestor of the current directory holding a pyproject.toml with a
  ``[tool.pv]`` table; else the nearest pyproject.toml or .git; else the current directory.
* Settings: that ``[tool.pv]`` table, parsed by :mod:`apr_contracts.config` (defaults without one).
* Evidence database: ``--evidence`` > ``$PV_EVIDENCE`` > ``[tool.pv] evidence`` (relative to
  the root) > ``<root>/.pv/evidence.sqlite``.

Paths given on the command line win over ``[tool.pv] paths`` and may lie outside the project:
their evidence still goes to this project's database and its plugins still load (``pv run
../shared/reference-contracts/aprender`` from a checkout records into the checkout's database),
because what is under test is the code of the project you stand in.

`pv validate` differs in one way: its *rule settings* (strict, select, ignore, ...) belong to the
contracts, so they come from the project holding the first PATH given (``Project.discover(start=
PATH)``), not from the current directory; validating another project's folder therefore does not
inherit this project's ``strict = true``. Without PATHs both are the current project.

Nothing here imports more than the standard library and apr_contracts.config (pre-commit runs it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.config import ConfigError, ValidateConfig, find_config, load_config
from apr_contracts.provenance import find_project_root

EVIDENCE_ENV = "PV_EVIDENCE"
DEFAULT_EVIDENCE = Path(".pv") / "evidence.sqlite"
_CACHE_ATTR = "_pv_project"  # where for_command keeps the resolved Project on the parsed arguments


@dataclass(frozen=True)
class Project:
    root: Path
    config: ValidateConfig
    evidence: Path
    evidence_from: str  # "--evidence", "PV_EVIDENCE", "[tool.pv] evidence" or "default"

    @classmethod
    def discover(cls, start: str | Path | None = None, *, evidence: str | Path | None = None,
                 config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Project:
        """The project holding ``start`` (default: the current directory). ConfigError when its
        [tool.pv] table (or ``config_file``) is unusable."""
        environ = os.environ if environ is None else environ
        here = Path(start if start is not None else Path.cwd()).resolve()
        folder = here if here.is_dir() else here.parent
        if config_file is not None:
            config = load_config(config_file)
            root = Path(config_file).resolve().parent
        else:
            found = find_config(folder)
            config = load_config(found) if found is not None else ValidateConfig()
            root = found.parent if found is not None else (find_project_root(folder) or folder)
        if evidence is not None:
            db, origin = Path(evidence), "--evidence"
        elif environ.get(EVIDENCE_ENV):
            db, origin = Path(environ[EVIDENCE_ENV]), EVIDENCE_ENV
        elif config.evidence:
            db, origin = root / config.evidence, "[tool.pv] evidence"
        else:
            db, origin = root / DEFAULT_EVIDENCE, "default"
        return cls(root=root, config=config, evidence=db, evidence_from=origin)

    @classmethod
    def for_command(cls, args: Any) -> Project:
        """The Project of the current directory for this command, resolved on first use and kept on
        ``args``; its unknown-key warnings go to stderr once. A broken table is a usage error."""
        cached = getattr(args, _CACHE_ATTR, None)
        if isinstance(cached, cls):
            return cached
        from apr_contracts.cli import UsageError

        try:
            project = cls.discover(evidence=getattr(args, "evidence", None))
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        project.warn(f"pv {getattr(args, 'command', None) or ''}".strip())
        setattr(args, _CACHE_ATTR, project)
        return project

    def warn(self, prog: str) -> None:
        for warning in self.config.warnings:
            print(f"{prog}: warning: {warning}", file=sys.stderr)

    @property
    def config_file(self) -> Path | None:
        return Path(self.config.source) if self.config.source else None

    @property
    def evidence_explicit(self) -> bool:
        """Named by the user for this command (a missing file is then an error, not "no runs yet")."""
        return self.evidence_from in ("--evidence", EVIDENCE_ENV)

    def paths(self) -> list[Path]:
        """``[tool.pv] paths``, relative to the root (whether they exist or not)."""
        return [self.root / p for p in self.config.paths]

    def default_paths(self, *folders: str) -> list[Path]:
        """``[tool.pv] paths`` when set, else those of ``folders`` that exist under the root."""
        if self.config.paths:
            return self.paths()
        return [self.root / name for name in folders if (self.root / name).exists()]

    def paths_hint(self, hint: str) -> str:
        """``hint`` for a missing input path, plus where the default paths come from."""
        if self.config.paths:
            return f"{hint}; with no PATH, [tool.pv] paths in {self.config_file} applies: fix it there"
        return f"{hint}, or set [tool.pv] paths in {self.root / 'pyproject.toml'}"

    def exclude(self, given: Sequence[str] = ()) -> list[str]:
        """``[tool.pv] exclude`` plus the patterns given with ``--exclude``."""
        return [*self.config.exclude, *given]

    def plugin_overrides(self) -> dict[str, Any]:
        """The PluginSettings fields this project sets: its own plugin modules, the built-in switch."""
        return {"project_modules": self.config.plugins, "builtins": self.config.builtins}
