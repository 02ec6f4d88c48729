"""`pv pin`: which implementations pin the claim they were written against, and updating a pin after review.

An implementation may pin its claim (``@falsifier(ID, contract=C, pin="<claim hash prefix>")``). When
the contract's text of that claim changes, `pv run` reports the entry NOT_BOUND ("claim changed since
the implementation was written — review it") instead of running code written for another sentence.

``pv pin`` lists every bound entry of the loaded contracts with its state: ``ok`` (the pin is a prefix
of the current claim hash), ``CHANGED`` (it is not: review the code), ``unpinned``. Exit 1 when some
pin is CHANGED, so CI can gate on it. ``pv pin --update CONTRACT::FALSIFIER ...`` rewrites the pin in
the decorator's source to the current claim (adding ``pin=`` where there was none): the reviewer's
"I read the new claim and the code still tests it". Only entries named one by one are updated.
"""

from __future__ import annotations

import argparse
import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input
from apr_contracts.commands import add_exclude_option
from apr_contracts.commands.run import add_plugin_options, plugin_settings
from apr_contracts.project import Project

PIN_LENGTH = 16  # hex digits written by --update; the runner accepts any prefix of 8 to 64


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pin", help="show which implementations pin their claim, and update a pin after review",
        description="List bound falsifiers with their pin state (ok, CHANGED, unpinned); exit 1 when a "
                    "pinned claim changed. --update KEY rewrites that pin in the source after you reviewed it.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="contract files or folders (default: [tool.pv] paths, else ./contracts)")
    parser.add_argument("--update", nargs="+", metavar="CONTRACT::FALSIFIER", default=[],
                        help="set the pin of these entries to their current claim (a bare falsifier id is "
                             "accepted when one loaded contract declares it)")
    parser.add_argument("--changed", action="store_true", help="list only entries whose pinned claim changed")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_exclude_option(parser)
    add_plugin_options(parser)
    parser.set_defaults(func=run)


@dataclass
class PinRow:
    contract: str
    falsifier: str
    claim: str  # the current claim hash
    pin: str | None
    path: str
    line: int
    qualname: str

    @property
    def state(self) -> str:
        if self.pin is None:
            return "unpinned"
        return "ok" if self.claim.startswith(self.pin) else "CHANGED"

    @property
    def key(self) -> str:
        return f"{self.contract}::{self.falsifier}"

    def to_dict(self) -> dict[str, Any]:
        return {"contract": self.contract, "falsifier": self.falsifier, "state": self.state, "pin": self.pin,
                "claim": self.claim, "path": self.path, "line": self.line, "implementation": self.qualname}


def run(args: argparse.Namespace) -> int:
    from apr_contracts.claims import claim_hash
    from apr_contracts.commands.plugins import source_of
    from apr_contracts.loader import load_contracts
    from apr_contracts.plugins import load_plugins

    project = Project.for_command(args)
    paths = list(args.paths) or project.default_paths("contracts") or [project.root / "contracts"]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(missing_input(missing, project.paths_hint("pass contract files or folders of them")))
    loaded = load_contracts(paths, exclude=project.exclude(args.exclude))
    registry = load_plugins(plugin_settings(args)).falsifiers
    rows: list[PinRow] = []
    for contract in loaded.contracts:
        for entry in contract.falsifiers:
            spec = registry.get(str(contract.id), str(entry.id))
            if spec is None:
                continue
            path, line = source_of(spec)
            rows.append(PinRow(str(contract.id), str(entry.id), claim_hash(contract, entry), spec.pin,
                               path, line, spec.qualname))
    rows.sort(key=lambda r: (r.contract, r.falsifier))
    if args.update:
        return _update(rows, args.update, args.format)
    shown = [r for r in rows if r.state == "CHANGED"] if args.changed else rows
    changed = sum(1 for r in rows if r.state == "CHANGED")
    if args.format == "json":
        print(json.dumps({"version": 1, "pins": [r.to_dict() for r in shown]}, indent=2))
    else:
        for r in shown:
            pin = r.pin or "-"
            print(f"{r.state:<9} {r.key}  pin {pin}  claim {r.claim[:PIN_LENGTH]}  {r.path}:{r.line}")
        pinned = sum(1 for r in rows if r.pin is not None)
        print(f"{len(rows)} bound: {pinned} pinned, {changed} changed")
        if changed:
            print("review each CHANGED implementation against its new claim, then: pv pin --update CONTRACT::FALSIFIER")
    return EXIT_FINDINGS if changed else EXIT_OK


def _update(rows: list[PinRow], wanted: list[str], fmt: str) -> int:
    by_key = {r.key: r for r in rows}
    chosen: list[PinRow] = []
    for key in wanted:
        if "::" in key:
            if key not in by_key:
                raise UsageError(f"{key}: no bound implementation of that contract entry among the loaded contracts")
            chosen.append(by_key[key])
            continue
        matches = [r for r in rows if r.falsifier == key]
        if len(matches) != 1:
            found = ", ".join(r.key for r in matches) or "none"
            raise UsageError(f"{key}: {len(matches)} loaded contracts bind this id ({found}); "
                             "name it as CONTRACT::FALSIFIER")
        chosen.append(matches[0])
    updated = []
    for row in chosen:
        new_pin = row.claim[:PIN_LENGTH]
        if row.pin == new_pin:
            continue
        rewrite_pin(Path(row.path), row.line, row.falsifier, new_pin)
        updated.append({"key": row.key, "old": row.pin, "new": new_pin, "path": row.path, "line": row.line})
    if fmt == "json":
        print(json.dumps({"version": 1, "updated": updated}, indent=2))
    else:
        for u in updated:
            print(f"{u['key']}: pin {u['old'] or '(none)'} -> {u['new']}  ({u['path']}:{u['line']})")
        print(f"{len(updated)} pin(s) updated" + ("" if updated else ": already current"))
    return EXIT_OK


def rewrite_pin(path: Path, line: int, falsifier_id: str, new_pin: str) -> None:
    """Set ``pin=`` of the ``@falsifier(falsifier_id, ...)`` decorator starting at ``line`` of ``path``.

    The call is found with ``ast`` (never by pattern on text), and the file is replaced atomically.
    """
    from apr_contracts.atomic import write_text_atomic

    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the implementation's source to update its pin ({exc})") from exc
    call = next((node for node in ast.walk(tree) if isinstance(node, ast.Call) and node.lineno == line
                 and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == falsifier_id),
                None)
    if call is None or call.end_lineno is None or call.end_col_offset is None:
        raise UsageError(f"{path}:{line}: no @falsifier({falsifier_id!r}, ...) call starts here (the id must be "
                         "written in full); set pin={new_pin!r} by hand")
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for text in lines:
        offsets.append(offsets[-1] + len(text.encode("utf-8")))
    data = source.encode("utf-8")

    def at(lineno: int, col: int) -> int:  # ast columns are utf-8 byte offsets
        return offsets[lineno - 1] + col

    keyword = next((k for k in call.keywords if k.arg == "pin"), None)
    if keyword is not None:
        value = keyword.value
        assert value.end_lineno is not None and value.end_col_offset is not None
        start, end = at(value.lineno, value.col_offset), at(value.end_lineno, value.end_col_offset)
        data = data[:start] + repr(new_pin).encode() + data[end:]
    else:
        close = at(call.end_lineno, call.end_col_offset) - 1  # the call's closing parenthesis
        before = data[:close].rstrip()
        comma = b"" if before.endswith(b",") else b","
        data = before + comma + f" pin={new_pin!r}".encode() + data[close:]
    write_text_atomic(path, data.decode("utf-8"))
