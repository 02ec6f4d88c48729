"""`pv explain CODE`: what a rule code means and how to fix or suppress it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from apr_contracts.cli import UsageError

# findings about files that never became a contract (or about pv itself): no comment can reach them
UNREAD = frozenset({"PV-YAML-001", "PV-YAML-002", "PV-YAML-003", "PV-YAML-006", "PV-INTERNAL-001"})


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("explain", help="explain a `pv validate` rule code",
                              description="Explain a rule code (PV-TEST-003), or list all codes with --list.")
    p.add_argument("code", nargs="?", help="rule code, or a prefix such as PV-SCHEMA")
    p.add_argument("--list", action="store_true", help="list every code")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-plugins", action="store_true", help="only the built-in rules")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from apr_contracts.validate import build_registry

    registry = build_registry(with_plugins=not args.no_plugins)
    if args.list or not args.code:
        codes = [r.code for r in registry]
    else:
        codes = registry.matching(args.code)
        if not codes:
            raise UsageError(f"unknown rule code {args.code!r} (see `pv explain --list`)")
    rules = [registry.rules[c] for c in codes]
    if args.format == "json":
        print(json.dumps({"version": 1, "rules": [
            {"code": r.code, "title": r.title, "severity": r.severity.value, "strict_severity": r.effective_severity(True).value,
             "strict_only": r.strict_only, "explanation": r.explanation, "hint": r.hint, "plugin": registry.owners[r.code]}
            for r in rules]}, indent=2))
        return 0
    if args.list or not args.code or (len(rules) > 1 and args.code.upper() not in registry):
        for r in rules:
            print(f"{r.code:<18} {r.severity.value:<8} {r.title}")
        return 0
    r = rules[0]
    strict = r.effective_severity(True).value
    print(f"{r.code}: {r.title}")
    print(f"severity: {r.severity.value}" + (f" ({strict} under --strict)" if strict != r.severity.value else "")
          + ("; only under --strict" if r.strict_only else ""))
    print()
    print(r.explanation)
    if r.hint:
        print(f"\nfix: {r.hint}")
    if r.code in UNREAD:
        print("\nnot suppressible inline: the file could not be read as a contract.")
    else:
        print(f"\nsuppress one finding: add `# pv: ignore[{r.code}]` on its line (or on the key above it);")
    print(f"everywhere: --ignore {r.code}, or ignore = [\"{r.code}\"] in [tool.pv].")
    return 0
