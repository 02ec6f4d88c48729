"""`pv validate PATH...`: check contracts and report every issue at once.

Exit codes: 0 no errors, 1 errors found, 2 usage error, 3 internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from apr_contracts.cli import UsageError, missing_input
from apr_contracts.commands import add_exclude_option, int_at_least


def _codes(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate", help="check contract files and folders (pre-commit / CI)",
        description="Validate contracts (files, or folders searched recursively for *.yaml/*.yml). "
        "Reports every issue with a stable code; `pv explain CODE` says what each means.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="contract files or folders (default: [tool.pv] paths)")
    p.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                   help="warnings become errors; this project's own conventions apply (default from [tool.pv])")
    p.add_argument("--format", choices=("text", "json", "github"), default="text", help="output format")
    p.add_argument("--select", action="append", metavar="CODES", help="only these codes or prefixes (comma-separated)")
    p.add_argument("--ignore", action="append", metavar="CODES", help="drop these codes or prefixes (comma-separated)")
    p.add_argument("--config", metavar="FILE", help="pyproject.toml (or TOML) with [tool.pv]; default: nearest above PATH")
    p.add_argument("--max-file-bytes", type=int_at_least(1), metavar="N", help="refuse larger files (default 10 MB)")
    p.add_argument("--check-test-nodes", action="store_true", default=None,
                   help="check that pytest nodes named in `test:` exist (implied by --strict)")
    p.add_argument("--no-context", action="store_true",
                   help="compare PATHs only with each other, not with the other contracts of [tool.pv] paths")
    p.add_argument("--no-plugins", action="store_true", help="only the built-in rules")
    add_exclude_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from apr_contracts.config import ConfigError
    from apr_contracts.plugins import PluginSettings
    from apr_contracts.project import Project
    from apr_contracts.report.validate_output import render_github, render_json, render_text
    from apr_contracts.validate import build_registry, unknown_selectors, validate_paths

    paths = list(args.paths)
    # The rule settings belong to the contracts: the project holding the first PATH (the current
    # project when none is given), so another project's folder keeps its own `strict` (project.py).
    try:
        owner = Project.discover(paths[0] if paths else None, config_file=args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    owner.warn("pv validate")
    config, base = owner.config, owner.root
    project = [str(p) for p in owner.paths() if p.exists()]
    # Given PATHs (pre-commit passes the changed files) are checked against the project's other
    # contracts too, so a duplicate id in an unchanged file is still found; only PATHs are reported.
    given = [Path(p).resolve() for p in paths]
    context = [] if not paths or args.no_context else [
        p for p in project if not any(Path(p).resolve().is_relative_to(g) for g in given)]  # not loaded twice
    paths = paths or [str(p) for p in owner.paths()]
    if not paths:
        raise UsageError(f"no PATH given and no `paths` in [tool.pv] (project root {base}): pass contract files or "
                         f"folders, or set [tool.pv] paths in {owner.config_file or base / 'pyproject.toml'}")
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(missing_input(missing, owner.paths_hint("pass contract files or folders of them")))
    if args.max_file_bytes is not None and args.max_file_bytes <= 0:
        raise UsageError("--max-file-bytes must be positive")
    config = config.override(
        strict=args.strict, select=_codes(args.select), ignore=_codes(args.ignore),
        max_file_bytes=args.max_file_bytes, check_test_nodes=args.check_test_nodes,
        exclude=(*config.exclude, *args.exclude) if args.exclude else None,
    )
    # Rule plugins named in that [tool.pv] plugins load too, as they would with `-p`.
    registry = build_registry(with_plugins=not args.no_plugins,
                              settings=PluginSettings.from_env(**owner.plugin_overrides()))
    for failure in registry.plugin_failures:  # reported and skipped, never fatal for validation
        print(f"pv validate: warning: plugin {failure}", file=sys.stderr)
    bad = unknown_selectors(registry, [*config.select, *config.ignore])
    if bad:
        raise UsageError(f"unknown rule code(s): {', '.join(bad)} (see `pv explain --list`)")
    report = validate_paths(paths, config, registry, context=context)
    # Exit 0 is right for a folder without contracts, but a typo'd folder should not pass unnoticed.
    # Not said when files had issues: a YAML syntax error is the whole story, "no contracts" would mislead.
    if not report.contracts and not report.acceptance and not report.issues:
        print(f"pv validate: warning: no contracts found in {', '.join(paths)}", file=sys.stderr)
    if args.format == "json":
        print(render_json(report))
    elif args.format == "github":
        print(render_github(report))
    else:
        render_text(report, sys.stdout)
    return report.exit_code
