"""Scoreboard reporters: text (rich), md, json, junit, html, github, plus formats registered by plugins.

Every renderer is ``render(board: Scoreboard) -> str``; plugins add formats
through the ``apr_register_reporters`` hook (``registry.add(name, render)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

Renderer = Callable[[Any], str]

# format name -> module under apr_contracts.report exposing render(board) -> str
BUILTIN_FORMATS: dict[str, str] = {
    "text": "text",
    "md": "markdown",
    "json": "json_report",
    "junit": "junit",
    "html": "html",
    "github": "github",
}


def renderer(fmt: str, extra: Mapping[str, Renderer] | None = None) -> Renderer:
    """The renderer for ``fmt``; built-in formats win over plugin ones of the same name."""
    if fmt in BUILTIN_FORMATS:
        module = importlib.import_module(f"apr_contracts.report.{BUILTIN_FORMATS[fmt]}")
        render: Renderer = module.render
        return render
    if extra and fmt in extra:
        return extra[fmt]
    known = sorted({*BUILTIN_FORMATS, *(extra or {})})
    raise KeyError(f"unknown format {fmt!r}; choose one of: {', '.join(known)}")


