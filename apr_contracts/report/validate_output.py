"""Renderers for `pv validate` findings: text (rich), json (versioned), github (workflow annotations)."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apr_contracts.validate import ValidationReport

FORMATS = ("text", "json", "github")


def _in_files(summary: dict[str, Any]) -> str:
    """Which files the errors are in: a file that failed to parse has no contract to name it by."""
    files = list(summary.get("files_with_errors") or [])
    return f" (in {', '.join(map(str, files))})" if files and len(files) <= 3 else (
        f" (in {len(files)} files)" if files else "")


def render_json(report: ValidationReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: ValidationReport) -> str:
    """One `::error`/`::warning`/`::notice` line per issue (GitHub Actions annotations)."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for i in report.issues:
        props = [f"file={_escape_prop(i.file)}"]
        if i.line:
            props.append(f"line={i.line}")
        if i.column:
            props.append(f"col={i.column}")
        props.append(f"title={_escape_prop(i.code)}")
        body = i.message + (f"\n{i.hint}" if i.hint else "")
        lines.append(f"::{level[i.severity.value]} {','.join(props)}::{_escape_data(body)}")
    s = report.summary
    lines.append(f"pv validate: {s['errors']} errors{_in_files(s)}, {s['warnings']} warnings in {s['contracts']} contracts")
    return "\n".join(lines)


def render_text(report: ValidationReport, stream: IO[str] | None = None) -> None:
    """One line per issue (and its hint), then the verdict. Coloured through rich on a terminal;
    written as plain lines otherwise (CI logs, files): rich's rendering was 3/4 of the time of a
    validation with 11k issues, for output nobody sees in colour."""
    import os
    import sys

    target = stream or sys.stdout
    if getattr(target, "isatty", lambda: False)() and not os.environ.get("NO_COLOR"):
        _render_rich(report, target)
        return
    from apr_contracts.report.plain import visible

    lines = []
    for i in report.issues:
        where = f"{i.file}:{i.line}:{i.column}" if i.line else i.file
        lines.append(f"{where}: {i.severity.value} {i.code} {i.message}")
        if i.hint:
            lines.append(f"    hint: {i.hint}")
    lines += [f"skipped {item['file']}: {item['reason']}" for item in report.summary["skipped"]]
    lines.append(_verdict(report.summary, lambda text, style: text))
    target.write(visible("\n".join(lines) + "\n"))
    target.flush()


def _verdict(s: dict[str, Any], styled: Any, esc: Any = str) -> str:
    verdict = styled("FAILED", "bold red") if s["errors"] else styled("OK", "bold green")
    extra = f", {s['suppressed']} suppressed" if s["suppressed"] else ""
    mode = " (strict)" if s["strict"] else ""
    accepted = f" and {s['acceptance_files']} acceptance file(s)" if s.get("acceptance_files") else ""
    return (f"{verdict}{mode}: {s['contracts']} contracts{accepted} in {s['files']} files, "
            f"{s['errors']} errors{esc(_in_files(s))}, {s['warnings']} warnings, {s['infos']} infos{extra}, "
            f"{len(s['skipped'])} skipped")


def _render_rich(report: ValidationReport, stream: IO[str]) -> None:
    from rich.markup import escape

    from apr_contracts.report.plain import safe_console

    with safe_console(stream, soft_wrap=True) as console:
        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}
        for i in report.issues:
            where = f"{i.file}:{i.line}:{i.column}" if i.line else i.file
            console.print(f"[bold]{escape(where)}[/]: [{style[i.severity.value]}]{i.severity.value}[/] "
                          f"[magenta]{escape(i.code)}[/] {escape(i.message)}")
            if i.hint:
                console.print(f"    [dim]hint: {escape(i.hint)}[/]")
        for item in report.summary["skipped"]:
            console.print(f"[dim]skipped {escape(item['file'])}: {escape(item['reason'])}[/]")
        console.print(_verdict(report.summary, lambda text, st: f"[{st}]{text}[/]", escape))
