"""The plugin module named by the `apr_contracts` entry point."""

from __future__ import annotations

import sys
from typing import Protocol

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from apr_contracts.mutation import mutant


class WordCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class SplitCounter:
    """The real engine: words are maximal runs of non-whitespace."""

    name = "split"

    def count(self, text: str) -> int:
        return len(text.split())


class OffByOneCounter(SplitCounter):
    """A realistic defect: counts separators instead of words (wrong by one on most inputs)."""

    def count(self, text: str) -> int:
        return max(0, len(text.split()) - 1)


@hookimpl
def apr_register_engines(registry):  # type: ignore[no-untyped-def]
    registry.add_kind("wordcount", WordCounter)
    registry.add("wordcount", "split", SplitCounter, default=True)


# Our mutants, each written once; `pv mutants` checks that the falsifier named kills it.
MUTANTS = {"broken-off-by-one": mutant(OffByOneCounter, "example-wordcount-v1::FALSIFY-EXAMPLE-WC-001")}


@hookimpl
def apr_register_mutants(registry):  # type: ignore[no-untyped-def]
    registry.add_table("wordcount", __name__, MUTANTS)


@falsifier("FALSIFY-EXAMPLE-WC-001", contract="example-wordcount-v1", level="algorithm", engines=["wordcount"])
def counts_match_reference(ctx: RunContext) -> Verdict:
    """Word counts equal an independent character-scan count on random texts."""
    rng = ctx.rng()
    words = ["alpha", "beta", "gamma", "delta", "é", "x1"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        expected = sum(1 for i, ch in enumerate(text) if not ch.isspace() and (i == 0 or text[i - 1].isspace()))
        got = ctx.engine("wordcount").count(text)
        if got != expected:
            return ctx.falsified(f"count({text!r}) = {got}, expected {expected}", counterexample=text)
    return ctx.held("200 random texts agree", measured={"cases": 200})


@falsifier("FALSIFY-EXAMPLE-WC-002", contract="example-wordcount-v1", level="algorithm", engines=["wordcount"])
def empty_text_has_no_words(ctx: RunContext) -> Verdict:
    """The empty string and pure whitespace have zero words."""
    for text in ("", "   ", "\n\t"):
        got = ctx.engine("wordcount").count(text)
        if got != 0:
            return ctx.falsified(f"count({text!r}) = {got}", counterexample=text)
    return ctx.held()


@hookimpl
def apr_register_falsifiers(registry):  # type: ignore[no-untyped-def]
    registry.add_module(sys.modules[__name__])
