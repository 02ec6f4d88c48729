"""Outcome and level vocabularies shared by the runner, the evidence store and the status table."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """How deep a falsifier reaches. Ordered: algorithm < integration < live."""

    ALGORITHM = "algorithm"
    INTEGRATION = "integration"
    LIVE = "live"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @classmethod
    def parse(cls, value: str | None) -> Level:
        """Parse a contract's `level`, accepting the reference contracts' `test_kind` words."""
        if value is None:
            return cls.ALGORITHM
        word = str(value).strip().lower()
        return _LEVEL_ALIASES.get(word) or cls(word)


_LEVEL_RANK = {Level.ALGORITHM: 0, Level.INTEGRATION: 1, Level.LIVE: 2}
_LEVEL_ALIASES = {"unit": Level.ALGORITHM, "property": Level.ALGORITHM, "e2e": Level.INTEGRATION}


class Outcome(StrEnum):
    """The result of one falsifier in one run."""

    HELD = "HELD"  # the attempt to refute failed: the claim survives
    FALSIFIED = "FALSIFIED"  # a counterexample was found and recorded
    ERROR = "ERROR"  # the check itself broke; never counts as held or falsified
    NOT_BOUND = "NOT_BOUND"  # no implementation is registered for this id
    SKIPPED = "SKIPPED"  # could not run here (missing optional dependency, level not selected)
    # A plugin declared that this id (of someone else's contract) does not apply to these engines,
    # with a reason: shown, never counted as HELD, and distinct from NOT_BOUND (nobody looked).
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
