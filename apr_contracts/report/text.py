"""`--format text`: rich output for terminals (plain text when not a TTY or NO_COLOR is set).

Laid out so that no word is ever broken mid-word: a compact contracts table when it fits the
width, otherwise one stacked block per contract; each falsifier is a line of short fields with
its measured values and message on indented lines of their own (long values wrap at spaces).
"""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from apr_contracts.report.plain import visible

STATUS_STYLE = {
    "FALSIFIED": "bold red", "PROPOSED": "dim", "PARTIAL_ALGORITHM_LEVEL": "yellow",
    "FUNCTIONAL": "green", "DISCHARGED": "bold green",
}
OUTCOME_STYLE = {
    "HELD": "green", "FALSIFIED": "bold red", "ERROR": "magenta", "NOT_BOUND": "dim",
    "SKIPPED": "cyan", "OUT_OF_SCOPE": "dim", "PENDING": "dim", "STALE": "yellow",
}
LEVEL_ABBREV = {"algorithm": "alg", "integration": "int", "live": "live"}
COUNTS_HEADER = "H/F/E/S/P"  # explained by a legend line under the table
# Below this width the contracts table is never used, even when its columns would squeeze in.
TABLE_MIN_WIDTH = 100
TABLE_COLUMNS = ("contract", "derived", "declared", COUNTS_HEADER, "lvl", "run")
NO_WRAP = ("contract", "derived", "run")  # single words: the table is only used when they fit whole
INDENT = 6  # falsifier detail lines (measured, message) under their falsifier


def _output(console: Console, color: bool) -> str:
    """What was rendered, with the data's control characters shown as escapes (report.plain)."""
    return visible(str(console.file.getvalue()), keep_sgr=color)  # type: ignore[attr-defined]


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
        parts.append(_short(extra, 120))
    return "; ".join(parts)


def _counts_cell(n: dict[str, int]) -> str:
    """held/fals/err/skip/pend; pend counts everything still waiting for a current result."""
    cell = f"{n['held']}/{n['falsified']}/{n['error']}/{n['skipped']}/{n['pending'] + n['stale'] + n['unbound']}"
    extra = [f"{n[k]} {k}" for k in ("unbound", "stale") if n[k]]
    return cell + (" (" + ", ".join(extra) + ")" if extra else "")


def _levels(c: Any) -> str:
    return " ".join(LEVEL_ABBREV.get(level, level) for level in c.levels_reached) or "—"


def _status_text(c: Any) -> Text:
    return Text(c.derived_status.value, style=STATUS_STYLE.get(c.derived_status.value, ""))


def _contracts_table(board: Any) -> Table:
    table = Table(title="Contracts", title_justify="left", box=None, pad_edge=False,
                  header_style="bold underline")
    for column in TABLE_COLUMNS:
        table.add_column(column, no_wrap=column in NO_WRAP)
    for cells in _table_cells(board):
        table.add_row(*cells)
    return table


def _table_cells(board: Any) -> list[list[str | Text]]:
    rows: list[list[str | Text]] = []
    for c in board.contracts:
        declared = (c.declared_status or "—") + (" DRIFT" if c.drifted else "")
        rows.append([c.id, _status_text(c), declared, _counts_cell(c.counts), _levels(c),
                     f"#{c.last_run}" if c.last_run else "—"])
    return rows


def _table_fits(board: Any, width: int) -> bool:
    """True when every column can get its longest word (rich folds or elides words only below that).

    Computed here because rich clamps a table's measured minimum to the available width.
    """
    if width < TABLE_MIN_WIDTH:
        return False
    total = 2 * (len(TABLE_COLUMNS) - 1)  # box=None, padding (0, 1), no edge padding
    for i, header in enumerate(TABLE_COLUMNS):
        cells = [header] + [str(row[i]) for row in _table_cells(board)]
        total += max(len(cell) if header in NO_WRAP else max(map(len, cell.split() or [""])) for cell in cells)
    return total <= width


def _contract_block(c: Any) -> list[RenderableType]:
    n = c.counts
    first = Text.assemble((c.id, "bold"), "  ", _status_text(c))
    second = (f"v{c.version or '?'}  held {n['held']} · falsified {n['falsified']} · error {n['error']}"
              f" · skipped {n['skipped']} · pending {n['pending']}"
              + "".join(f" · {k} {n[k]}" for k in ("unbound", "stale") if n[k])
              + f"  declared {c.declared_status or '—'}" + ("  DRIFT" if c.drifted else "")
              + f"  levels {_levels(c)}  run {'#' + str(c.last_run) if c.last_run else '—'}")
    return [first, Padding(Text(second), (0, 0, 0, 2))]


def render(board: Any, *, color: bool = False, width: int | None = None) -> str:
    console = _console(color, width)
    if _table_fits(board, console.width):
        console.print(_contracts_table(board))
        console.print(Text(f"{COUNTS_HEADER} = held/falsified/error/skipped/pending (incl. not-bound, stale);"
                           " lvl = levels held", style="dim"))
    else:
        console.print(Text("Contracts", style="bold underline"))
        for c in board.contracts:
            for part in _contract_block(c):
                console.print(part)
    for c in board.contracts:
        console.print()
        console.print(Text.assemble((c.id, "bold"), f"  v{c.version or '?'}  ({c.file})"))
        console.print(Padding(Text(c.reason), (0, 0, 0, 2)))
        for d in c.drift:
            console.print(Padding(Text(f"drift: {d}", style="yellow"), (0, 0, 0, 2)))
        for part in falsifier_lines(c.falsifiers, console.width):
            console.print(part)
    if board.orphans:
        console.print()
        console.print(Text("Implementations bound to no contract: " + ", ".join(board.orphans), style="yellow"))
    for note in board.notes:
        console.print(Text(f"note: {note}", style="dim"))
    if board.evidence_path is None:
        console.print(Text("no evidence database yet: run `pv run` first", style="dim"))
    out = _output(console, color)
    # Padding fills lines to the width with spaces: drop them so copied text stays clean.
    return "".join(line.rstrip() + "\n" for line in out.splitlines())


def _flags(f: Any) -> str:
    flags = ",".join(x for x, on in (("stale", f.stale), ("flaky", f.flaky)) if on)
    if f.outcome is not None and f.latest_outcome is not None and f.latest_outcome is not f.outcome:
        flags = ",".join(filter(None, [flags, f"latest={f.latest_outcome.value}"]))
    return flags


def falsifier_lines(falsifiers: Any, width: int, *, show_message: bool = True) -> list[RenderableType]:
    """One aligned line of short fields per falsifier, then its measured values and message indented.

    The fields (id, required level, outcome, implementation level, evidence: fresh or reused #N,
    flags) are padded into columns when a line fits the width; otherwise each falsifier's line is
    its id and outcome, with the rest on the next line.
    """
    rows = [(f.id, f.required_level.value, f.label, f.level.value if f.level else "—", f.evidence, _flags(f))
            for f in falsifiers]
    if not rows:
        return []
    header = ("falsifier", "level", "outcome", "impl", "evidence", "flags")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    aligned = sum(widths) + 2 * (len(header) - 1) + 2 <= width
    out: list[RenderableType] = []
    if aligned:
        out.append(Text("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
                        style="dim"))
    for f, row in zip(falsifiers, rows, strict=True):
        outcome = (row[2].ljust(widths[2]) if aligned else row[2], OUTCOME_STYLE.get(row[2], ""))
        if aligned:
            line = Text.assemble("  ", row[0].ljust(widths[0]), "  ", row[1].ljust(widths[1]), "  ", outcome,
                                 "  ", row[3].ljust(widths[3]), "  ", row[4].ljust(widths[4]), "  ", row[5])
            line.rstrip()
            out.append(line)
        else:
            out.append(Text.assemble("  ", row[0], "  ", outcome))
            rest = f"level {row[1]}, impl {row[3]}, {row[4]}" + (f", {row[5]}" if row[5] else "")
            out.append(Padding(Text(rest), (0, 0, 0, INDENT)))
        measured = _measured_vs_thresholds(f)
        if measured:
            out.append(Padding(Text(f"measured: {measured}"), (0, 0, 0, INDENT)))
        if show_message and f.message:
            out.append(Padding(Text(f"message: {_short(f.message, 300)}"), (0, 0, 0, INDENT)))
        if f.discharge:
            out.append(Padding(Text(f"cannot discharge: {f.discharge}", style="yellow"), (0, 0, 0, INDENT)))
    return out
def render_contract(row: Any, *, color: bool = False, width: int | None = None) -> str:
    """`pv status CONTRACT`: one contract in detail, with each falsifier's history."""
    console = _console(color, width)
    console.print(Text(f"{row.id}  v{row.version or '?'}  ({row.file})", style="bold"))
    console.print(Text.assemble("derived status: ", (row.derived_status.value,
                                STATUS_STYLE.get(row.derived_status.value, "")),
                                f"   declared: {row.declared_status or '—'}"))
    console.print(Text(f"why: {row.reason}"))
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
            console.print(Text(f"  measured: {_measured_vs_thresholds(f) or '—'}"))
        if f.message:
            console.print(Text(f"  message: {f.message}"))
        if f.discharge:
            console.print(Text(f"  cannot discharge: {f.discharge}", style="yellow"))
        if f.counterexample is not None:
            console.print(Text(f"  counterexample: {_short(f.counterexample, 300)}"))
        if f.traceback:
            console.print("  traceback (last lines):")
            for line in f.traceback.strip().splitlines()[-6:]:
                console.print(Text(f"    {line}"))
        if f.run_id is not None:
            origin = (f"reused from run #{f.reused_from} (claim and code unchanged)" if f.reused_from is not None
                      else "executed in that run")
            console.print(f"  evidence: run #{f.run_id}, {origin}")
        if f.history:
            usual = f.history[-1].engines
            points = [f"#{h.run_id}:{h.outcome.value}{'' if h.current else '(old claim)'}"
                      + ("" if h.engines == usual else "(" + ",".join(f"{k}={v}" for k, v in h.engines.items()) + ")")
                      for h in f.history[-12:]]
            console.print(Text("  history: " + " ".join(points)))
        console.print(Text(f"  claim hash: {f.claim_hash[:16]}…" + (f"   test: {f.test}" if f.test else "")))
    return _output(console, color)
