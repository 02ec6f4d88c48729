"""`--format html`: one self-contained page (inline CSS, JS and SVG; nothing fetched from the network).

The board's JSON is embedded in a ``<script type="application/json">`` block; the
inline script renders the contract table (filterable, rows expand to their
falsifiers) and the status-history grid from it. The chart — derived statuses
per run, stacked — is inline SVG computed here, so it shows even without JS.
"""

from __future__ import annotations

import html
import json
from typing import Any

from apr_contracts.report.json_report import jsonable

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
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
tr.contract-row{cursor:pointer}tr.contract-row:hover{background:#f1f8ff}
tr.detail td{background:#fafbfc;padding:8px 8px 14px 28px}tr.detail table{font-size:13px}
.drift{color:#b08800;font-weight:600}.muted{color:#6a737d}
.o-HELD{color:#22863a;font-weight:600}.o-FALSIFIED{color:#cb2431;font-weight:700}.o-ERROR{color:#6f42c1;font-weight:600}
.o-SKIPPED,.o-NOT_BOUND,.o-PENDING{color:#6a737d}.o-STALE{color:#b08800}
#filter{padding:5px 8px;width:320px;border:1px solid #d1d5da;border-radius:6px;margin-bottom:8px}
.cell{display:inline-block;width:14px;height:14px;margin-right:2px;border-radius:2px}
.legend span{margin-right:14px;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
#contracts td:nth-child(3){overflow-wrap:anywhere;max-width:14em}
"""

JS = """
(function(){
  var board = JSON.parse(document.getElementById('board-data').textContent);
  var colors = JSON.parse(document.getElementById('status-colors').textContent);
  function el(tag, attrs, text){var e=document.createElement(tag);for(var k in (attrs||{})){e.setAttribute(k,attrs[k]);}
    if(text!==undefined&&text!==null){e.textContent=String(text);}return e;}
  function badge(status){var b=el('span',{'class':'badge'},status);b.style.background=colors[status]||'#586069';return b;}
  function mvt(f){var parts=[];(f.thresholds||[]).forEach(function(t){var got=(f.measured||{})[t.metric];
    parts.push(t.metric+'='+(got===undefined?'\\u2014':got)+' (need '+t.op+' '+t.value+')');});
    Object.keys(f.measured||{}).forEach(function(k){if(!(f.thresholds||[]).some(function(t){return t.metric===k;})){
      parts.push(k+'='+JSON.stringify(f.measured[k]));}});return parts.join('; ');}
  var tbody = document.querySelector('#contracts tbody');
  board.contracts.forEach(function(c, i){
    var n=c.counts, tr=el('tr',{'class':'contract-row','data-contract':c.id,'data-status':c.derived_status});
    var cells=[c.id,c.version||'\\u2014',c.declared_status||'\\u2014',null,n.held,n.falsified,n.error,n.unbound,
      n.skipped,n.pending+'/'+n.stale,(c.levels_reached||[]).join(', ')||'\\u2014',c.last_run?('#'+c.last_run):'\\u2014',
      c.drift.length?'drift':''];
    cells.forEach(function(v, j){var td=el('td',{},v);if(j===3){td.appendChild(badge(c.derived_status));}
      if(j>=4&&j<=8){td.className='num';}if(j===12&&v){td.className='drift';td.title=c.drift.join('\\n');}tr.appendChild(td);});
    var detail=el('tr',{'class':'detail','data-contract':c.id}); detail.hidden=true;
    var td=el('td',{'colspan':'13'}); td.appendChild(el('div',{'class':'muted'},c.reason+' \\u2014 '+c.file));
    c.drift.forEach(function(d){td.appendChild(el('div',{'class':'drift'},'drift: '+d));});
    var ft=el('table',{'class':'falsifiers'}), head=el('tr');
    ['falsifier','level','outcome','impl. level','flags','measured vs thresholds','message'].forEach(function(h){
      head.appendChild(el('th',{},h));}); ft.appendChild(head);
    c.falsifiers.forEach(function(f){var r=el('tr',{'class':'falsifier-row','data-falsifier':f.id});
      var flags=[f.stale?'stale':'',f.flaky?'flaky':''].filter(Boolean).join(', ');
      [f.id,f.level,f.label,f.implementation_level||'\\u2014',flags||'\\u2014',mvt(f)||'\\u2014',f.message||''].forEach(
        function(v,j){var cell=el('td',{},v);if(j===2){cell.className='o-'+f.label;}r.appendChild(cell);});
      ft.appendChild(r);});
    td.appendChild(ft); detail.appendChild(td);
    tr.addEventListener('click',function(){detail.hidden=!detail.hidden;});
    tbody.appendChild(tr); tbody.appendChild(detail);
  });
  var hist=document.querySelector('#history tbody');
  board.contracts.forEach(function(c){var tr=el('tr',{'class':'history-row','data-contract':c.id});
    tr.appendChild(el('td',{},c.id)); var td=el('td');
    (c.status_history||[]).forEach(function(p){var s=el('span',{'class':'cell','title':'run #'+p.run+': '+p.status});
      s.style.background=colors[p.status]; td.appendChild(s);});
    if(!(c.status_history||[]).length){td.textContent='no runs yet';}
    tr.appendChild(td); hist.appendChild(tr);});
  var filter=document.getElementById('filter');
  filter.addEventListener('input',function(){var q=filter.value.toLowerCase();
    document.querySelectorAll('#contracts tr.contract-row').forEach(function(r){
      var hit=(r.textContent.toLowerCase().indexOf(q)>=0); r.hidden=!hit;
      if(!hit){r.nextSibling.hidden=true;}});});
  document.body.setAttribute('data-rendered', String(board.contracts.length));
})();
"""


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
    headers = "".join(f"<th>{h}</th>" for h in (
        "contract", "version", "declared", "derived", "held", "falsified", "error", "unbound", "skipped",
        "pending/stale", "levels", "last run", "drift"))
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
<input id="filter" type="search" placeholder="filter contracts…" aria-label="filter contracts">
<div class="scroll"><table id="contracts"><thead><tr>{headers}</tr></thead><tbody></tbody></table></div>
<noscript><p>This table is rendered by inline JavaScript; the same data is in `pv scoreboard --format json`.</p></noscript>
{orphans}
<h2>Status history over runs</h2>
{chart_svg(board)}
<table id="history"><thead><tr><th>contract</th><th>derived status after each run (oldest → newest)</th></tr></thead>
<tbody></tbody></table>
<script type="application/json" id="board-data">{_script_json(data)}</script>
<script type="application/json" id="status-colors">{_script_json(STATUS_COLORS)}</script>
<script>{JS}</script>
</body></html>
"""
