"""Line-oriented progress for encode-corpus on a log or pipe (non-TTY stderr).

A long encode writing to a log file must still say it is alive: a ``[progress]`` line goes to
stderr every ``interval_docs`` documents or every ``interval_seconds`` seconds, whichever comes
first, and a ``[progress] done`` line at the end. After a line both counters restart. ``quiet``
turns every line off. The decision (:meth:`ProgressLines.should_emit`) and the wording
(:meth:`ProgressLines.format_line`) are pure functions of their arguments and an injected clock, so
they are testable without scraping stderr. The engine checks the predicate once per encoded chunk
(~2 MB of text), so a tick can land a little after its threshold, never before.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

DEFAULT_INTERVAL_DOCS = 1000
DEFAULT_INTERVAL_SECONDS = 60.0


@dataclass
class ProgressLines:
    interval_docs: int = DEFAULT_INTERVAL_DOCS
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    quiet: bool = False
    total_docs_hint: int | None = None  # known only when the corpus says so (Parquet footers)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time  # for the ETA timestamp only
    stream: TextIO | None = None  # default: sys.stderr at write time (so tests can capture it)
    start: float = field(default=0.0, init=False)
    last_docs: int = field(default=0, init=False)
    last_time: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.interval_docs < 1 or self.interval_seconds <= 0:
            raise ValueError(f"progress intervals must be >= 1 document and > 0 seconds, got "
                             f"{self.interval_docs} documents / {self.interval_seconds} s")
        self.start = self.last_time = self.clock()

    # -- pure parts -------------------------------------------------------------------------------
    def should_emit(self, docs_seen: int, now: float) -> bool:
        """True when a line is due: enough documents OR enough seconds since the last line (never when quiet)."""
        if self.quiet:
            return False
        return (docs_seen - self.last_docs >= self.interval_docs
                or now - self.last_time >= self.interval_seconds)

    def mark_emitted(self, docs_seen: int, now: float) -> None:
        """Both counters restart: the next line needs another full interval of either kind."""
        self.last_docs, self.last_time = docs_seen, now

    def format_line(self, docs_seen: int, tokens: int, now: float) -> str:
        """``doc=N/T ... eta=<UTC ISO-8601>`` with a known total; ``doc=N`` and no ETA without one."""
        elapsed = max(now - self.start, 1e-9)
        rate = docs_seen / elapsed
        if self.total_docs_hint is None:
            return f"[progress] doc={docs_seen} tokens={tokens} rate={rate:.1f} docs/s"
        left = max(self.total_docs_hint - docs_seen, 0)
        finish = self.wall() + (left / rate if rate > 0 else 0.0)
        eta = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finish))
        return f"[progress] doc={docs_seen}/{self.total_docs_hint} tokens={tokens} rate={rate:.1f} docs/s eta={eta}"

    def format_final(self, docs_seen: int, tokens: int, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        return (f"[progress] done docs={docs_seen} tokens={tokens} elapsed={elapsed:.1f}s "
                f"rate={docs_seen / elapsed:.1f} docs/s")

    # -- effects ----------------------------------------------------------------------------------
    def _write(self, line: str) -> None:
        out = self.stream if self.stream is not None else sys.stderr
        out.write(line + "\n")
        out.flush()

    def tick(self, docs_seen: int, tokens: int) -> bool:
        """Write a line if one is due; True if it did."""
        now = self.clock()
        if not self.should_emit(docs_seen, now):
            return False
        self._write(self.format_line(docs_seen, tokens, now))
        self.mark_emitted(docs_seen, now)
        return True

    def final(self, docs_seen: int, tokens: int) -> None:
        if not self.quiet:
            self._write(self.format_final(docs_seen, tokens, self.clock()))

    # the encode loop's progress protocol (the same one the TTY bar implements)
    def update(self, *, documents: int, tokens: int, done_bytes: int, total_bytes: int) -> None:
        self.tick(documents, tokens)

    def finish(self, *, documents: int, tokens: int) -> None:
        self.final(documents, tokens)
