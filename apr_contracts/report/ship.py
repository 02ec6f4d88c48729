"""Renderers of the ship board (`pv ship`): text, md, json, html, github; plus the ship-% sections
that the markdown and HTML scoreboards append when acceptance files are among their paths.

Every renderer is ``render_FORMAT(board: ShipBoard) -> str``. The HTML needs no JavaScript: the
missing evidence of each criterion is a ``<details>`` element.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from apr_contracts.acceptance.derive import CriterionResult, display_percent
from apr_contracts.report.json_report import dumps
from apr_contracts.report.markdown import cell
from apr_contracts.report.plain import visible

STATUS_ICON = {"MET": "✅", "UNMET": "⏳", "FALSIFIED": "🔴"}
STATUS_COLOR = {"MET": "#28a745", "UNMET": "#959da5", "FALSIFIED": "#d73a49"}


def _history(p: Any, limit: int = 12) -> str:
    points = [f"#{run} {display_percent(frac)}" for run, frac, _ in p.history[-limit:]]
    more = "… " if len(p.history) > limit else ""
    return more + " → ".join(points) if points else "no runs yet"


def _held(r: CriterionResult) -> str:
    held = sum(1 for n in r.needs if n.held_at_level)
    return f"{held}/{len(r.needs)} held"


def _missing_text(r: CriterionResult) -> list[str]:
    return [f"{m.falsifier or '(criterion)'}: {m.reason}: {m.detail}" for m in r.missing]


def _headline(board: Any) -> str:
    run = board.runs[-1] if board.runs else None
    where = f"evidence {board.evidence_path}" if board.evidence_path else "no evidence database yet (run `pv run`)"
    return f"{len(board.products)} product(s); {where}" + (f"; latest run #{run.id}" if run else "")


def render_text(board: Any) -> str:
    lines = [f"pv ship: {_headline(board)}"]
    for p in board.products:
        lines += ["", f"{p.id}  {p.percent} %  ({len(p.met)} of {len(p.criteria)} criteria met)"
                  + (f"  {p.spec.title}" if p.spec.title else "")]
        width = max((len(r.spec.id) for r in p.criteria), default=0)
        for r in p.criteria:
            flags = f"w{_num(r.spec.weight)}" + (" live" if r.spec.live else "")
            lines.append(f"  {r.status.value:<9} {r.spec.id:<{width}}  {flags:<8} {_held(r):<10} {r.spec.title or ''}".rstrip())
            lines += [f"{'':14}missing {m}" for m in _missing_text(r)]
        lines.append(f"  history: {_history(p)}")
        lines += [f"  drift: {d}" for d in p.drift]
    lines += [f"note: {n}" for n in board.notes]
    return visible("\n".join(lines) + "\n")  # titles and ids from files: data, never terminal codes


def _num(value: Any) -> str:
    f = float(value)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def markdown_section(board: Any, heading: str = "##") -> str:
    lines = [f"{heading} Ship-% (acceptance criteria)", "", _headline(board)]
    for p in board.products:
        lines += ["", f"**{cell(p.id)}** — **{p.percent} %** ({len(p.met)} of {len(p.criteria)} criteria met)"
                  + (f" — {cell(p.spec.title)}" if p.spec.title else ""), "",
                  "| Criterion | Status | Weight | Live | Falsifiers | Missing |", "|---|---|---:|---|---|---|"]
        for r in p.criteria:
            missing = "<br>".join(cell(m, 200) for m in _missing_text(r)[:8])
            if len(r.missing) > 8:
                missing += f"<br>… {len(r.missing) - 8} more"
            lines.append(f"| `{cell(r.spec.id)}` {cell(r.spec.title or '')} | {STATUS_ICON[r.status.value]} "
                         f"{r.status.value} | {_num(r.spec.weight)} | {'yes' if r.spec.live else ''} | {_held(r)} "
                         f"| {missing or '—'} |")
        lines += ["", f"History: {cell(_history(p))}"]
        lines += [f"- ⚠️ drift: `{cell(d.file)}:{d.line}` {cell(d.message, 400)}" for d in p.drift]
    return "\n".join(lines) + "\n"


def render_md(board: Any) -> str:
    notes = "".join(f"- {cell(n, 400)}\n" for n in board.notes)
    return markdown_section(board) + (f"\n{notes}" if notes else "")


def render_json(board: Any) -> str:
    return dumps(board.to_dict())


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def html_section(board: Any) -> str:
    """A ``<section id="ship">``: per product its ship-%, criteria table and history; no script needed."""
    parts = ['<section id="ship"><h2>Ship-% (acceptance criteria)</h2>', f'<p class="muted">{_e(_headline(board))}</p>']
    for p in board.products:
        parts.append(f'<h3 class="product" data-product="{_e(p.id)}">{_e(p.id)} — '
                     f'<span class="ship-percent">{_e(p.percent)} %</span> '
                     f'<span class="muted">({len(p.met)} of {len(p.criteria)} criteria met) {_e(p.spec.title or "")}</span></h3>')
        rows = []
        for r in p.criteria:
            s = r.status.value
            badge = f'<span class="badge" style="background:{STATUS_COLOR[s]}">{_e(s)}</span>'
            missing = ""
            if r.missing:
                items = "".join(f"<li>{_e(m)}</li>" for m in _missing_text(r))
                missing = f"<details><summary>{len(r.missing)} missing</summary><ul>{items}</ul></details>"
            needs = ", ".join(f'<span class="o-{_e(n.label)}">{_e(n.id)}</span>' for n in r.needs)
            rows.append(f'<tr class="criterion-row" data-criterion="{_e(r.spec.id)}" data-status="{_e(s)}">'
                        f"<td>{_e(r.spec.id)}</td><td>{_e(r.spec.title or '')}</td><td>{badge}</td>"
                        f'<td class="num">{_e(_num(r.spec.weight))}</td><td>{"live" if r.spec.live else ""}</td>'
                        f"<td>{_e(_held(r))}<div class=\"muted\">{needs}</div></td><td>{missing}</td></tr>")
        parts.append('<div class="scroll"><table class="criteria"><thead><tr><th>criterion</th><th>title</th>'
                     "<th>status</th><th>weight</th><th>live</th><th>falsifiers</th><th>missing</th></tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table></div>")
        parts.append(f'<p class="muted">history: {_e(_history(p, 25))}</p>')
        parts += [f'<div class="drift">drift: {_e(d)}</div>' for d in p.drift]
    parts.append("</section>")
    return "".join(parts)


def render_html(board: Any) -> str:
    from apr_contracts.report.html import CSS

    notes = "".join(f"<li>{_e(n)}</li>" for n in board.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>pv ship</title><style>{CSS}</style></head>
<body>
<h1>Release readiness</h1>
{html_section(board)}
{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}
</body></html>
"""


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(board: Any) -> str:
    """``::error`` per FALSIFIED criterion, ``::warning`` per drift, one ``::notice`` per product."""
    lines = []
    for p in board.products:
        for r in p.criteria:
            if r.status.value == "FALSIFIED":
                bad = ", ".join(m.falsifier or "" for m in r.missing if m.reason == "falsified")
                lines.append(f"::error file={_prop(r.spec.file)},line={r.spec.line},title={_prop(r.spec.id + ' FALSIFIED')}"
                             f"::{_data(f'{bad} found a counterexample')}")
        for d in p.drift:
            lines.append(f"::warning file={_prop(d.file)},line={d.line},title={_prop(p.id + ' status drift')}::{_data(d.message)}")
        lines.append(f"::notice title={_prop('pv ship ' + p.id)}::"
                     f"{_data(f'{p.percent} % ({len(p.met)} of {len(p.criteria)} criteria met)')}")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Any], str]] = {
    "text": render_text, "md": render_md, "json": render_json, "html": render_html, "github": render_github,
}
