"""PV-TEST-*, PV-LEVEL-*: falsifier entries that cannot be run, counted or judged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apr_contracts.config import project_root
from apr_contracts.outcomes import Level
from apr_contracts.rules._util import entries, text_id
from apr_contracts.rules.base import CheckContext, Finding, Rule, Severity
from apr_contracts.rules.testfield import TestKind, classify, node_problem

if TYPE_CHECKING:
    from apr_contracts.loader import LoadedContract

REQUIRED = ("id", "rule", "prediction", "if_fails")
# fields through which governance contracts point at their evidence instead of `test:`
_EVIDENCE_FIELDS = ("site", "binds_to", "algorithm_evidence")


def missing_fields(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, entry in entries(c, "falsification_tests"):
        missing = [k for k in REQUIRED if not (isinstance(entry.get(k), str) and entry[k].strip())]
        if missing:
            who = text_id(entry.get("id")) or f"entry {i + 1}"
            yield Finding(("falsification_tests", i), f"falsifier {who} has no {', '.join(missing)}",
                          "every falsifier states id, rule, prediction and if_fails (as text)")


def legacy_without_ids(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    n = sum(1 for _, e in entries(c, "falsification") if text_id(e.get("id")) is None)
    if n:
        yield Finding(("falsification",), f"{n} `falsification` entries have no id, so no evidence can be recorded for them",
                      "move them to `falsification_tests` with FALSIFY- ids", key=True)


def no_falsifiers(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    if not c.falsifiers:
        yield Finding(("metadata",) if "metadata" in c.raw else (), "contract has no falsifiers: its status can only be PROPOSED",
                      "add falsification_tests entries that say how each claim could fail", key=True)


def _tests(c: LoadedContract) -> Iterator[tuple[int, dict[str, Any], Any]]:
    for i, entry in entries(c, "falsification_tests"):
        if text_id(entry.get("id")) is not None:
            yield i, entry, classify(entry.get("test") if isinstance(entry.get("test"), str) else None)


def prose_only(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, entry, field in _tests(c):
        if field.kind in (TestKind.PROSE, TestKind.PENDING) and not any(entry.get(k) for k in _EVIDENCE_FIELDS):
            what = "declared pending" if field.kind is TestKind.PENDING else "prose"
            yield Finding(("falsification_tests", i, "test"), f"falsifier {entry['id']}'s only test is {what}: nothing can run it, so it can never count as evidence",
                          "name a test (tests/...py::test_name) or a command that exercises the claim")


def no_test(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, entry, field in _tests(c):
        if field.kind is TestKind.NONE and not any(entry.get(k) for k in _EVIDENCE_FIELDS):
            yield Finding(("falsification_tests", i), f"falsifier {entry['id']} names no test",
                          "add `test:` with the test that can falsify the claim")


def node_exists(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    root = project_root(c.path)
    if root is None:
        return
    cache = ctx.cache.setdefault("test-files", {})
    for i, entry, field in _tests(c):
        if field.pytest_file is None:
            continue
        problem = node_problem(Path(root), field.pytest_file, field.pytest_names, cache)
        if problem:
            yield Finding(("falsification_tests", i, "test"), f"falsifier {entry['id']}: {problem}",
                          "the test named in `test:` must exist, or the falsifier can never be shown able to fail")


def not_a_node(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, entry, field in _tests(c):
        if field.pytest_file is None:
            yield Finding(("falsification_tests", i, "test") if "test" in entry else ("falsification_tests", i),
                          f"falsifier {entry['id']}: `test:` is not a pytest node id",
                          "name the test that shows the falsifier FALSIFIED on a broken engine: tests/...py::test_name")


def level_stated(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for i, entry in entries(c, "falsification_tests"):
        if entry.get("level") is None and entry.get("test_kind") is None:
            yield Finding(("falsification_tests", i), f"falsifier {entry.get('id', i + 1)} does not state its level",
                          "add level: algorithm, integration or live", key=True)


def live_thresholds(c: LoadedContract, ctx: CheckContext) -> Iterator[Finding]:
    for f in c.falsifiers:
        if f.section != "falsification_tests":
            continue
        has = f.raw.get("thresholds")
        if f.level is Level.LIVE and not has:
            yield Finding(f.path, f"live falsifier {f.id} has no thresholds: the runner cannot judge it",
                          "add thresholds: [{metric: NAME, op: '<=', value: NUMBER}]", key=True)
        elif f.level is not Level.LIVE and has:
            yield Finding((*f.path, "thresholds"), f"falsifier {f.id} has thresholds but level {f.level.value}: they are ignored",
                          "set level: live, or remove the thresholds", key=True)


E, W = Severity.ERROR, Severity.WARNING
RULES = (
    Rule("PV-TEST-001", "falsifier missing id, rule, prediction or if_fails", E,
         "Every `falsification_tests` entry needs `id`, `rule`, `prediction` and `if_fails` as text.",
         check=missing_fields),
    Rule("PV-TEST-002", "`falsification` entries without ids", W,
         "Older contracts list `falsification:` conditions without ids; no evidence can be keyed to them.",
         check=legacy_without_ids),
    Rule("PV-TEST-003", "falsifier whose only test is prose", W,
         "The `test:` field is classified as an executable command, a test reference, or prose (LIVE-PENDING/TODO "
         "count as prose). A falsifier whose only test is prose cannot be run and can never count as evidence.",
         check=prose_only),
    Rule("PV-TEST-004", "contract without falsifiers", W,
         "A contract with no falsifier can only ever be PROPOSED.", check=no_falsifiers),
    Rule("PV-TEST-005", "test node does not exist", E,
         "Under --strict or `check_test_nodes = true`: a `test:` naming a pytest node (`path/test_x.py::test_name`, "
         "`::Class::name`, `[param]`) must exist, relative to the project root (searched upwards from the contract: "
         "the folder whose pyproject.toml has [tool.pv], else the nearest with a pyproject.toml or .git; none: "
         "not checked). Checked with ast; pytest is not imported.",
         check=node_exists, strict_only=True, enabled_by="check_test_nodes"),
    Rule("PV-TEST-006", "falsifier names no test", W,
         "A falsifier with no `test:` (nor `site`, `binds_to` or `algorithm_evidence`).", check=no_test),
    Rule("PV-TEST-007", "test is not a pytest node", W,
         "Under --strict (this project's own contracts): every falsifier's `test:` names the pytest node that proves "
         "the implementation can fail (FALSIFIED with a broken engine, HELD with the real one).",
         check=not_a_node, strict_only=True),
    Rule("PV-LEVEL-002", "live falsifier without thresholds, or thresholds on a non-live one", W,
         "A live falsifier is judged by the runner against the contract's thresholds; without them it can never hold. "
         "Thresholds on an algorithm/integration falsifier are ignored.", check=live_thresholds),
    Rule("PV-LEVEL-004", "falsifier does not state its level", W,
         "Under --strict (this project's own contracts): every falsifier states `level` (algorithm is only the "
         "default for other projects' contracts).", check=level_stated, strict_only=True),
)
