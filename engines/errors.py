"""Errors the `apr` commands raise for the user (they become a message and an exit code, not a traceback)."""

from __future__ import annotations


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
