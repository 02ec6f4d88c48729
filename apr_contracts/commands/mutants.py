"""`pv mutants`: how strong are the falsifiers? Run them against the registered mutants.

Each selected falsifier runs against each registered mutant of the engine kinds it uses; a
mutant is killed when a falsifier FALSIFIED against it. Results go to a store of their own
(``mutants.db`` beside the evidence database), never into the evidence a release is judged on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input
from apr_contracts.commands import add_exclude_option
from apr_contracts.commands.run import add_plugin_options, parse_engines, plugin_settings
from apr_contracts.runner import DEFAULT_TIMEOUT_S

FORMATS = ("text", "json", "md", "html")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mutants",
        help="run falsifiers against the registered mutant engines: kill matrix and mutation score",
        description="Run each selected falsifier against each registered mutant (a deliberately broken "
        "engine) of the engine kinds it uses. targeted: only the pairs each mutant's caught_by declares; "
        "full: every pair, a mutant stopping at its first kill. Score = killed / (killed + survived); "
        "ERROR and SKIPPED never count as kills. Results go to mutants.db beside the evidence "
        "database, never into it. Exit 0 ok, 1 when --fail-on finds something, 2 on usage errors.",
    )
    parser.add_argument("paths", nargs="*", default=[],
                        help="contract files or folders (default: [tool.pv] paths, else ./contracts of the project)")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN",
                        help="only pairs whose falsifier id, contract id or mutant name matches PATTERN")
    parser.add_argument("--kind", action="append", default=[], metavar="KIND",
                        help="only mutants of this engine kind (repeatable)")
    parser.add_argument("--mode", choices=("targeted", "full"), default="targeted",
                        help="targeted: declared pairs only (default); full: the whole matrix")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="mutants run in parallel (default 1)")
    parser.add_argument("--shard", metavar="I/N", help="run only part I of N of the mutants (whole mutants)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--fail-on", metavar="score:PCT|survivor", action="append", default=[],
                        help="exit 1 when the mutation score is below PCT (equal passes; no score "
                        "measured fails), or when any mutant survived (repeatable)")
    parser.add_argument("--evidence", metavar="DB", help="the evidence database; the mutants store is "
                        "written beside it (DB's folder, mutants.db), DB itself is never written")
    parser.add_argument("--engine", action="append", default=[], metavar="KIND=NAME",
                        help="the engines of the other kinds (a mutant replaces only its own kind)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per falsifier (default 120)")
    parser.add_argument("--rerun", action="store_true", help="execute every pair, even those stored for unchanged code")
    parser.add_argument("--isolation", choices=["pool", "process", "none"], default="pool",
                        help="as for pv run (default pool)")
    add_exclude_option(parser)
    add_plugin_options(parser)
    parser.set_defaults(func=mutants_command)


def parse_fail_on(values: list[str]) -> tuple[float | None, bool]:
    """``--fail-on`` values -> (minimum score in percent or None, fail on a survivor)."""
    minimum: float | None = None
    survivor = False
    for value in values:
        if value == "survivor":
            survivor = True
            continue
        name, sep, pct = value.partition(":")
        try:
            number = float(pct.rstrip("%")) if name == "score" and sep else -1.0
        except ValueError:
            number = -1.0
        if not 0.0 <= number <= 100.0:
            raise UsageError(f"--fail-on expects 'survivor' or 'score:PCT' with 0 <= PCT <= 100, got {value!r}")
        minimum = number
    return minimum, survivor


def mutants_command(args: argparse.Namespace) -> int:
    from apr_contracts.claims import claim_hash
    from apr_contracts.commands.run import _admitted, _print_refusals
    from apr_contracts.loader import load_contracts
    from apr_contracts.mutation import matrix, report
    from apr_contracts.mutation.store import MutantStore, MutantStoreError, store_path
    from apr_contracts.outcomes import Level
    from apr_contracts.plugins import load_plugins
    from apr_contracts.project import Project
    from apr_contracts.runner import RunOptions, collect
    from apr_contracts.scheduling import parse_shard

    minimum, on_survivor = parse_fail_on(args.fail_on)
    if args.jobs < 1:
        raise UsageError(f"--jobs expects a positive number, got {args.jobs}")
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    project = Project.for_command(args)
    paths = [Path(p) for p in args.paths] or project.default_paths("contracts") or [project.root / "contracts"]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(missing_input(missing, project.paths_hint("pass contract files or folders of them")))
    plugins = load_plugins(plugin_settings(args))
    unknown = sorted(set(args.kind) - set(plugins.engines.kinds))
    if unknown:
        raise UsageError(f"--kind {', '.join(unknown)}: no such engine kind; registered kinds: "
                         f"{', '.join(sorted(plugins.engines.kinds)) or 'none'}")
    options = RunOptions(level=Level.INTEGRATION, engines=parse_engines(args.engine), jobs=args.jobs,
                         timeout_s=args.timeout, isolation=args.isolation, rerun=args.rerun)
    for kind, name in options.engines.items():
        try:
            plugins.engines.choose(kind, name)
        except LookupError as exc:
            raise UsageError(str(exc)) from exc
    loaded = load_contracts(paths, exclude=project.exclude(args.exclude))
    contracts, broken = _admitted(loaded, paths, plugins)
    _print_refusals(broken, "json" if args.format != "text" else "text")
    jobs = collect(contracts, plugins, options, claim_hash)
    used = {kind for job in jobs if job.spec is not None for kind in job.spec.engines}
    selected = [m for m in matrix.select_mutants(plugins, args.kind) if m.kind in used]
    groups = matrix.plan(jobs, selected, plugins, options, args.mode, args.pattern)
    if args.pattern:  # keep the mutants the pattern is about, not every mutant of the kinds as untested
        groups = {k: v for k, v in groups.items() if v or matrix.matches(args.pattern, k[1])}
    if shard is not None:
        groups = matrix.shard(groups, *shard)
    db = store_path(project.evidence)
    try:
        store = MutantStore(db)
    except MutantStoreError as exc:
        raise UsageError(str(exc)) from exc
    try:
        pairs = matrix.execute(groups, plugins, options, args.mode, store)
    finally:
        store.close()
    chosen = [plugins.mutants.mutants[key] for key in groups]
    data = report.summary(chosen, pairs, mode=args.mode, store=str(db))
    findings = _findings(data, minimum, on_survivor) + ([f"{len({i.file for i in broken})} contract file(s) "
                                                         "refused (see above)"] if broken else [])
    data["findings"] = findings
    data["contract_errors"] = [issue.to_dict() for issue in broken]
    if args.format == "json":
        print(json.dumps(data, indent=2))
    elif args.format == "md":
        sys.stdout.write(report.render_markdown(data))
    elif args.format == "html":
        sys.stdout.write(report.render_html(data))
    else:
        report.render_text(data)
    for line in findings:
        print(f"pv mutants: {line}", file=sys.stderr)
    for failure in plugins.failures:
        print(f"pv mutants: plugin {failure.plugin} ({failure.distribution}) failed in {failure.phase}: "
              f"{failure.error}", file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_OK


def _findings(data: dict[str, Any], minimum: float | None, on_survivor: bool) -> list[str]:
    found = []
    if on_survivor:
        found += [f"surviving mutant {m['kind']}={m['name']}: {m['description']} (let through by "
                  f"{', '.join(m['survived'])})" for m in data["mutants"] if m["outcome"] == "survived"]
    if minimum is not None:
        score = data["scores"]["overall"]["score"]
        if score is None:
            found.append(f"no mutation score was measured (no mutant killed or survived), so it cannot be "
                         f">= {minimum:g}%: select falsifiers that use a mutated kind, or declare caught_by")
        elif score < minimum:
            found.append(f"mutation score {score:g}% is below --fail-on score:{minimum:g}")
    return found
