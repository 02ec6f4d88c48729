"""Scoreboard reporters: text (rich), md, json, junit, html, github, plus formats registered by plugins.

Every renderer is ``render(board: Scoreboard) -> str``; plugins add formats
through the ``apr_register_reporters`` hook (``registry.add(name, render)``).
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
