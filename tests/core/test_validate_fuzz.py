"""Property tests: whatever the input, validation never raises and never reports an internal error.

Every problem in a contract must become a specific issue (PV-YAML-*, PV-SCHEMA-*, ...);
PV-INTERNAL-001 means pv itself broke, which these tests forbid.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apr_contracts.config import ValidateConfig
from apr_contracts.validate import validate_paths
from tests.core._shared import FIXTURES, reference_files

KEYS = ["metadata", "id", "version", "status", "changelog", "falsification_tests", "falsification", "rule",
        "prediction", "test", "if_fails", "level", "thresholds", "metric", "op", "value", "proof_obligations",
        "kani_harnesses", "obligation", "verification_summary", "total_obligations", "tested", "equations",
        "depends_on", "peer_contracts", "invariants", "gates", "verdict", "discharge_status", "contract_id",
        "applies_to", "test_kind", "x"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["FALSIFY-A-001", "1.0.0", "live", "<=", "PROPOSED", "tests/x.py::test_y",
                                           "cargo test", "LIVE-PENDING", "1.2", "# pv: ignore[PV-TEST-003]"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=6)),
    max_leaves=40,
)
SETTINGS = settings(max_examples=int(os.environ.get("PV_FUZZ_EXAMPLES", "120")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(text: str, strict: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        other = Path(tmp) / "d.yaml"  # a second contract so cross-contract rules have something to compare
        other.write_text(text, encoding="utf-8", errors="surrogatepass")
        report = validate_paths([tmp], ValidateConfig(strict=strict, check_test_nodes=strict))
    internal = [i.to_dict() for i in report.issues if i.code == "PV-INTERNAL-001"]
    assert internal == []
    assert all(i.line >= 0 and i.column >= 0 and i.message for i in report.issues)


@SETTINGS
@given(documents, st.booleans())
def test_arbitrary_yaml_documents(doc: Any, strict: bool) -> None:
    _check(yaml.safe_dump(doc, allow_unicode=True), strict)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), documents, min_size=1, max_size=6))
def test_arbitrary_contract_shaped_documents(doc: dict[str, Any]) -> None:
    doc.setdefault("metadata", {"id": "fuzz"})
    _check(yaml.safe_dump(doc, allow_unicode=True))


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _check(text.encode("utf-8", "replace").decode("utf-8"))


def _corpus() -> list[dict[str, Any]]:
    files = reference_files() or sorted(FIXTURES.glob("*.yaml"))
    out = []
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            out.append(data)
    return out


CORPUS = _corpus()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_contracts(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "duplicate", "rename"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(documents)
        elif action == "delete":
            del parent[last]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = parent.pop(last)
    return doc


@SETTINGS
@given(mutated_contracts(), st.booleans())
def test_mutations_of_real_contracts(doc: Any, strict: bool) -> None:
    _check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), strict)


@SETTINGS
@given(st.sampled_from(reference_files() or sorted(FIXTURES.glob("*.yaml"))), st.data())
def test_text_mutations_of_real_contracts(path: Path, data: st.DataObject) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        what = data.draw(st.sampled_from(["drop", "indent", "dedent", "junk", "dup"]))
        if not lines:
            break
        if what == "drop":
            lines.pop(i)
        elif what == "indent":
            lines[i] = "  " + lines[i]
        elif what == "dedent":
            lines[i] = lines[i].lstrip()
        elif what == "dup":
            lines.insert(i, lines[i])
        else:
            lines.insert(i, data.draw(st.text(alphabet=":-[]{}&*!|>'\"# \tab1", max_size=12)))
    _check("\n".join(lines) + "\n")
