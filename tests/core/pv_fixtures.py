"""Shared builders for the evidence / status / scoreboard / report tests (not a test module).

Contracts are written as small YAML files and read back through the real loader,
so claim hashes are computed exactly as `pv run` and `pv scoreboard` compute them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from apr_contracts.claims import claim_hash
from apr_contracts.evidence import EvidenceStore
from apr_contracts.loader import LoadedContract, load_contracts
from apr_contracts.outcomes import Level, Outcome
from apr_contracts.results import Result

DEMO = """\
metadata:
  id: demo-adder-v1
  kind: library
  version: 1.2.0
  created: '2026-11-01'
  updated: '2026-11-02'
  author: tests
  description: An adder that must add.
  references: [none]
  changelog:
  - version: 1.2.0
    date: '2026-11-02'
    change: Tightened the threshold.
{status_line}
equations:
  add_identity:
    formula: "add(a, 0) = a"
    domain: "integers"
    codomain: "integers"
  add_commutes:
    formula: "add(a, b) = add(b, a)"
    domain: "integers"
    codomain: "integers"
falsification_tests:
- id: FALSIFY-DEMO-001
  rule: Adding zero changes nothing (add_identity).
  prediction: {prediction}
  level: algorithm
  test: tests/core/test_scoreboard.py::test_demo
  if_fails: Every sum downstream is wrong.
- id: FALSIFY-DEMO-002
  rule: The adder CLI adds.
  prediction: "`adder 2 3` prints 5 and exits 0."
  level: integration
  test: tests/core/test_scoreboard.py::test_demo
  if_fails: The command is unusable.
- id: FALSIFY-DEMO-003
  rule: Adding a million numbers is fast enough.
  prediction: "A million additions finish within the budget."
  level: live
  thresholds:
  - {{metric: seconds, op: "<=", value: {threshold}}}
  test: tests/core/test_scoreboard.py::test_demo
  if_fails: Too slow for training loops.
{summary}"""


def demo_yaml(
    *,
    prediction: str = "add(a, 0) == a for every a in -1000..1000.",
    threshold: float | int = 2.0,
    status: str | None = None,
    summary: str = "",
) -> str:
    status_line = f"  status: {status}" if status else ""
    return DEMO.format(prediction=prediction, threshold=threshold, status_line=status_line, summary=summary)


def write_contract(folder: Path, text: str, name: str = "demo-adder-v1.yaml") -> LoadedContract:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    loaded = load_contracts([path])
    assert len(loaded.contracts) == 1, [i.message for i in loaded.issues]
    return loaded.contracts[0]


def entry(contract: LoadedContract, falsifier_id: str) -> Any:
    return next(f for f in contract.falsifiers if f.id == falsifier_id)


def result(
    contract: LoadedContract,
    falsifier_id: str,
    outcome: Outcome,
    *,
    level: Level | None = None,
    measured: dict[str, Any] | None = None,
    message: str = "",
    engines: dict[str, str] | None = None,
    claim: str | None = None,
) -> Result:
    e = entry(contract, falsifier_id)
    return Result(
        contract_id=contract.id,
        contract_file=str(contract.path),
        contract_version=contract.version,
        falsifier_id=falsifier_id,
        claim_hash=claim or claim_hash(contract, e),
        required_level=e.level,
        level=(level or e.level) if outcome is not Outcome.NOT_BOUND else None,
        outcome=outcome,
        message=message or f"{falsifier_id} {outcome.value.lower()}",
        measured=dict(measured or {}),
        thresholds=list(e.thresholds),
        engines=dict(engines or {}),
    )


def record_run(store: EvidenceStore, results: list[Result], *, git_sha: str | None = "abc123", version: str = "0.1.0") -> int:
    run_id = store.begin_run(command="pv run", git_sha=git_sha, host="test", versions={"apr-contracts": version})
    store.record_many(run_id, results)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    store.end_run(run_id, counts=counts, exit_code=1 if counts.get("FALSIFIED") or counts.get("ERROR") else 0)
    return run_id


def all_held(contract: LoadedContract, *, seconds: float = 1.0) -> list[Result]:
    return [
        result(contract, "FALSIFY-DEMO-001", Outcome.HELD),
        result(contract, "FALSIFY-DEMO-002", Outcome.HELD),
        result(contract, "FALSIFY-DEMO-003", Outcome.HELD, measured={"seconds": seconds}),
    ]
