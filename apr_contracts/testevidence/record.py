"""Link test cases against a project's contracts and record the results as one evidence run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.outcomes import Outcome
from apr_contracts.results import Result
from apr_contracts.testevidence import tree
from apr_contracts.testevidence.cases import TestCase
from apr_contracts.testevidence.importer import result_for
from apr_contracts.testevidence.link import Linking, link


@dataclass
class Imported:
    results: list[Result]
    linking: Linking
    run_id: int
    evidence: Path
    cases: int

    @property
    def failed(self) -> bool:
        return any(r.outcome in (Outcome.FALSIFIED, Outcome.ERROR) for r in self.results)

    def summary(self) -> str:
        counts = ", ".join(f"{sum(1 for r in self.results if r.outcome is o)} {o.value.lower()}"
                           for o in sorted({r.outcome for r in self.results}, key=str))
        return (f"pv: {self.cases} test case(s): {len(self.results)} falsifier(s) linked"
                f"{' (' + counts + ')' if counts else ''}, {len(self.linking.unlinked)} test case(s) linked to "
                f"none, {len(self.linking.problems)} problem(s); run #{self.run_id} in {self.evidence}")


def import_cases(cases: Sequence[TestCase], project: Any, contracts: Sequence[Any], *, source: str, command: str,
                 commit: str | None = None, reports: Mapping[str, str] | None = None) -> Imported:
    """Link ``cases`` to ``contracts`` and record one run in ``project``'s evidence database."""
    from apr_contracts.evidence import EvidenceStore
    from apr_contracts.provenance import git_sha, host, versions

    linking = link(cases, contracts)
    root = project.root
    state = tree.pinned(commit) if commit else tree.state(root)
    results = [result_for(lk, source=source, tree_state=state, tree_root=str(root), reports=dict(reports or {}))
               for lk in linking.links.values()]
    store = EvidenceStore(project.evidence)
    try:
        run_id = store.begin_run(command=command, git_sha=commit or git_sha(root), host=host(), versions=versions())
        if results:
            store.record_many(run_id, results)
        counts: dict[str, int] = {}
        for r in results:
            counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
        failed = any(r.outcome in (Outcome.FALSIFIED, Outcome.ERROR) for r in results)
        store.end_run(run_id, counts=counts, exit_code=1 if failed or linking.problems else 0)
    finally:
        store.close()
    return Imported(results, linking, run_id, project.evidence, len(cases))


def record_cases(cases: Sequence[TestCase], *, start: Path, evidence: str | None, source: str, command: str) -> str:
    """`pytest --pv-evidence`: the project holding ``start``, its default contract paths; a summary line."""
    from apr_contracts.loader import load_contracts
    from apr_contracts.project import Project

    project = Project.discover(start, evidence=evidence)
    paths = project.default_paths("contracts")
    if not paths:
        return (f"pv: --pv-evidence: no contracts under {project.root} (set [tool.pv] paths or add contracts/); "
                "nothing recorded")
    loaded = load_contracts(paths, exclude=project.exclude())
    imported = import_cases(cases, project, loaded.contracts, source=source, command=command)
    lines = [imported.summary(), *(f"pv: problem: {p}" for p in imported.linking.problems)]
    return "\n".join(lines)
