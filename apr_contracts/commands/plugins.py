"""`pv plugins`: every plugin with its distribution, version, hooks, engines and falsifier ids."""

from __future__ import annotations

import argparse
import json
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK
from apr_contracts.commands.run import add_plugin_options, plugin_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list plugins, their engines and falsifiers",
        description="List every loaded plugin (built-in and entry points) and what it provides. "
        "Exit 1 when a plugin failed to load.",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    add_plugin_options(parser)
    parser.set_defaults(func=plugins_command)


def plugins_command(args: argparse.Namespace) -> int:
    from apr_contracts.plugins import load_plugins

    plugins = load_plugins(plugin_settings(args))
    if args.format == "json":
        payload = {
            "version": 1,
            "plugins": [info.__dict__ for info in plugins.info.values()],
            "engine_kinds": {
                kind: {
                    "protocol": f"{proto.__module__}.{proto.__qualname__}" if proto else None,
                    "engines": plugins.engines.names(kind),
                    "default": _default(plugins, kind),
                }
                for kind, proto in sorted(plugins.engines.kinds.items())
            },
            "failures": [f.__dict__ for f in plugins.failures],
        }
        print(json.dumps(payload, indent=2))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        for info in plugins.info.values():
            origin = "built-in" if info.builtin else f"{info.distribution} {info.version}".strip()
            console.print(f"[bold]{info.name}[/] ({origin})")
            console.print(f"  hooks: {', '.join(h.removeprefix('apr_') for h in info.hooks) or '-'}")
            if info.engines:
                console.print(f"  engines ({len(info.engines)}): {', '.join(info.engines)}")
            if info.falsifiers:
                console.print(f"  falsifiers ({len(info.falsifiers)}): {' '.join(info.falsifiers)}")
            if info.out_of_scope:
                console.print(f"  declared out of scope ({len(info.out_of_scope)}):")
                for line in info.out_of_scope:
                    console.print(f"    {line}", soft_wrap=True)
        for kind in sorted(plugins.engines.kinds):
            console.print(f"engine kind [bold]{kind}[/]: default {_default(plugins, kind) or '(none)'}")
        for failure in plugins.failures:
            console.print(
                f"[red]plugin {failure.plugin} (distribution {failure.distribution}) failed in "
                f"{failure.phase}: {failure.error}[/] — skipped; run with --strict-plugins to see the traceback"
            )
    return EXIT_FINDINGS if plugins.failures else EXIT_OK


def _default(plugins: Any, kind: str) -> str | None:
    try:
        return str(plugins.engines.choose(kind).name)
    except LookupError:
        return None
