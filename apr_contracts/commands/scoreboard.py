"""`pv scoreboard [PATHS] --format text|md|json|junit|html [-o FILE] [--fail-on ...] [--evidence DB]`.

Reads contracts and the evidence database (never runs anything, never creates
the database) and publishes each contract's derived status beside its declared
one. Exit 0, or 1 when a ``--fail-on`` condition holds; 2 for usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input
from apr_contracts.evidence import EvidenceError, EvidenceStore
from apr_contracts.project import Project
from apr_contracts.scoreboard import FAIL_ON_CHOICES, Scoreboard, build_scoreboard


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `pv scoreboard` and `pv status`."""
    parser.add_argument("--evidence", metavar="DB", type=Path,
                        help="evidence database (default: $PV_EVIDENCE, else [tool.pv] evidence, else "
                             "<project>/.pv/evidence.sqlite)")
    parser.add_argument("--fail-on", action="append", default=[], metavar="COND",
                        help="exit 1 when a condition holds (repeat or comma-separate): falsified = a "
                             "falsifier's effective outcome is FALSIFIED; error = ERROR; stale = only evidence "
                             "for an older text of a claim; drift = declared status or verification_summary "
                             "disagree with the evidence, a falsifier id has no implementation, an implementation "
                             "is in no contract, or a test: node does not exist")
    parser.add_argument("--no-plugins", action="store_true",
                        help="do not load plugins: skips the bound/unbound drift checks and plugin formats")
    # The same plugin switches as `pv run`, so both commands see the same set of implementations.
    from apr_contracts.commands import add_exclude_option
    from apr_contracts.commands.run import add_plugin_options

    add_exclude_option(parser)
    add_plugin_options(parser)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scoreboard", help="derived status of every contract, from the evidence of `pv run`",
        description="One row per contract: declared vs derived status, outcome counts, drift; then each falsifier.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATHS",
                        help="contract files or folders (default: [tool.pv] paths, else ./contracts of the "
                             "project, else .)")
    parser.add_argument("--format", default="text",
                        help="text, md, json, junit, html, github, or a format registered by a plugin (default: text)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (atomically) instead of stdout")
    add_common_options(parser)
    parser.set_defaults(func=run)


@dataclass
class Context:
    board: Scoreboard
    reporters: dict[str, Any] = field(default_factory=dict)
    contracts: list[Any] = field(default_factory=list)


def parse_fail_on(values: Sequence[str]) -> list[str]:
    conditions = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [c for c in conditions if c not in FAIL_ON_CHOICES]
    if unknown:
        raise UsageError(f"--fail-on {', '.join(unknown)}: unknown condition; choose from {', '.join(FAIL_ON_CHOICES)}")
    return conditions


def default_paths(project: Project) -> list[Path]:
    """[tool.pv] paths, else the project's contracts/ folder, else the current directory."""
    return project.default_paths("contracts") or [Path.cwd()]


def _issue_note(issue: Any) -> str:
    where = ":".join(str(x) for x in (getattr(issue, "file", None), getattr(issue, "line", None)) if x)
    severity = str(getattr(issue, "severity", "")).split(".")[-1].lower()
    message = getattr(issue, "message", str(issue))
    return f"{where}: {severity}: {message}" if where else f"{severity}: {message}"


def open_store(project: Project) -> tuple[EvidenceStore | None, list[str]]:
    """The project's evidence store to read (the one `pv run` writes), or None (with a note) when
    no database exists yet; a database named by --evidence / PV_EVIDENCE must exist."""
    path = project.evidence
    if not path.exists():
        if project.evidence_explicit:
            raise UsageError(missing_input([path], "the evidence database: run `pv run` first, or fix the "
                                           "path given by --evidence / PV_EVIDENCE"))
        where = f" ({project.evidence_from} in {project.config_file})" if project.evidence_from != "default" else ""
        return None, [f"no evidence database at {path}{where}: every falsifier is pending; run `pv run` first"]
    try:
        return EvidenceStore(path, create=False), []
    except EvidenceError as exc:
        raise UsageError(str(exc)) from exc


def build_context(paths: Sequence[Path], project: Project, use_plugins: bool,
                  args: argparse.Namespace | None = None) -> Context:
    from apr_contracts.loader import load_contracts

    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(missing_input(missing, project.paths_hint("pass contract files or folders of them")))
    loaded = load_contracts(list(paths), exclude=project.exclude(getattr(args, "exclude", None) or ()))
    notes = [_issue_note(i) for i in loaded.issues if "error" in str(getattr(i, "severity", "")).lower()]
    registered = None
    builtin: list[str] = []
    reporters: dict[str, Any] = {}
    if use_plugins:
        from apr_contracts.commands.run import plugin_settings
        from apr_contracts.plugins import load_plugins

        plugins = load_plugins(plugin_settings(args) if args is not None else None)
        registered = dict(plugins.falsifiers.bindings)
        builtin = [name for name, info in plugins.info.items() if info.builtin]
        reporters = dict(plugins.reporters.renderers)
        notes += [f"plugin {f.plugin} ({f.distribution}) failed in {f.phase}: {f.error}" for f in plugins.failures]
    store, store_notes = open_store(project)
    try:
        board = build_scoreboard(loaded.contracts, store, registered, notes=[*notes, *store_notes],
                                 builtin_plugins=builtin)
        if loaded.acceptance:  # acceptance files among the paths: the md/html/json reports gain ship-%
            from apr_contracts.acceptance.board import build_ship

            board.ship = build_ship(loaded.acceptance, loaded.contracts, store)
    finally:
        if store is not None:
            store.close()
    return Context(board, reporters, list(loaded.contracts))


def emit(text: str, output: Path | None) -> None:
    """``text`` to ``output`` (atomically; only a regular file is ever replaced), or stdout for None or ``-``."""
    if output is not None and str(output) != "-":
        from apr_contracts.atomic import write_text_atomic

        write_text_atomic(output, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def report_failures(reasons: Sequence[str]) -> int:
    for reason in reasons:
        print(f"pv: --fail-on: {reason}", file=sys.stderr)
    return EXIT_FINDINGS if reasons else EXIT_OK


def run(args: argparse.Namespace) -> int:
    from apr_contracts.report import BUILTIN_FORMATS, renderer
    from apr_contracts.report import text as text_report

    conditions = parse_fail_on(args.fail_on)
    project = Project.for_command(args)
    paths = list(args.paths) or default_paths(project)
    ctx = build_context(paths, project, not args.no_plugins, args)
    if args.format == "text" and args.output is None:
        output = text_report.render(ctx.board, color=use_color())
    else:
        try:
            render = renderer(args.format, ctx.reporters)
        except KeyError as exc:
            known = sorted({*BUILTIN_FORMATS, *ctx.reporters})
            raise UsageError(f"--format {args.format}: unknown format; choose one of: {', '.join(known)}") from exc
        output = render(ctx.board)
    emit(output, args.output)
    return report_failures(ctx.board.fail_reasons(conditions))
