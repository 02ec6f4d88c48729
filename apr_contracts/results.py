"""What one falsifier run produced, and what a whole `pv run` produced."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from apr_contracts.outcomes import Level, Outcome


@dataclass
class Result:
    """One falsifier, one run. ``measured`` holds the plugin's numbers; ``thresholds`` the contract's."""

    contract_id: str
    contract_file: str
    contract_version: str | None
    falsifier_id: str
    claim_hash: str
    required_level: Level
    level: Level | None  # the level the implementation exercises (None when not bound)
    outcome: Outcome
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    counterexample: Any = None
    traceback: str = ""
    duration_s: float = 0.0
    seed: int = 0
    engines: dict[str, str] = field(default_factory=dict)  # kind -> engine name used
    plugin: str = ""
    contract_sha256: str = ""  # the whole contract file the result was produced from
    # What executed it (apr_contracts.fingerprint): the static fingerprint, and the files and
    # distributions its subprocesses loaded. Empty when nothing executed (NOT_BOUND).
    fingerprint: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    reused_from: int | None = None  # run id whose execution this result repeats without rerunning
    # Evidence from tests a team already runs (apr_contracts.testevidence): where it came from
    # ("junit", "libtest", "command", "pytest"; "" for a plugin's falsifier), what it read (source
    # file sha256, test names, outcomes, durations), and the state of the project's tree it was
    # produced on. Such a result is current only while that tree is unchanged (testevidence.tree).
    source: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    tree_state: str | None = None  # None: not bound to a tree (plugin falsifiers: the fingerprint decides)
    tree_root: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["required_level"] = self.required_level.value
        data["level"] = self.level.value if self.level else None
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        data = dict(data)
        data["required_level"] = Level(data["required_level"])
        data["level"] = Level(data["level"]) if data.get("level") else None
        data["outcome"] = Outcome(data["outcome"])
        return cls(**data)


@dataclass
class RunSummary:
    run_id: int | None
    results: list[Result] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(r.outcome.value for r in self.results)
        return {o.value: counted.get(o.value, 0) for o in Outcome}

    @property
    def reused(self) -> int:
        return sum(1 for r in self.results if r.reused_from is not None)

    @property
    def failed(self) -> bool:
        return any(r.outcome in (Outcome.FALSIFIED, Outcome.ERROR) for r in self.results)
