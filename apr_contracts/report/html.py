"""`--format html`: one self-contained page (inline CSS, JS and SVG; nothing fetched from the network).

Everything is rendered here, so the page reads the same with JavaScript disabled: each contract
row is marked ▸ and followed by a ``<details>`` holding its falsifiers, the status-history grid and
the chart (inline SVG, derived statuses per run, stacked) are plain markup. The inline script only
enhances: a click on a contract row opens its details, and a filter box. The board's JSON is
embedded too (``<script type="application/json">``) for tools that scrape the page.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from apr_contracts.report.json_report import jsonable
from apr_contracts.report.values import counterexample, measured_vs_thresholds

STATUS_COLORS = {
    "FALSIFIED": "#d73a49", "PROPOSED": "#959da5", "PARTIAL_ALGORITHM_LEVEL": "#dbab09",
    "FUNCTIONAL": "#28a745", "DISCHARGED": "#0b6e2e",
}
LADDER = ["FALSIFIED", "PROPOSED", "PARTIAL_ALGORITHM_LEVEL", "FUNCTIONAL", "DISCHARGED"]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#24292e;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#586069;margin-bottom:12px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e1e4e8;padding:4px 6px;text-align:left;
vertical-align:top}th{background:#f6f8fa;font-weight:600;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.contract-row td:first-child,tr.history-row td:first-child{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;white-space:nowrap}
td.outcome{white-space:nowrap}.counterexample{color:#586069}.counterexample code{font-size:12px;overflow-wrap:anywhere}
tr.contract-row{cursor:pointer}tr.contract-row:hover{background:#f1f8ff}
.marker{display:inline-block;width:1em;color:#0366d6}
tr.detail td{background:#fafbfc;padding:2px 8px 6px 28px}tr.detail table{font-size:13px}
tr.detail summary{cursor:pointer;color:#0366d6}details[open]>summary{margin-bottom:6px}
.drift{color:#b08800;font-weight:600}.muted{color:#6a737d}
.o-HELD{color:#22863a;font-weight:600}.o-FALSIFIED{color:#cb2431;font-weight:700}.o-ERROR{color:#6f42c1;font-weight:600}
.o-SKIPPED,.o-NOT_BOUND,.o-OUT_OF_SCOPE,.o-PENDING{color:#6a737d}.o-STALE{color:#b08800}
#filter{padding:5px 8px;width:320px;border:1px solid #d1d5da;border-radius:6px;margin-bottom:8px}
.cell{display:inline-block;width:14px;height:14px;margin-right:2px;border-radius:2px}
.legend span{margin-right:14px;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
/* the contract row's own third cell only: a bare `#contracts td:nth-child(3)` also broke the nested
   falsifier tables' outcome words ("FALSIFIE/D") */
#contracts tr.contract-row>td:nth-child(3){overflow-wrap:anywhere;max-width:14em}
h3.product{font-size:15px;margin:16px 0 6px}.ship-percent{font-size:18px;font-weight:700}
"""

JS = """
(function(){
  // Enhancement only: the page is complete without it (rows, <details>, history are server-rendered).
  document.querySelectorAll('#contracts tr.contract-row').forEach(function(row){
    var details=document.getElementById(row.getAttribute('aria-controls'));
    var marker=row.querySelector('.marker');
    function sync(){row.setAttribute('aria-expanded',String(details.open));marker.textContent=details.open?'\u25be':'\u25b8';}
    function toggle(){details.open=!details.open;sync();}
    row.addEventListener('click',function(e){if(!e.target.closest('a')){toggle();}});
    row.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();toggle();}});
    details.addEventListener('toggle',sync);
  });
  var filter=document.getElementById('filter');
  filter.hidden=false;  // useless without JS, so only shown with it
  filter.addEventListener('input',function(){var q=filter.value.toLowerCase();
    document.querySelectorAll('#contracts tbody.contract').forEach(function(b){
      b.hidden=b.querySelector('tr.contract-row').textContent.toLowerCase().indexOf(q)<0;});});
  document.body.setAttribute('data-rendered', String(document.querySelectorAll('#contracts tr.contract-row').length));
})();
"""

CONTRACT_COLUMNS = ("contract", "version", "declared", "derived", "held", "falsified", "error", "unbound",
                    "skipped", "pending/stale", "levels", "last run", "drift")
FALSIFIER_COLUMNS = ("falsifier", "level", "outcome", "impl. level", "flags", "evidence", "measured vs thresholds",
                     "message")
DASH = "\u2014"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _e(value: Any) -> str:
    """Escaped text; control characters (ANSI colours, NUL from a message) are dropped, not rendered."""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def _falsifier_row(f: Any) -> str:
    flags = ", ".join(x for x, on in (("stale", f.stale), ("flaky", f.flaky)) if on)
    cells = [f.id, f.required_level.value, f.label, f.level.value if f.level else DASH, flags or DASH, f.evidence]
    tds = "".join(f'<td class="outcome o-{_e(f.label)}">{_e(v)}</td>' if j == 2 else f"<td>{_e(v)}</td>"
                  for j, v in enumerate(cells))
    measured = measured_vs_thresholds(f)
    # Rounded for reading; the full values (as the JSON keeps them) on hover.
    tds += (f'<td class="measured" title="{_e(measured_vs_thresholds(f, full=True))}">{_e(measured)}</td>'
            if measured else f"<td>{DASH}</td>")
    message = _e((f.message or "") + (f" — cannot discharge: {f.discharge}" if f.discharge else ""))
    example = counterexample(f)
    if example is not None:
        shown, full = example
        message += (f'{" " if message else ""}<span class="counterexample" title="{_e(full)}">'
                    f"counterexample: <code>{_e(shown)}</code></span>")
    return f'<tr class="falsifier-row" data-falsifier="{_e(f.id)}">{tds}<td>{message}</td></tr>'


def _contract_body(i: int, c: Any) -> str:
    """One <tbody> per contract: its summary row, then a row whose <details> holds the falsifiers.

    <details> opens without JavaScript; the script only lets a click on the summary row open it too.
    """
    n = c.counts
    status = c.derived_status.value
    badge = f'<span class="badge" style="background:{STATUS_COLORS.get(status, "#586069")}">{_e(status)}</span>'
    drift = f'<td class="drift" title="{_e(chr(10).join(c.drift))}">drift</td>' if c.drift else "<td></td>"
    cells = [
        f'<td><span class="marker" aria-hidden="true">\u25b8</span> {_e(c.id)}</td>',
        f"<td>{_e(c.version or DASH)}</td>", f"<td>{_e(c.declared_status or DASH)}</td>", f"<td>{badge}</td>",
        *(f'<td class="num">{n[k]}</td>' for k in ("held", "falsified", "error", "unbound", "skipped")),
        f"<td>{n['pending']}/{n['stale']}</td>", f"<td>{_e(', '.join(c.levels_reached) or DASH)}</td>",
        f"<td>{_e(f'#{c.last_run}' if c.last_run else DASH)}</td>", drift,
    ]
    row = (f'<tr class="contract-row" data-contract="{_e(c.id)}" data-status="{_e(status)}" '
           f'aria-controls="details-{i}" aria-expanded="false" tabindex="0" '
           f'title="show the falsifiers">{"".join(cells)}</tr>')
    drifts = "".join(f'<div class="drift">drift: {_e(d)}</div>' for d in c.drift)
    head = "".join(f"<th>{h}</th>" for h in FALSIFIER_COLUMNS)
    falsifiers = "".join(_falsifier_row(f) for f in c.falsifiers)
    summary = f"details: {len(c.falsifiers)} falsifier(s) of {_e(c.id)}"
    detail = (f'<tr class="detail" data-contract="{_e(c.id)}"><td colspan="{len(CONTRACT_COLUMNS)}">'
              f'<details id="details-{i}"><summary>{summary}</summary>'
              f'<div class="muted">{_e(c.reason)} {DASH} {_e(c.file)}</div>{drifts}'
              f'<table class="falsifiers"><thead><tr>{head}</tr></thead><tbody>{falsifiers}</tbody></table>'
              "</details></td></tr>")
    return f'<tbody class="contract" data-contract="{_e(c.id)}">{row}{detail}</tbody>'


def _history_row(c: Any) -> str:
    cells = "".join(f'<span class="cell" title="run #{run}: {_e(s.value)}" '
                    f'style="background:{STATUS_COLORS.get(s.value, "#586069")}"></span>' for run, s in c.status_history)
    return f'<tr class="history-row" data-contract="{_e(c.id)}"><td>{_e(c.id)}</td><td>{cells or "no runs yet"}</td></tr>'


def _script_json(data: Any) -> str:
    """JSON safe inside <script>: `<` escaped so no `</script>` or `<!--` can end the block early."""
    text = json.dumps(jsonable(data), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def chart_svg(board: Any, width: int = 900, height: int = 260) -> str:
    """Stacked bars: how many contracts had each derived status after each run."""
    runs = [r.id for r in board.runs]
    left, bottom, top = 40, 30, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    total = max(len(board.contracts), 1)
    parts = [f'<svg id="status-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Derived status of contracts per run">']
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#959da5"/>')
    for tick in sorted({0, total // 2, total}):
        y = top + plot_h - plot_h * tick / total
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#586069">{tick}</text>')
    if not runs:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#586069">'
                     "no runs recorded yet</text></svg>")
        return "".join(parts)
    slot = plot_w / len(runs)
    bar = max(min(slot * 0.7, 40), 2)
    for i, run_id in enumerate(runs):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for status in LADDER:
            count = sum(1 for c in board.contracts for r, s in c.status_history if r == run_id and s.value == status)
            if not count:
                continue
            h = plot_h * count / total
            y -= h
            parts.append(f'<rect class="bar" data-run="{run_id}" data-status="{status}" x="{x:.1f}" y="{y:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}" fill="{STATUS_COLORS[status]}">'
                         f"<title>run #{run_id}: {count} {status}</title></rect>")
        if len(runs) <= 25 or i % max(len(runs) // 25, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                         f'fill="#586069">#{run_id}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(board: Any) -> str:
    data = board.to_dict()
    totals: dict[str, int] = {}
    for c in board.contracts:
        totals[c.derived_status.value] = totals.get(c.derived_status.value, 0) + 1
    legend = "".join(
        f'<span><i class="cell" style="background:{STATUS_COLORS[s]}"></i>{s} ({totals.get(s, 0)})</span>'
        for s in LADDER
    )
    last = board.runs[-1] if board.runs else None
    meta = (f"{len(board.contracts)} contracts · generated {html.escape(board.generated_at)} · "
            + (f"latest run #{last.id} ({html.escape(last.started_at)})" if last else "no evidence yet: run pv run"))
    orphans = ""
    if board.orphans:
        orphans = ('<p class="drift">Implementations bound to no contract: '
                   + ", ".join(html.escape(o) for o in board.orphans) + "</p>")
    headers = "".join(f"<th>{h}</th>" for h in CONTRACT_COLUMNS)
    bodies = "".join(_contract_body(i, c) for i, c in enumerate(board.contracts))
    history = "".join(_history_row(c) for c in board.contracts)
    ship = ""
    if getattr(board, "ship", None) is not None:
        from apr_contracts.report.ship import html_section

        ship = html_section(board.ship)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>pv scoreboard</title><style>{CSS}</style></head>
<body>
<h1>Contract scoreboard</h1>
<div class="meta">{meta}</div>
<div class="legend">{legend}</div>
<h2>Contracts</h2>
<p class="muted">Rows marked \u25b8 expand to their falsifiers: click the row or its \u201cdetails\u201d line.</p>
<input id="filter" type="search" placeholder="filter contracts…" aria-label="filter contracts" hidden>
<div class="scroll"><table id="contracts"><thead><tr>{headers}</tr></thead>{bodies}</table></div>
{orphans}
{ship}
<h2>Status history over runs</h2>
{chart_svg(board)}
<table id="history"><thead><tr><th>contract</th><th>derived status after each run (oldest → newest)</th></tr></thead>
<tbody>{history}</tbody></table>
<script type="application/json" id="board-data">{_script_json(data)}</script>
<script>{JS}</script>
</body></html>
"""
