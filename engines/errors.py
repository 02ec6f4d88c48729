"""Errors the `apr` commands raise for the user (they become a message and an exit code, not a traceback)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from apr_contracts.cli import NO_SUCH_PATH


class AprError(Exception):
    """A problem with the user's input or a gate that refused.

    ``message`` says what, where and why; ``hint`` says what to do. ``exit_code`` is
    1 for findings and refusing gates, 2 for usage errors.
    """

    def __init__(self, message: str, *, hint: str = "", exit_code: int = 1, falsifier: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.falsifier = falsifier

    def __str__(self) -> str:
        prefix = f"[{self.falsifier}] " if self.falsifier else ""
        hint = f"\n  hint: {self.hint}" if self.hint else ""
        return f"{prefix}{self.message}{hint}"


class UsageError(AprError):
    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint, exit_code=2)


def require_paths(paths: Iterable[object], *, hint: str) -> None:
    """Refuse (exit 2, as `pv` does) when an input path given on the command line does not exist.

    Checked before any other work, so a typo in a path is never reported after gates or a long
    load: every missing path is named at once, with ``hint`` saying what to pass instead.
    """
    missing = [str(p) for p in paths if p is not None and not Path(str(p)).exists()]
    if missing:
        raise UsageError(f"{NO_SUCH_PATH}: {', '.join(missing)}", hint=hint)
