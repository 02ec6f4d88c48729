"""What `pv mutants` reports: one JSON-shaped summary, rendered as text, Markdown or HTML.

Text from plugins and contracts (descriptions, messages, reasons) is printed as plain text:
escaped for rich, Markdown tables and HTML, never interpreted.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from apr_contracts.mutation.catalogue import PAIR_SEPARATOR, MutantSpec
from apr_contracts.mutation.score import (
    MutantOutcome,
    PairOutcome,
    PairResult,
    mutant_outcome,
    scores,
)

VERSION = 1


def summary(mutants: Sequence[MutantSpec], pairs: Sequence[PairResult], *, mode: str, store: str) -> dict[str, Any]:
    rows = []
    for m in mutants:
        mine = [p for p in pairs if (p.kind, p.mutant) == (m.kind, m.name)]

        def ids(outcome: PairOutcome, mine: list[PairResult] = mine) -> list[str]:
            return sorted(f"{p.contract_id}{PAIR_SEPARATOR}{p.falsifier_id}" for p in mine if p.outcome is outcome)

        outcome = MutantOutcome.EQUIVALENT if m.equivalent else mutant_outcome(p.outcome for p in mine)
        rows.append({
            "name": m.name, "kind": m.kind, "plugin": m.plugin, "breaks": m.breaks,
            "description": m.description(), "outcome": outcome.value,
            "killed_by": ids(PairOutcome.KILLED), "survived": ids(PairOutcome.SURVIVED),
            "errors": ids(PairOutcome.ERROR), "skipped": ids(PairOutcome.SKIPPED),
            "declared": [f"{c}{PAIR_SEPARATOR}{f}" for c, f in m.caught_by],
            "equivalent": m.equivalent or None,
        })
    matrix = [{"contract": p.contract_id, "falsifier": p.falsifier_id, "kind": p.kind, "mutant": p.mutant,
               "outcome": p.outcome.value, "declared": p.declared, "reused": p.reused, "message": p.message}
              for p in sorted(pairs, key=lambda p: (p.kind, p.mutant, p.contract_id, p.falsifier_id))]
    computed = scores(pairs, [(m.kind, m.name, bool(m.equivalent)) for m in mutants])
    return {"version": VERSION, "mode": mode, "store": store, "mutants": rows, "matrix": matrix,
            "scores": computed, "incomplete": computed["overall"]["incomplete"]}


def _pct(score: dict[str, Any]) -> str:
    value = "n/a" if score["score"] is None else f"{score['score']:.1f}%"
    return f"{value} ({score['killed']} killed / {score['killed'] + score['survived']})"


def _lines(data: dict[str, Any]) -> list[str]:
    """The report as plain lines (text and the bodies of the Markdown/HTML sections)."""
    overall = data["scores"]["overall"]
    out = [f"mutation score: {_pct(overall)}" + ("  INCOMPLETE: some falsifiers ended in ERROR "
                                                 "(errors never count as kills)" if data["incomplete"] else "")]
    for mutant in data["mutants"]:
        if mutant["outcome"] == "survived":
            out.append(f"SURVIVED {mutant['kind']}={mutant['name']} ({mutant['plugin']}): {mutant['description']}")
            out.extend(f"    let through by {fid}" for fid in mutant["survived"])
    for mutant in data["mutants"]:
        if mutant["outcome"] == "equivalent":
            out.append(f"equivalent {mutant['kind']}={mutant['name']}: {mutant['equivalent']}")
    for mutant in data["mutants"]:
        if mutant["outcome"] in ("error", "skipped", "untested"):
            why = {"error": "only errors", "skipped": "every falsifier skipped",
                   "untested": "no falsifier ran against it"}[mutant["outcome"]]
            out.append(f"not measured ({why}) {mutant['kind']}={mutant['name']}")
    return out


def render_text(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    for row in data["matrix"]:
        mark = "*" if row["declared"] else " "
        console.print(Text(f"  {row['outcome']:<8} {mark} {row['kind']}={row['mutant']}  "
                           f"{row['falsifier']} ({row['contract']})" + ("  [reused]" if row["reused"] else "")))
    console.print(Text("(* = declared in the mutant's caught_by)", style="dim"))
    for kind, score in data["scores"]["per_kind"].items():
        console.print(Text(f"{kind}: {_pct(score)}"))
    for contract, score in data["scores"]["per_contract"].items():
        console.print(Text(f"{contract}: {_pct(score)}"))
    for line in _lines(data):
        style = "bold red" if line.startswith("SURVIVED") else "yellow" if "INCOMPLETE" in line else None
        console.print(Text(line, style=style or ""))
    console.print(Text(f"results in {data['store']} (never in the evidence database)", style="dim"))


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(data: dict[str, Any]) -> str:
    out = ["# Mutation score", "", *(f"- {_md(line)}" for line in _lines(data)), "",
           "| kind | mutant | outcome | killed by | survived |", "|---|---|---|---|---|"]
    for m in data["mutants"]:
        out.append(f"| {_md(m['kind'])} | {_md(m['name'])} | {m['outcome']} | {_md(', '.join(m['killed_by']))} | "
                   f"{_md(', '.join(m['survived']))} |")
    out += ["", "| contract | strength |", "|---|---|"]
    out += [f"| {_md(c)} | {_pct(s)} |" for c, s in data["scores"]["per_contract"].items()]
    return "\n".join(out) + "\n"


def render_html(data: dict[str, Any]) -> str:
    esc = html.escape
    items = "".join(f"<li>{esc(line)}</li>" for line in _lines(data))
    rows = "".join(f"<tr><td>{esc(m['kind'])}</td><td>{esc(m['name'])}</td><td>{esc(m['outcome'])}</td>"
                   f"<td>{esc(', '.join(m['killed_by']))}</td><td>{esc(', '.join(m['survived']))}</td></tr>"
                   for m in data["mutants"])
    strength = "".join(f"<tr><td>{esc(c)}</td><td>{esc(_pct(s))}</td></tr>"
                       for c, s in data["scores"]["per_contract"].items())
    return ("<!doctype html><meta charset=utf-8><title>pv mutants</title><h1>Mutation score</h1>"
            f"<ul>{items}</ul><table><tr><th>kind</th><th>mutant</th><th>outcome</th><th>killed by</th>"
            f"<th>survived</th></tr>{rows}</table><h2>Strength per contract</h2><table><tr><th>contract</th>"
            f"<th>strength</th></tr>{strength}</table>\n")
