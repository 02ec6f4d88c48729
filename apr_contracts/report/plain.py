"""Text from contracts, evidence and engines, made safe to print on a terminal or in a CI log.

What a contract or a falsifier message contains is data, never instructions to the terminal or
the CI runner: a raw ``ESC]0;…BEL`` would retitle the window, ``ESC[2J`` clear it, an OSC 8
sequence hide a link, and a line starting ``::error file=…::`` becomes a GitHub Actions workflow
command in a job's log. :func:`visible` shows every such character as an escape (``\\x1b``) and
turns a line that would be a workflow command into one that is not, keeping newlines and tabs.
Reports apply it to their whole output; ``keep_sgr`` lets through the colour codes rich itself
emits (``ESC[…m``) when it draws on a real terminal. ``--format github`` output is the one place
that writes workflow commands on purpose, and it does not pass through here.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_WORKFLOW_COMMAND = re.compile(r"^(\s*)::", re.MULTILINE)
# Directional overrides and isolates reorder what is shown (the "Trojan Source" trick); they are
# format characters (Cf), not controls, so they are listed by hand.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


# Every C0/C1 control character (category Cc) but newline and tab, and the bidi controls.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep_sgr: bool = False) -> str:
    """``text`` with control characters shown as escapes and workflow-command lines defused."""
    if keep_sgr:
        parts = _SGR.split(text)
        codes = _SGR.findall(text)
        out = [visible(parts[0])]
        for code, part in zip(codes, parts[1:], strict=True):
            out += [code, visible(part)]
        return "".join(out)
    text = _UNSAFE.sub(_shown, text)  # one C-speed pass; most text has nothing to replace
    return _WORKFLOW_COMMAND.sub(lambda m: f"{m.group(1)}\\x3a:", text)


@contextmanager
def safe_console(stream: IO[str] | None = None, **options: Any) -> Iterator[Console]:
    """A rich Console whose output reaches ``stream`` (default stdout) through :func:`visible`.

    It renders into a buffer and writes it when the block ends, colours kept on a terminal
    (and off with NO_COLOR), the data's escape sequences always shown, never obeyed.
    """
    from rich.console import Console

    target = stream or sys.stdout
    tty = bool(getattr(target, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
    buffer = io.StringIO()
    options.setdefault("width", shutil.get_terminal_size((160, 40)).columns if tty else 160)
    console = Console(file=buffer, force_terminal=tty, color_system="standard" if tty else None,
                      highlight=False, **options)
    try:
        yield console
    finally:
        target.write(visible(buffer.getvalue(), keep_sgr=tty))
        target.flush()
