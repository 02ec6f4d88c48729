"""FALSIFY-APR-TOK-PAR-007..010: the `[progress]` lines of encode-corpus on a log or pipe.

Read as: the other project's ProgressEmitter is our engine's ``progress_lines(...)`` emitter
(:mod:`engines.tokenizer.progress`), driven here with an injected clock and stream, so the
OR-cadence and the line format are checked exactly, at and one step either side of each bound.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier
from engines.tokenizer import fixtures as fx
from falsifiers._tokenizer_support import said, stdlib_docs
from falsifiers.aprender.apr_tokenize_parallel_bpe.workers import run_apr

T0 = 1000.0  # the injected monotonic clock's start
WALL = 1_800_000_000.0  # the injected wall clock (2027-01-15T08:00:00Z)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def emitter(ctx: RunContext, **kw: Any) -> tuple[Any, Clock, io.StringIO]:
    clock, stream = Clock(), io.StringIO()
    lines = ctx.engine("tokenizer").progress_lines(clock=clock, wall=lambda: WALL, stream=stream, **kw)
    return lines, clock, stream


def _expect(cases: list[tuple[str, bool, bool]]) -> str:
    """The first case whose predicate answer differs from the expected one ('' when all agree)."""
    return next((f"{label}: should_emit returned {got}, expected {want}" for label, got, want in cases
                 if got != want), "")


@falsifier("FALSIFY-APR-TOK-PAR-007", level="algorithm", engines=["tokenizer"])
def doc_tick_fires(ctx: RunContext) -> Verdict:
    """With 0 s elapsed: no line at interval_docs - 1, a line at interval_docs and at + 1; after a line the
    document count restarts from there (the next one is due 100 documents later, not before)."""
    lines, clock, stream = emitter(ctx, interval_docs=100, interval_seconds=60.0)
    cases = [("99 docs, 0 s", lines.should_emit(99, T0), False), ("100 docs, 0 s", lines.should_emit(100, T0), True),
             ("101 docs, 0 s", lines.should_emit(101, T0), True)]
    lines.mark_emitted(100, T0)
    cases += [("199 docs after a line at 100", lines.should_emit(199, T0), False),
              ("200 docs after a line at 100", lines.should_emit(200, T0), True)]
    problem = _expect(cases)
    if not problem:  # and through tick(): exactly one line for 100 documents, none for the next 99
        clock.now = T0 + 1
        wrote = [lines.tick(300, 5), lines.tick(399, 6)]
        if wrote != [True, False] or stream.getvalue().count("[progress]") != 1:
            problem = f"tick(300) then tick(399) wrote {wrote} ({stream.getvalue()!r})"
    return ctx.falsified(problem, counterexample=problem) if problem else ctx.held("doc tick at N, not N-1")


@falsifier("FALSIFY-APR-TOK-PAR-008", level="algorithm", engines=["tokenizer"])
def time_tick_fires(ctx: RunContext) -> Verdict:
    """With 1 document of 1000: no line at 59.999 s, a line at 60 s and 61 s; after a line the clock restarts
    (a doc-triggered line at 30 s postpones the time tick to 90 s)."""
    lines, _clock, _stream = emitter(ctx, interval_docs=1000, interval_seconds=60.0)
    cases = [("59.999 s", lines.should_emit(1, T0 + 59.999), False), ("60 s", lines.should_emit(1, T0 + 60), True),
             ("61 s", lines.should_emit(1, T0 + 61), True)]
    lines.mark_emitted(1000, T0 + 30)  # a line for the document tick at 30 s resets the time tick too
    cases += [("61 s after a doc-tick line at 30 s", lines.should_emit(1001, T0 + 61), False),
              ("90 s after a doc-tick line at 30 s", lines.should_emit(1001, T0 + 90), True)]
    problem = _expect(cases)
    return ctx.falsified(problem, counterexample=problem) if problem else ctx.held("time tick at S, not before")


@falsifier("FALSIFY-APR-TOK-PAR-009", level="integration", engines=["tokenizer"])
def quiet_suppresses(ctx: RunContext) -> Verdict:
    """quiet: should_emit is False at both bounds and far past them, tick and final write nothing; and
    `apr tokenize encode-corpus --quiet` (stderr a pipe) prints no [progress] line where the same
    command without it does."""
    lines, clock, stream = emitter(ctx, interval_docs=10, interval_seconds=1.0, quiet=True)
    cases = [("10 docs (doc bound)", lines.should_emit(10, T0), False),
             ("1 s (time bound)", lines.should_emit(0, T0 + 1), False),
             ("both bounds x100", lines.should_emit(1000, T0 + 100), False)]
    problem = _expect(cases)
    clock.now = T0 + 100
    lines.tick(1000, 1)
    lines.final(1000, 1)
    if not problem and stream.getvalue():
        problem = f"quiet emitter wrote {stream.getvalue()!r}"
    if problem:
        return ctx.falsified(problem, counterexample=problem)
    tok = fx.stdlib_bpe_tokenizer_json(ctx.workspace / "tok")
    corpus = fx.write_jsonl(ctx.workspace / "c.jsonl", stdlib_docs(12))
    seen = {}
    for flag in ("--quiet", ""):
        out = ctx.workspace / f"out{flag}"
        args: list[str | Path] = ["encode-corpus", "--corpus", corpus, "--tokenizer", tok, "--output", out,
                "--progress-interval-docs", "1", *([flag] if flag else [])]
        proc = run_apr(ctx, *args)
        if proc.returncode != 0:
            return ctx.falsified(f"encode-corpus {flag}: {said(proc)}")
        seen[flag or "default"] = proc.stderr.count("[progress]")
    if seen["--quiet"] or not seen["default"]:
        return ctx.falsified(f"[progress] lines on stderr: {seen} (expected none with --quiet, some without)",
                             measured=seen)
    return ctx.held(measured=seen)


NO_TOTAL = re.compile(r"\[progress\] doc=(\d+) tokens=(\d+) rate=(\d+\.\d) docs/s")
WITH_TOTAL = re.compile(r"\[progress\] doc=(\d+)/(\d+) tokens=(\d+) rate=(\d+\.\d) docs/s "
                        r"eta=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


@falsifier("FALSIFY-APR-TOK-PAR-010", level="algorithm", engines=["tokenizer"])
def line_format(ctx: RunContext) -> Verdict:
    """Without a total: exactly `doc=N tokens=K rate=X.X docs/s` (no `/T`, no `eta=`); with total T:
    `doc=N/T ... eta=<UTC ISO-8601>` where the ETA is now + (T - N) / rate; numbers as computed here."""
    bare, clock, _ = emitter(ctx)
    clock.now = T0 + 4.0
    line = bare.format_line(50, 777, clock.now)
    m = NO_TOTAL.fullmatch(line)
    if m is None or "eta=" in line or m.groups() != ("50", "777", "12.5"):
        return ctx.falsified(f"no total: {line!r} (expected 'doc=50 tokens=777 rate=12.5 docs/s', no /T, no eta=)",
                             counterexample=line)
    full, clock, _ = emitter(ctx, total_docs_hint=200)
    clock.now = T0 + 4.0
    line = full.format_line(50, 777, clock.now)
    m = WITH_TOTAL.fullmatch(line)
    eta = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(WALL + 150 / 12.5))  # 150 docs left at 12.5/s
    if m is None or m.groups() != ("50", "200", "777", "12.5", eta):
        return ctx.falsified(f"total 200: {line!r} (expected doc=50/200 tokens=777 rate=12.5 docs/s eta={eta})",
                             counterexample=line)
    final = full.format_final(50, 777, clock.now)
    if final != "[progress] done docs=50 tokens=777 elapsed=4.0s rate=12.5 docs/s":
        return ctx.falsified(f"final line {final!r}", counterexample=final)
    return ctx.held("formats with and without a total as specified")
