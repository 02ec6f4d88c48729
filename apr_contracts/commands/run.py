"""`pv run`: execute the bound falsifiers of the selected contracts and record the evidence."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input
from apr_contracts.commands import SEED_MAX, add_exclude_option, int_at_least, positive_seconds
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.results import Result, RunSummary
from apr_contracts.runner import (
    DEFAULT_LIVE_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    RunOptions,
    collect,
    run_jobs,
)
from apr_contracts.scheduling import parse_shard, partition

OUTCOME_STYLE = {
    Outcome.HELD: "green",
    Outcome.FALSIFIED: "bold red",
    Outcome.ERROR: "bold magenta",
    Outcome.NOT_BOUND: "yellow",
    Outcome.SKIPPED: "dim",
    Outcome.OUT_OF_SCOPE: "dim",
}


def add_plugin_options(parser: argparse.ArgumentParser) -> None:
    """Plugin switches shared by every command that loads plugins."""
    group = parser.add_argument_group("plugins")
    group.add_argument(
        "-p",
        dest="plugin_flags",
        action="append",
        default=[],
        metavar="NAME",
        help="`-p no:NAME` blocks a plugin; `-p module.path` loads a module as a plugin",
    )
    group.add_argument("--no-autoload", action="store_true", help="do not load entry-point plugins")
    group.add_argument("--plugins", metavar="A,B", help="load only these entry-point plugins")
    group.add_argument("--strict-plugins", action="store_true", help="a failing plugin is fatal")
    group.add_argument("--no-builtins", action="store_true",
                       help="do not load the built-in falsifier families (engines stay); as [tool.pv] builtins = false")


def plugin_settings(args: argparse.Namespace) -> Any:
    """The flags above over the project's [tool.pv] plugins and builtins, over the environment."""
    from apr_contracts.plugins import PluginSettings
    from apr_contracts.project import Project

    block = tuple(flag[3:] for flag in args.plugin_flags if flag.startswith("no:"))
    extra = tuple(flag for flag in args.plugin_flags if not flag.startswith("no:"))
    allow = tuple(filter(None, args.plugins.split(","))) if args.plugins else None
    overrides: dict[str, Any] = {"block": block, "extra_modules": extra, "allow": allow}
    overrides.update(Project.for_command(args).plugin_overrides())
    if args.no_builtins:
        overrides["builtins"] = False
    overrides["strict"] = bool(args.strict_plugins)
    if args.no_autoload:
        overrides["autoload"] = False
    return PluginSettings.from_env(**overrides)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the falsifiers of contracts and record evidence",
        description="Run every bound falsifier of the selected contracts, each in its own process; "
        "record the outcomes in the evidence database. Exit 1 if anything is FALSIFIED or ERROR.",
    )
    parser.add_argument("paths", nargs="*", default=[],
                        help="contract files or folders (default: [tool.pv] paths, else ./contracts of the project)")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN", help="only falsifier/contract ids matching PATTERN")
    parser.add_argument(
        "--level",
        choices=["algorithm", "integration", "live", "all"],
        default="integration",
        help="deepest level to run (default integration; live/all add live falsifiers)",
    )
    parser.add_argument("--engine", action="append", default=[], metavar="KIND=NAME",
                        help="swap an engine implementation; a run with a non-default engine is a conformance "
                        "run: recorded and diffable, never current evidence for status, scoreboard or ship")
    parser.add_argument("--count-as-evidence", action="store_true",
                        help="record a run with non-default engines as current evidence (they then speak for "
                        "the claims as the default engines do)")
    parser.add_argument("--jobs", "-j", type=int_at_least(1, 256), default=1, help="falsifiers run in parallel (default 1)")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT_S, help="seconds per falsifier (default 120)")
    parser.add_argument("--live-timeout", type=positive_seconds, default=DEFAULT_LIVE_TIMEOUT_S,
                        help="seconds per live falsifier (default 900)")
    parser.add_argument("--seed", type=int_at_least(0, SEED_MAX), default=0,
                        help="base seed; each falsifier derives its own (recorded)")
    parser.add_argument("--evidence", metavar="DB", help="evidence database (default .pv/evidence.sqlite of the project)")
    parser.add_argument("--collect-only", action="store_true", help="list what would run, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument(
        "--isolation",
        choices=["pool", "process", "none"],
        default="pool",
        help="pool: reused worker processes, replaced after a crash or hang (default); "
        "process: a fresh process per falsifier; none: in-process (debugging)",
    )
    parser.add_argument("--in-process", action="store_true", help="same as --isolation none")
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="keep each falsifier's workspace under DIR/<contract id>/<falsifier id> (default: a temporary "
        "folder removed when the run ends)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="run only part I of N of the selected falsifiers (balanced by the durations recorded in "
        "the evidence database; every shard of a CI matrix must see the same database, or none); "
        "join the databases with `pv evidence merge`",
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="execute every falsifier, even those whose claim hash and fingerprint (plugin and engine "
        "code, package versions, engine selected) are unchanged since their recorded result",
    )
    parser.add_argument(
        "--allow-test-commands", action="store_true", default=None,
        help="run the `test:` command of falsifiers no plugin binds (cargo test ..., pytest ...), for "
        "contracts inside the project root only; as [tool.pv] allow-test-commands = true",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    add_exclude_option(parser)
    add_plugin_options(parser)
    parser.set_defaults(func=run_command)


def parse_engines(pairs: list[str]) -> dict[str, str]:
    engines: dict[str, str] = {}
    for pair in pairs:
        kind, sep, name = pair.partition("=")
        if not sep or not kind or not name:
            raise UsageError(f"--engine expects KIND=NAME, got {pair!r}")
        engines[kind] = name
    return engines


def run_command(args: argparse.Namespace) -> int:
    from apr_contracts.claims import claim_hash
    from apr_contracts.evidence import EvidenceStore
    from apr_contracts.loader import load_contracts
    from apr_contracts.plugins import load_plugins
    from apr_contracts.project import Project
    from apr_contracts.provenance import git_sha, host, versions

    # Root, [tool.pv] and evidence database resolved once, by the rule every command shares.
    project = Project.for_command(args)
    paths = [Path(p) for p in args.paths] or project.default_paths("contracts") or [project.root / "contracts"]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(missing_input(missing, project.paths_hint("pass contract files or folders of them")))
    args.exclude = project.exclude(args.exclude)  # [tool.pv] exclude applies, as in pv validate
    if args.workspace and Path(args.workspace).exists() and not Path(args.workspace).is_dir():
        raise UsageError(f"--workspace {args.workspace}: not a folder; pass a folder to keep the workspaces in "
                         "(created if missing)")
    level = Level.LIVE if args.level in ("live", "all") else Level(args.level)
    options = RunOptions(
        level=level,
        pattern=args.pattern,
        engines=parse_engines(args.engine),
        jobs=args.jobs,
        timeout_s=args.timeout,
        live_timeout_s=args.live_timeout,
        seed=args.seed,
        isolation="none" if args.in_process else args.isolation,
        workspace_root=Path(args.workspace).resolve() if args.workspace else None,
        rerun=args.rerun,
        allow_test_commands=bool(args.allow_test_commands or project.config.allow_test_commands),
        project_root=project.root,
    )
    plugins = load_plugins(plugin_settings(args))
    conformance = _conformance(plugins.engines, options.engines)
    if args.count_as_evidence and not conformance:
        raise UsageError("--count-as-evidence applies to a run with a non-default --engine KIND=NAME; "
                         "a run of the default engines is current evidence already")
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    loaded = load_contracts(paths, exclude=args.exclude)
    contracts, broken = _admitted(loaded, paths, plugins)
    snapshots = [p for p, why in loaded.skipped if why.startswith("archived revision")]
    if snapshots and args.format != "json":
        print(f"skipped {len(snapshots)} archived revision(s) (name@revision.yaml beside name.yaml), e.g. "
              f"{snapshots[0]}; name a file to run it", file=sys.stderr)
    _print_refusals(broken, args.format)
    jobs = collect(contracts, plugins, options, claim_hash)
    root, db_path = project.root, project.evidence  # paths outside the project still record here
    known = EvidenceStore(db_path).durations() if db_path.exists() else {}
    options.durations = known
    if shard is not None:
        jobs = partition(jobs, shard[1], known)[shard[0] - 1]
    if args.collect_only:
        _print_collection(jobs, args.format, broken)
        return EXIT_FINDINGS if broken else EXIT_OK

    store = EvidenceStore(db_path)
    run_id = store.begin_run(
        command="pv " + " ".join(sys.argv[1:]) if sys.argv else "pv run",
        git_sha=git_sha(root),
        host=host(),
        versions=versions(),
        plugins={name: info.version for name, info in plugins.info.items()},
        seed=args.seed,
        level=args.level,
        shard=args.shard,
        conformance=None if args.count_as_evidence else (conformance or None),
    )
    summary = RunSummary(run_id=run_id)

    def record(result: Result) -> None:
        store.record(run_id, result)
        summary.results.append(result)
        plugins.notify("apr_result", result=result)

    with _progress(len(jobs), disabled=args.no_progress or args.format == "json") as advance:

        def on_result(result: Result) -> None:
            record(result)
            advance(result)

        def previous(job: Any) -> list[tuple[int, Result]]:
            found = store.reuse_candidates(str(job.contract.id), job.falsifier_id, job.claim_hash, job.fingerprint)
            return [(stored.run_id, stored.result) for stored in found]

        run_jobs(jobs, plugins, options, on_result=on_result, previous=previous)

    # A refused contract is a finding: its claims got no evidence, and a run where every file was
    # refused must not pass as "0 falsifiers, nothing failed".
    exit_code = EXIT_FINDINGS if summary.failed or broken else EXIT_OK
    store.end_run(run_id, counts=summary.counts, exit_code=exit_code)
    plugins.notify("apr_session_finish", summary=summary, exit_code=exit_code)
    _report(summary, args.format, db_path, plugins.failures, broken,
            conformance=None if args.count_as_evidence else conformance)
    return exit_code


def _conformance(registry: Any, chosen: Mapping[str, str]) -> dict[str, str]:
    """The engines of ``chosen`` that are not their kind's default ({} for a run of the defaults)."""
    swapped = {}
    for kind, name in chosen.items():
        try:
            spec = registry.choose(kind, name)
        except LookupError as exc:
            raise UsageError(str(exc)) from exc
        try:
            default = registry.choose(kind).name
        except LookupError:  # several engines, none the default: every choice is a deliberate one
            default = None
        if spec.name != default:
            swapped[kind] = spec.name
    return swapped


def _admitted(loaded: Any, paths: list[Path], plugins: Any) -> tuple[list[Any], list[Any]]:
    """The contracts `pv validate` finds no error in, and the errors that refuse the rest (rule
    settings from the project holding the first path, as `pv validate` takes them)."""
    from apr_contracts.config import ConfigError
    from apr_contracts.project import Project
    from apr_contracts.validate import admit, build_registry

    try:
        owner = Project.discover(paths[0])
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return admit(loaded, paths, owner.config, build_registry(plugins=plugins))


def _print_refusals(errors: list[Any], fmt: str) -> None:
    """Before anything executes: which contract files are refused, and why, as `pv validate` says it."""
    if not errors or fmt == "json":
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    files = sorted({i.file for i in errors})
    console.print(Text(f"pv run: refusing {len(files)} contract file(s) with validation errors; none of "
                       "their falsifiers runs (`pv validate` reports the same):", style="red"))
    for issue in errors:
        console.print(Text(f"  {issue.file}:{issue.line}:{issue.column}: {issue.code} {issue.message}"))
        if issue.hint:
            console.print(Text(f"      hint: {issue.hint}", style="dim"))


class _progress:
    """A rich progress bar on a terminal; nothing when output is piped, with --no-progress, or NO_COLOR."""

    def __init__(self, total: int, disabled: bool) -> None:
        self.total = total
        self.enabled = not disabled and sys.stderr.isatty() and not os.environ.get("NO_COLOR")
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda result: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]pv run"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("", total=self.total)

        def advance(result: Result) -> None:
            self.bar.update(task, advance=1, description=f"{result.falsifier_id} {result.outcome.value}")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_collection(jobs: list[Any], fmt: str, refused: list[Any]) -> None:
    rows = [
        {
            "contract": str(job.contract.id),
            "falsifier": job.falsifier_id,
            "required_level": job.required_level.value,
            "bound": job.spec is not None,
            "plugin": job.spec.plugin if job.spec else None,
            "implementation_level": job.spec.level.value if job.spec else None,
            "engines": list(job.spec.engines) if job.spec else [],
            "seed": job.seed,
            "out_of_scope": job.out_of_scope.reason if job.out_of_scope else None,
            "not_bound_reason": job.unbound_reason or None,
            "test_command": job.test_command,
        }
        for job in jobs
    ]
    if fmt == "json":
        print(json.dumps({"version": 1, "falsifiers": rows, "contract_errors": [i.to_dict() for i in refused]},
                         indent=2))
        return
    for row in rows:
        bound = f"{row['plugin']} ({row['implementation_level']})" if row["bound"] else f"NOT BOUND: {row['not_bound_reason']}"
        if row["out_of_scope"]:
            bound = f"OUT OF SCOPE: {row['out_of_scope']}"
        elif row["test_command"]:
            bound = f"test command: {row['test_command']}"
        print(f"{row['falsifier']:<44} {row['required_level']:<12} {bound}")
    scoped = sum(1 for row in rows if row["out_of_scope"])
    bound_count = sum(1 for row in rows if row["bound"])
    print(f"{len(rows)} falsifiers collected: {bound_count} bound, {scoped} declared out of scope, "
          f"{len(rows) - bound_count - scoped} not bound"
          + (f"; {len({i.file for i in refused})} contract file(s) refused" if refused else ""))


def _report(summary: RunSummary, fmt: str, db_path: Path, failures: list[Any], broken: list[Any],
            *, conformance: dict[str, str] | None = None) -> None:
    ordered = sorted(summary.results, key=lambda r: (r.contract_id, r.falsifier_id))
    if fmt == "json":
        payload = {
            "version": 1,
            "run_id": summary.run_id,
            "conformance": conformance or None,
            "evidence": str(db_path),
            "counts": summary.counts,
            "reused": summary.reused,
            "results": [r.to_dict() for r in ordered],
            "plugin_failures": [f.__dict__ for f in failures],
            "contract_errors": [i.to_dict() for i in broken],
        }
        print(json.dumps(payload, indent=2, default=str))
        return
    from rich.text import Text

    from apr_contracts.report.plain import safe_console

    with safe_console(soft_wrap=True) as console:  # whole lines: CI logs and greps see them unbroken
        current = None
        for r in ordered:
            if r.contract_id != current:
                current = r.contract_id
                console.print(Text(f"{r.contract_id}  ", style="bold") + Text(r.contract_file))  # contract text: no markup
            level = r.required_level.value
            if r.level is not None and r.level != r.required_level:
                level += f", implemented at {r.level.value}"
            when = f"reused from run #{r.reused_from}" if r.reused_from is not None else f"{r.duration_s:.1f}s"
            console.print(Text("  ") + Text(f"{r.outcome.value:<9}", style=OUTCOME_STYLE[r.outcome])
                          + Text(f" {r.falsifier_id}  ") + Text(f"({level}, {when})", style="dim"))
            if r.message:
                console.print(Text(f"            {r.message[:400]}", style="dim"), soft_wrap=True)
        counts = ", ".join(f"{n} {o.lower()}" for o, n in summary.counts.items() if n)
        executed = len(summary.results) - summary.reused
        reuse = (f"; {executed} executed, {summary.reused} reused (claim and code unchanged; --rerun "
                 "executes them)") if summary.reused else ""
        console.print(Text(f"{len(summary.results)} falsifiers: {counts or 'none'}{reuse}; evidence in {db_path}"))
        if conformance:
            from apr_contracts.evidence import swapped_engines

            console.print(Text(
                f"conformance run #{summary.run_id} ({swapped_engines(conformance)}): recorded apart, not current evidence; status, "
                f"scoreboard and ship ignore it. Compare it: pv diff latest {summary.run_id}", style="yellow"))
        for failure in failures:
            console.print(Text(f"plugin {failure.plugin} ({failure.distribution}) failed in {failure.phase}: "
                               f"{failure.error}", style="yellow"))
        if broken:
            files = sorted({i.file for i in broken})
            console.print(Text(f"refused {len(files)} contract file(s) with validation errors (listed before the run): "
                               + ", ".join(files), style="red"))
