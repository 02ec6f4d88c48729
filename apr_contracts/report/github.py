"""`--format github`: GitHub Actions workflow commands, so findings annotate the contract lines in a PR.

FALSIFIED and ERROR falsifiers become ``::error``; stale evidence, flaky
falsifiers and drift become ``::warning``; one ``::notice`` summarises.
"""

from __future__ import annotations

from typing import Any


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, file: str, line: int, title: str, message: str) -> str:
    props = f"file={_prop(file)}" + (f",line={line}" if line else "") + f",title={_prop(title)}"
    return f"::{kind} {props}::{_data(message)}"


def render(board: Any) -> str:
    lines: list[str] = []
    for c in board.contracts:
        for f in c.falsifiers:
            if f.label in ("FALSIFIED", "ERROR"):
                lines.append(_command("error", c.file, f.line, f"{f.id} {f.label}", f.message or f.label))
            if f.stale:
                lines.append(_command("warning", c.file, f.line, f"{f.id} stale",
                                      "evidence exists only for an older text of this claim; run `pv run` again"))
            if f.flaky:
                lines.append(_command("warning", c.file, f.line, f"{f.id} FLAKY",
                                      "HELD and FALSIFIED at the same code version and engines"))
        for d in c.drift:
            lines.append(_command("warning", c.file, 0, f"{c.id} drift", d))
    totals: dict[str, int] = {}
    for c in board.contracts:
        totals[c.derived_status.value] = totals.get(c.derived_status.value, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "no contracts"
    lines.append(f"::notice title=pv scoreboard::{_data(f'{len(board.contracts)} contract(s): {summary}')}")
    return "\n".join(lines) + "\n"
