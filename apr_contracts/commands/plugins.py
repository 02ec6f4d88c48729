"""`pv plugins`: the loaded plugins grouped by distribution, and `--where ID`: which code implements an id.

A project with one plugin of its own also loads our ~30 built-in ones and their ~170 `broken-*`
mutant engines, so the listing puts the user's distributions first, hides mutants unless asked
(`--mutants`) and takes a name filter. Nothing here imports torch: only the plugin modules load.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK
from apr_contracts.commands.run import add_plugin_options, plugin_settings

JSON_VERSION = 2  # 2: grouped by distribution, engines as objects with `mutant`, falsifiers with their contract
COMMAND_LINE = "(command line)"  # the distribution of a `-p module.path` plugin (apr_contracts.plugins)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list plugins, their engines and falsifiers; --where ID finds an id's code",
        description="List every loaded plugin (built-in and entry points) grouped by distribution, yours "
        "first, with its hooks, engines and falsifiers (`ID (contract)`). Mutant engines (deliberately broken "
        "ones such as the built-in broken-*) are counted, not listed, unless --mutants is given; that holds "
        "for --format json too, where every engine carries a `mutant` flag. Exit 1 when a plugin failed to "
        "load, when PATTERN matches no plugin, or when nothing implements the id given to --where.",
    )
    parser.add_argument(
        "pattern", nargs="?", metavar="PATTERN",
        help="keep plugins whose name or distribution contains PATTERN (case-insensitive; a glob when it "
        "has * ? [; `a or b` and `not a` as with pv run -k)",
    )
    parser.add_argument("--mutants", action="store_true", help="list mutant engines too (hidden by default)")
    parser.add_argument(
        "--where", metavar="ID",
        help="print file:line, module:function, contract and plugin of every implementation of falsifier "
        "ID, and every plugin's declaration that ID is out of scope",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    add_plugin_options(parser)
    parser.set_defaults(func=plugins_command)


def plugins_command(args: argparse.Namespace) -> int:
    from apr_contracts.plugins import load_plugins
    from apr_contracts.runner import matches

    plugins = load_plugins(plugin_settings(args))
    selected = [info for info in plugins.info.values() if matches(args.pattern, info.name, info.distribution)]
    names = {info.name for info in selected}
    failures = [f for f in plugins.failures if f.plugin in names or f.plugin not in plugins.info]
    if args.where:
        return _where(plugins, args, names, failures)
    if not selected:
        per_dist = Counter(info.distribution for info in plugins.info.values())
        loaded = ", ".join(f"{dist} ({n} plugin{'s' * (n != 1)})" for dist, n in sorted(per_dist.items())) or "none"
        print(f"pv plugins: no loaded plugin's name or distribution matches {args.pattern!r} (substring or glob, "
              f"case-insensitive); loaded: {loaded}. Run `pv plugins` without a pattern to see their names.",
              file=sys.stderr)
        return EXIT_FINDINGS
    views = [_view(plugins, info, args.mutants) for info in _grouped(selected)]
    hidden = Counter[str]()
    for view in views:
        hidden.update(view["hidden_mutants"])
    if args.format == "json":
        payload = {
            "version": JSON_VERSION,
            "mutants_listed": bool(args.mutants),
            "pattern": args.pattern,
            "distributions": _distributions(views),
            "plugins": views,
            "hidden_mutants": dict(sorted(hidden.items())),
            "engine_kinds": _engine_kinds(plugins, _kinds_shown(plugins, names, args.pattern), args.mutants),
            "failures": [_failure(f) for f in failures],
        }
        print(json.dumps(payload, indent=2))
    else:
        _print_listing(views, plugins, _kinds_shown(plugins, names, args.pattern), hidden, failures)
    return EXIT_FINDINGS if failures else EXIT_OK


# --- the listing ---------------------------------------------------------------------------------------


def _grouped(infos: Iterable[Any]) -> list[Any]:
    """The user's distributions first (by name, `-p` modules last among them), ours last; load order inside."""
    ordered = list(infos)
    position = {info.name: i for i, info in enumerate(ordered)}

    def key(info: Any) -> tuple[int, str, int]:
        group = 2 if info.builtin else 1 if info.distribution == COMMAND_LINE else 0
        return group, info.distribution.lower(), position[info.name]

    return sorted(ordered, key=key)


def _view(plugins: Any, info: Any, mutants: bool) -> dict[str, Any]:
    """What one plugin provides, from the registries (one falsifier id may be bound for several contracts)."""
    engines, hidden = [], Counter[str]()
    for kind, by_name in sorted(plugins.engines.engines.items()):
        for name, spec in sorted(by_name.items()):
            if spec.plugin != info.name:
                continue
            if spec.mutant and not mutants:
                hidden[kind] += 1
                continue
            engines.append({"kind": kind, "name": name, "default": spec.default, "mutant": spec.mutant})
    falsifiers = [
        {"id": fid, "contract": contract, "qualname": spec.qualname, "level": str(spec.level.value)}
        for (contract, fid), spec in sorted(plugins.falsifiers.bindings.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if spec.plugin == info.name
    ]
    out_of_scope = [
        {"id": fid, "contract": contract, "reason": declared.reason}
        for (contract, fid), declared in sorted(plugins.falsifiers.out_of_scope.items(),
                                                key=lambda kv: (kv[0][1], kv[0][0]))
        if declared.plugin == info.name
    ]
    return {
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "builtin": info.builtin,
        "hooks": list(info.hooks),
        "engines": engines,
        "hidden_mutants": dict(sorted(hidden.items())),
        "falsifiers": falsifiers,
        "out_of_scope": out_of_scope,
    }


def _distributions(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for view in views:
        group = groups.setdefault(view["distribution"], {
            "name": view["distribution"], "version": view["version"], "builtin": view["builtin"], "plugins": []})
        group["plugins"].append(view["name"])
    return list(groups.values())


def _kinds_shown(plugins: Any, names: set[str], pattern: str | None) -> list[str]:
    """Every engine kind; with a PATTERN, those the selected plugins register engines for."""
    if not pattern:
        return sorted(plugins.engines.kinds)
    return sorted(kind for kind, by_name in plugins.engines.engines.items()
                  if any(spec.plugin in names for spec in by_name.values()))


def _engine_kinds(plugins: Any, shown: list[str], mutants: bool) -> dict[str, Any]:
    kinds = {}
    for kind in shown:
        proto = plugins.engines.kinds.get(kind)
        specs = plugins.engines.engines.get(kind, {}).values()
        kinds[kind] = {
            "protocol": f"{proto.__module__}.{proto.__qualname__}" if proto else None,
            "engines": sorted(s.name for s in specs if mutants or not s.mutant),
            "mutants": sum(1 for s in specs if s.mutant),  # how many there are, listed or not
            "default": _default(plugins, kind),
        }
    return kinds


def _print_listing(
    views: list[dict[str, Any]], plugins: Any, kinds_shown: list[str], hidden: Counter[str], failures: list[Any]
) -> None:
    from rich.text import Text

    console = _console()
    shown_group = None
    for view in views:
        group = (view["distribution"], view["version"], view["builtin"])
        if group != shown_group:
            shown_group = group
            header = Text(view["distribution"], style="bold")
            if view["version"]:
                header.append(f" {view['version']}")
            if view["builtin"]:
                header.append(" (built-in)")
            console.print(header, soft_wrap=True)
        console.print(Text(f"  {view['name']}", style="bold"), soft_wrap=True)
        _plain(console, f"    hooks: {', '.join(h.removeprefix('apr_') for h in view['hooks']) or '-'}")
        real = [e for e in view["engines"] if not e["mutant"]]
        broken = [e for e in view["engines"] if e["mutant"]]
        hidden_here = sum(view["hidden_mutants"].values())
        if real or hidden_here:
            count = f"{len(real)}, {hidden_here} mutants hidden" if hidden_here else str(len(real))
            _plain(console, f"    engines ({count}): {', '.join(_engine(e) for e in real) or '-'}")
        if broken:
            _plain(console, f"    mutant engines ({len(broken)}): {', '.join(_engine(e) for e in broken)}")
        if view["falsifiers"]:
            listed = ", ".join(f"{f['id']} ({f['contract']})" for f in view["falsifiers"])
            _plain(console, f"    falsifiers ({len(view['falsifiers'])}): {listed}")
        if view["out_of_scope"]:
            _plain(console, f"    declared out of scope ({len(view['out_of_scope'])}):")
            for declared in view["out_of_scope"]:
                _plain(console, f"      {declared['id']} ({declared['contract']}): {declared['reason']}")
    kinds = [f"{kind} (default {_default(plugins, kind) or 'none'})" for kind in kinds_shown]
    if kinds:
        _plain(console, f"engine kinds: {', '.join(kinds)}")
    if hidden:
        per_kind = ", ".join(f"{n} {kind}" for kind, n in sorted(hidden.items()))
        _plain(console, f"{sum(hidden.values())} mutant engines hidden: {per_kind} (--mutants lists them)")
    _print_failures(console, failures)


def _engine(engine: dict[str, Any]) -> str:
    return f"{engine['kind']}={engine['name']}" + (" (default)" if engine["default"] else "")


# --- --where ID ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One place that answers for a falsifier id: an implementation, or a declaration that it is out of scope."""

    kind: str  # "implementation" or "out_of_scope"
    id: str
    contract: str
    plugin: str
    path: str
    line: int
    qualname: str = ""
    reason: str = ""


def _where(plugins: Any, args: argparse.Namespace, names: set[str], failures: list[Any]) -> int:
    wanted = args.where.strip()
    every = _sites(plugins, wanted)
    sites = [s for s in every if s.plugin in names]
    suggestions: list[str] = []
    if not sites:
        known = sorted({fid for _, fid in [*plugins.falsifiers.bindings, *plugins.falsifiers.out_of_scope]})
        suggestions = difflib.get_close_matches(wanted.upper(), known, n=3, cutoff=0.6)
    if args.format == "json":
        print(json.dumps({
            "version": JSON_VERSION,
            "id": wanted,
            "pattern": args.pattern,
            "sites": [s.__dict__ for s in sites],
            "suggestions": suggestions,
            "failures": [_failure(f) for f in failures],
        }, indent=2))
    else:
        console = _console()
        for site in sites:
            where = f"{site.path}:{site.line}"
            if site.kind == "implementation":
                _plain(console, f"{where}  {site.qualname}  (contract {site.contract}, plugin {site.plugin})")
            else:
                _plain(console, f"{where}  declared out of scope  (contract {site.contract}, plugin {site.plugin}): "
                                f"{site.reason}")
        _print_failures(console, failures)
    if not sites:
        why = (f"only plugins not matching {args.pattern!r} do" if every else
               "no loaded plugin implements it or declares it out of scope")
        hint = (f"did you mean {' or '.join(suggestions)}?" if suggestions else
                "`pv plugins` lists every falsifier id the loaded plugins bind")
        print(f"pv plugins --where {wanted}: {why}; {hint} (a plugin blocked with -p no:NAME, or one that failed "
              "to load, is not searched)", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_FINDINGS if failures else EXIT_OK


def _sites(plugins: Any, wanted: str) -> list[Site]:
    """Every binding and out-of-scope declaration of ``wanted`` (ids compared case-insensitively)."""
    folded = wanted.casefold()
    sites = []
    for (contract, fid), spec in sorted(plugins.falsifiers.bindings.items()):
        if fid.casefold() == folded:
            path, line = source_of(spec)
            sites.append(Site("implementation", fid, contract, spec.plugin, path, line, qualname=spec.qualname))
    for (contract, fid), declared in sorted(plugins.falsifiers.out_of_scope.items()):
        if fid.casefold() == folded:
            path, line = _declared_at(plugins, declared)
            sites.append(Site("out_of_scope", fid, contract, declared.plugin, path, line, reason=declared.reason))
    return sites


def source_of(spec: Any) -> tuple[str, int]:
    """The file and line of the ``@falsifier(...)`` that declares ``spec`` (its ``def`` when there is none);
    shared by `pv plugins --where` and `pv pin`."""
    fn = inspect.unwrap(spec.fn)
    try:
        path = inspect.getsourcefile(fn) or inspect.getfile(fn)
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):  # no source (a builtin, a callable object, a frozen module)
        code = getattr(fn, "__code__", None)
        return (_shown(code.co_filename), code.co_firstlineno) if code else ("?", 0)
    return _shown(path), start + _decorator_offset(lines, spec, fn)


def _decorator_offset(lines: list[str], spec: Any, fn: Any) -> int:
    """Which of the source lines (0 = the first) starts the decorator of this spec.

    Stacked ``@falsifier`` decorators (one per contract) each mark the function, the bottom one
    first, so they are matched by position; when they cannot be (a decorator applied by a helper),
    the one whose text names the id, else the first.
    """
    blocks: list[tuple[int, str]] = []  # (line offset, text) of each decorator, continuation lines included
    for offset, text in enumerate(lines):
        stripped = text.lstrip()
        if stripped.startswith(("def ", "async def ")):
            break
        if stripped.startswith("@"):
            blocks.append((offset, stripped))
        elif blocks:
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + stripped)
    ours = [(offset, text) for offset, text in blocks if "falsifier(" in text]
    marks = list(getattr(fn, "__apr_falsifier_spec__", []))
    index = next((i for i, m in enumerate(marks) if m.id == spec.id and m.contracts in ((), spec.contracts)), None)
    if index is not None and len(ours) == len(marks):
        return ours[len(marks) - 1 - index][0]
    naming = [offset for offset, text in ours if spec.id in text]
    return naming[0] if len(naming) == 1 else ours[0][0] if ours else 0


def _declared_at(plugins: Any, declared: Any) -> tuple[str, int]:
    """Where the plugin declared it (recorded by the registry), else its module's first line."""
    if declared.source:
        return _shown(declared.source), declared.line
    module = plugins.manager.get_plugin(declared.plugin)
    try:
        return _shown(inspect.getsourcefile(module) or inspect.getfile(module)), 1
    except (OSError, TypeError):
        return "?", 0


def _shown(path: str) -> str:
    """``path`` relative to the current directory when it lies under it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


# --- shared ----------------------------------------------------------------------------------------------


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _plain(console: Any, line: str) -> None:
    """Print text that came from plugins as it is: a `[bold]` in a name or a reason is not markup."""
    from rich.text import Text

    console.print(Text(line), soft_wrap=True)  # soft_wrap: a path or id is never broken across lines


def _print_failures(console: Any, failures: list[Any]) -> None:
    from rich.text import Text

    for failure in failures:
        console.print(Text(
            f"plugin {failure.plugin} (distribution {failure.distribution}) failed in {failure.phase}: "
            f"{failure.error} — skipped; run with --strict-plugins to see the traceback", style="red",
        ), soft_wrap=True)


def _failure(failure: Any) -> dict[str, Any]:
    return dict(failure.__dict__)


def _default(plugins: Any, kind: str) -> str | None:
    try:
        return str(plugins.engines.choose(kind).name)
    except LookupError:
        return None
