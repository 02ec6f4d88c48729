"""`--format text`: rich tables for terminals (plain text when not a TTY or NO_COLOR is set)."""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {
    "FALSIFIED": "bold red", "PROPOSED": "dim", "PARTIAL_ALGORITHM_LEVEL": "yellow",
    "FUNCTIONAL": "green", "DISCHARGED": "bold green",
}
OUTCOME_STYLE = {
    "HELD": "green", "FALSIFIED": "bold red", "ERROR": "magenta", "NOT_BOUND": "dim",
    "SKIPPED": "cyan", "PENDING": "dim", "STALE": "yellow",
}


def _console(color: bool, width: int | None) -> Console:
    if width is None:
        # Rendering into a buffer hides the terminal from rich: size to the real terminal when there is one.
        width = max(shutil.get_terminal_size((160, 40)).columns, 100) if color else 160
    return Console(
        file=io.StringIO(), width=width, color_system="standard" if color else None,
        force_terminal=color, highlight=False, soft_wrap=False,
    )


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _measured_vs_thresholds(f: Any) -> str:
    parts = []
    for t in f.thresholds:
        got = f.measured.get(t.get("metric"), "—")
        if isinstance(got, float):
            got = f"{got:.6g}"
        parts.append(f"{t.get('metric')}={got} (need {t.get('op')} {t.get('value')})")
    extra = {k: v for k, v in f.measured.items() if k not in {t.get("metric") for t in f.thresholds}}
    if extra:
        parts.append(_short(extra, 50))
    return "; ".join(parts)


def render(board: Any, *, color: bool = False, width: int | None = None) -> str:
    console = _console(color, width)
    table = Table(title="Contracts", title_justify="left")
    for column in ("contract", "version", "declared", "derived", "held", "falsified", "error",
                   "unbound", "skipped", "pending/stale", "levels", "last run", "drift"):
        table.add_column(column, overflow="fold", no_wrap=column in ("contract", "derived"))
    for c in board.contracts:
        n = c.counts
        table.add_row(
            c.id, c.version or "—", c.declared_status or "—",
            Text(c.derived_status.value, style=STATUS_STYLE.get(c.derived_status.value, "")),
            str(n["held"]), str(n["falsified"]), str(n["error"]), str(n["unbound"]), str(n["skipped"]),
            f"{n['pending']}/{n['stale']}", ", ".join(c.levels_reached) or "—",
            f"#{c.last_run}" if c.last_run else "—", "DRIFT" if c.drifted else "",
        )
    console.print(table)
    for c in board.contracts:
        console.print()
        console.print(Text(f"{c.id}  ({c.file})", style="bold"))
        console.print(f"  {c.reason}")
        for d in c.drift:
            console.print(Text(f"  drift: {d}", style="yellow"))
        if c.falsifiers:
            console.print(falsifier_table(c.falsifiers))
    if board.orphans:
        console.print()
        console.print(Text("Implementations bound to no contract: " + ", ".join(board.orphans), style="yellow"))
    for note in board.notes:
        console.print(Text(f"note: {note}", style="dim"))
    if board.evidence_path is None:
        console.print(Text("no evidence database yet: run `pv run` first", style="dim"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out)


def falsifier_table(falsifiers: Any, *, show_message: bool = True) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("falsifier", "level", "outcome", "impl", "flags", "measured vs thresholds", "message"):
        if column != "message" or show_message:
            table.add_column(column, overflow="fold")
    for f in falsifiers:
        flags = ",".join(x for x, on in (("stale", f.stale), ("flaky", f.flaky)) if on)
        if f.outcome is not None and f.latest_outcome is not None and f.latest_outcome is not f.outcome:
            flags = ",".join(filter(None, [flags, f"latest={f.latest_outcome.value}"]))
        row = [f.id, f.required_level.value, Text(f.label, style=OUTCOME_STYLE.get(f.label, "")),
               f.level.value if f.level else "—", flags, _measured_vs_thresholds(f)]
        if show_message:
            row.append(_short(f.message, 80))
        table.add_row(*row)
    return table


def render_contract(row: Any, *, color: bool = False, width: int | None = None) -> str:
    """`pv status CONTRACT`: one contract in detail, with each falsifier's history."""
    console = _console(color, width)
    console.print(Text(f"{row.id}  v{row.version or '?'}  ({row.file})", style="bold"))
    console.print(Text.assemble("derived status: ", (row.derived_status.value,
                                STATUS_STYLE.get(row.derived_status.value, "")),
                                f"   declared: {row.declared_status or '—'}"))
    console.print(f"why: {row.reason}")
    for d in row.drift:
        console.print(Text(f"drift: {d}", style="yellow"))
    for f in row.falsifiers:
        console.print()
        console.print(Text.assemble((f.id, "bold"), "  ", (f.label, OUTCOME_STYLE.get(f.label, "")),
                                    f"  required level {f.required_level.value}",
                                    f", implementation level {f.level.value}" if f.level else "",
                                    "  [FLAKY]" if f.flaky else "", "  [STALE]" if f.stale else ""))
        if f.bound is False:
            console.print("  no implementation is registered for this id")
        if f.thresholds or f.measured:
            console.print(f"  measured: {_measured_vs_thresholds(f) or '—'}")
        if f.message:
            console.print(f"  message: {f.message}")
        if f.counterexample is not None:
            console.print(f"  counterexample: {_short(f.counterexample, 300)}")
        if f.traceback:
            console.print("  traceback (last lines):")
            for line in f.traceback.strip().splitlines()[-6:]:
                console.print(f"    {line}")
        if f.history:
            usual = f.history[-1].engines
            points = [f"#{h.run_id}:{h.outcome.value}{'' if h.current else '(old claim)'}"
                      + ("" if h.engines == usual else "(" + ",".join(f"{k}={v}" for k, v in h.engines.items()) + ")")
                      for h in f.history[-12:]]
            console.print("  history: " + " ".join(points))
        console.print(f"  claim hash: {f.claim_hash[:16]}…" + (f"   test: {f.test}" if f.test else ""))
    return str(console.file.getvalue())  # type: ignore[attr-defined]
