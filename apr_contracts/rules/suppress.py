"""Inline suppression of findings inside a contract.

Syntax (a YAML comment)::

    test: a description only   # pv: ignore[PV-TEST-003]
    - id: FALSIFY-X-001        # pv: ignore[PV-TEST-003, PV-LEVEL-002]   (the whole entry)
    # pv: ignore[PV-SCHEMA-003]                   (own line: applies to the next line)
    # pv: ignore-file[PV-REF-002]                 (anywhere: the whole file)

A comment on a line suppresses the listed codes for findings located on that line
and, when a mapping key or list item starts on that line, everywhere inside it.
``ignore`` without a list (``# pv: ignore``) is refused: a suppression names what it
silences, so a new kind of finding on the same line is still reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from apr_contracts.schema.yamlsrc import span_starting_at

_COMMENT = re.compile(r"#\s*pv:\s*(ignore|ignore-file)\[([^\]]*)\]")


@dataclass(frozen=True)
class Suppression:
    first: int
    last: int
    codes: frozenset[str]
    line: int  # where the comment is
    column: int = 1


def parse(text: str, root: Node | None) -> list[Suppression]:
    if "pv:" not in text:  # fast path: almost no file has any
        return []
    out: list[Suppression] = []
    lines = text.splitlines()
    in_text = _scalar_spans(root)
    for n, line in enumerate(lines, start=1):
        m = _COMMENT.search(line)
        if not m or _inside(in_text, n - 1, m.start()):
            continue  # no comment, or the words are part of a string (e.g. a description explaining the syntax)
        codes = frozenset(c.strip().upper() for c in m.group(2).split(",") if c.strip())
        if m.group(1) == "ignore-file":
            out.append(Suppression(1, max(len(lines), 1), codes, n, m.start() + 1))
            continue
        target = n
        if line[: m.start()].strip() == "":  # a comment on its own line governs the next content line
            target = next((k for k in range(n + 1, len(lines) + 1)
                           if lines[k - 1].strip() and not lines[k - 1].lstrip().startswith("#")), n)
        span = span_starting_at(root, target)
        out.append(Suppression(target, span[1] if span else target, codes, n, m.start() + 1))
    return out


def _scalar_spans(root: Node | None) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) marks, 0-based (line, column), of every scalar: quoted, plain and block."""
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    stack: list[Node] = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            spans.append(((node.start_mark.line, node.start_mark.column), (node.end_mark.line, node.end_mark.column)))
        elif isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return spans


def _inside(spans: list[tuple[tuple[int, int], tuple[int, int]]], line: int, column: int) -> bool:
    return any(start <= (line, column) < end for start, end in spans)


def matched_selectors(sup: Suppression, code: str, line: int) -> list[str]:
    """The selectors of ``sup`` that silence ``code`` at ``line`` (empty: it does not apply)."""
    if not sup.first <= line <= sup.last:
        return []
    return [c for c in sup.codes if code == c or code.startswith(c + "-")]
