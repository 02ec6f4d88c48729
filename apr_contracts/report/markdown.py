"""`--format md`: GitHub-flavoured markdown sized for a CI job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from typing import Any

from apr_contracts.report.values import counterexample, measured_vs_thresholds

STATUS_ICON = {
    "FALSIFIED": "🔴", "PROPOSED": "⚪", "PARTIAL_ALGORITHM_LEVEL": "🟡", "FUNCTIONAL": "🟢", "DISCHARGED": "✅",
}
OUTCOME_ICON = {
    "HELD": "✅", "FALSIFIED": "❌", "ERROR": "💥", "NOT_BOUND": "➖", "SKIPPED": "⏭️", "OUT_OF_SCOPE": "🚫", "PENDING": "⏳", "STALE": "🕸️",
}


def cell(value: Any, limit: int = 160) -> str:
    """One table cell: a single line, pipes escaped, HTML-significant characters neutralized."""
    text = " ".join(str(value if value is not None else "—").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|") or "—"


def code_cell(text: str) -> str:
    """``text`` as an inline code span in a table cell: spaces kept as written (they can matter in a
    counterexample), nothing inside rendered as markup; pipes escaped so the table holds."""
    text = " ".join(text.splitlines())
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


# GitHub refuses a job summary above 1 MiB; past this budget the per-falsifier sections are dropped.
SUMMARY_BUDGET_BYTES = 900_000


def render(board: Any, *, budget: int = SUMMARY_BUDGET_BYTES) -> str:
    text = _render(board, details=True)
    if len(text.encode("utf-8")) <= budget:
        return text
    note = ("\n_Per-falsifier details omitted to fit a CI job summary; "
            "see `pv scoreboard --format html` or `--format json`._\n")
    return _render(board, details=False) + note


def _render(board: Any, *, details: bool) -> str:
    lines = ["## Contract scoreboard", ""]
    totals: dict[str, int] = {}
    for c in board.contracts:
        totals[c.derived_status.value] = totals.get(c.derived_status.value, 0) + 1
    summary = ", ".join(f"{STATUS_ICON.get(k, '')} {k}: {v}" for k, v in sorted(totals.items()))
    run = board.runs[-1] if board.runs else None
    lines.append(f"{len(board.contracts)} contract(s) — {summary or 'none'}"
                 + (f" — latest run #{run.id} at {run.started_at}" if run else " — no evidence yet (run `pv run`)"))
    lines += ["", "| Contract | Version | Declared | Derived | Held | Falsified | Error | Unbound | Skipped "
              "| Pending/Stale | Levels reached | Last run | Drift |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for c in board.contracts:
        n = c.counts
        derived = c.derived_status.value
        lines.append(
            f"| `{cell(c.id)}` | {cell(c.version)} | {cell(c.declared_status)} | {STATUS_ICON.get(derived, '')} "
            f"**{derived}** | {n['held']} | {n['falsified']} | {n['error']} | {n['unbound']} | {n['skipped']} "
            f"| {n['pending']}/{n['stale']} | {cell(', '.join(c.levels_reached) or '—')} "
            f"| {f'#{c.last_run}' if c.last_run else '—'} | {'⚠️ drift' if c.drifted else ''} |"
        )
    for c in board.contracts if details else []:
        lines += ["", f"<details><summary><b>{cell(c.id)}</b> — {c.derived_status.value} "
                      f"({len(c.falsifiers)} falsifier(s))</summary>", ""]
        lines.append(f"_{cell(c.reason, 400)}_  ")
        lines.append(f"File: `{cell(c.file)}`")
        for d in c.drift:
            lines.append(f"- ⚠️ {cell(d, 400)}")
        if c.falsifiers:
            lines += ["", "| Falsifier | Level | Outcome | Impl. level | Flags | Evidence | Measured vs thresholds "
                      "| Message |", "|---|---|---|---|---|---|---|---|"]
            for f in c.falsifiers:
                flags = ", ".join(x for x, on in (("stale", f.stale), ("flaky", f.flaky)) if on)
                example = counterexample(f)
                lines.append(
                    # a no-break space ties the icon to the outcome word: the cell never wraps between them
                    f"| `{cell(f.id)}` | {f.required_level.value} | {OUTCOME_ICON.get(f.label, '')}\u00a0{f.label} "
                    f"| {f.level.value if f.level else '—'} | {flags or '—'} | {f.evidence} "
                    f"| {cell(measured_vs_thresholds(f))} "
                    f"| {cell(f.message)}{' ⚠️ cannot discharge: ' + cell(f.discharge) if f.discharge else ''}"
                    f"{' · counterexample: ' + code_cell(example[0]) if example else ''} |"
                )
        lines += ["", "</details>"]
    if getattr(board, "ship", None) is not None:
        from apr_contracts.report.ship import markdown_section

        lines += ["", markdown_section(board.ship).rstrip("\n")]
    if board.orphans:
        lines += ["", "**Implementations bound to no contract:** " + ", ".join(f"`{o}`" for o in board.orphans)]
    if board.notes:
        lines += ["", "<details><summary>Notes</summary>", ""]
        lines += [f"- {cell(n, 400)}" for n in board.notes]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
