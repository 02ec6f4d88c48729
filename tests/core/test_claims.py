"""Claim hashes: stale exactly when a falsifier's claim changes, never for metadata edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.claims import claim_hash, claim_payload, referenced_equations
from apr_contracts.loader import load_contracts
from tests.core.pv_fixtures import demo_yaml, entry, write_contract

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-contracts" / "aprender"


def _hashes(tmp_path: Path, text: str, name: str = "c") -> dict[str, str]:
    contract = write_contract(tmp_path / name, text)
    return {f.id: claim_hash(contract, f) for f in contract.falsifiers}


def test_hash_is_sha256_hex_and_deterministic(tmp_path: Path) -> None:
    first = _hashes(tmp_path, demo_yaml(), "a")
    second = _hashes(tmp_path, demo_yaml(), "b")
    assert first == second
    assert len(set(first.values())) == 3  # different falsifiers, different claims
    for value in first.values():
        assert len(value) == 64 and int(value, 16) >= 0


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(demo_yaml(status="FUNCTIONAL"), id="metadata.status added"),
        pytest.param(demo_yaml().replace("Tightened the threshold.", "Reworded the changelog."), id="changelog"),
        pytest.param(demo_yaml(summary="verification_summary:\n  total_obligations: 3\n  tested: 3\n"),
                     id="verification_summary"),
        pytest.param(demo_yaml().replace("  version: 1.2.0\n  created", "  version: 1.3.0\n  created"),
                     id="metadata.version"),
        pytest.param(demo_yaml().replace("if_fails: Every sum downstream is wrong.", "if_fails: Sums are wrong."),
                     id="if_fails reworded"),
        pytest.param(demo_yaml().replace("  test: tests/core/test_scoreboard.py::test_demo\n  if_fails: Every",
                                         "  test: tests/core/test_other.py::test_x\n  if_fails: Every"),
                     id="test node renamed"),
        pytest.param(demo_yaml(prediction=">\n    add(a, 0) == a\n    for every a in -1000..1000."),
                     id="prediction re-flowed as folded block"),
        pytest.param(demo_yaml(prediction="|\n    add(a, 0) == a for every\n    a in -1000..1000."),
                     id="prediction re-flowed as literal block"),
        pytest.param(demo_yaml(threshold=2), id="threshold 2.0 written as 2"),
        pytest.param(demo_yaml().replace("- id: FALSIFY-DEMO-001\n", "- id: FALSIFY-DEMO-001\n  status: DISCHARGED\n"
                                         "  notes: mentions add_commutes in passing\n"),
                     id="falsifier's own status and notes"),
        pytest.param(demo_yaml().replace('formula: "add(a, b) = add(b, a)"', 'formula: "add(a, b) == add(b, a)"'),
                     id="an equation the falsifier does not mention"),
    ],
)
def test_edits_that_are_not_claims_keep_every_hash(tmp_path: Path, edited: str) -> None:
    assert _hashes(tmp_path, edited, "edited") == _hashes(tmp_path, demo_yaml(), "base")


@pytest.mark.parametrize(
    ("edited", "changed"),
    [
        (demo_yaml(prediction="add(a, 0) == a for every a in -10..10."), {"FALSIFY-DEMO-001"}),
        (demo_yaml().replace("rule: The adder CLI adds.", "rule: The adder CLI adds integers."), {"FALSIFY-DEMO-002"}),
        (demo_yaml().replace("level: integration", "level: algorithm"), {"FALSIFY-DEMO-002"}),
        (demo_yaml(threshold=1.5), {"FALSIFY-DEMO-003"}),
        (demo_yaml().replace('op: "<="', 'op: "<"'), {"FALSIFY-DEMO-003"}),
        (demo_yaml().replace("metric: seconds", "metric: wall_seconds"), {"FALSIFY-DEMO-003"}),
        # FALSIFY-DEMO-001's rule names add_identity: changing that equation changes its claim.
        (demo_yaml().replace('formula: "add(a, 0) = a"', 'formula: "add(a, 0) = a + 0"'), {"FALSIFY-DEMO-001"}),
        (demo_yaml().replace("- id: FALSIFY-DEMO-002", "- id: FALSIFY-DEMO-020"), {"FALSIFY-DEMO-020"}),
    ],
)
def test_claim_edits_change_exactly_that_falsifiers_hash(tmp_path: Path, edited: str, changed: set[str]) -> None:
    base = _hashes(tmp_path, demo_yaml(), "base")
    new = _hashes(tmp_path, edited, "edited")
    differing = {fid for fid in new if base.get(fid) != new[fid]}
    assert differing == changed


def test_referenced_equations_whole_words_and_explicit_fields(tmp_path: Path) -> None:
    text = demo_yaml().replace("- id: FALSIFY-DEMO-002\n", "- id: FALSIFY-DEMO-002\n  applies_to: add_commutes\n")
    text = text.replace("A million additions finish", "my_add_identity_cache is not add_identity_x; additions finish")
    contract = write_contract(tmp_path, text)
    assert referenced_equations(contract, entry(contract, "FALSIFY-DEMO-001")) == ["add_identity"]
    assert referenced_equations(contract, entry(contract, "FALSIFY-DEMO-002")) == ["add_commutes"]
    assert referenced_equations(contract, entry(contract, "FALSIFY-DEMO-003")) == []  # substrings do not count
    payload = claim_payload(contract, entry(contract, "FALSIFY-DEMO-001"))
    assert payload["equations"]["add_identity"]["formula"] == "add(a, 0) = a"
    assert payload["thresholds"] == []


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference contracts not present at {REFERENCE}")
def test_real_contract_revisions_keep_hashes_of_unchanged_claims() -> None:
    # Two stored revisions of the same upstream contracts: v1.5.0 -> v1.6.0 of arch-polymorphic
    # only edits status/changelog/summary text; import-hf v1.0.0 -> v1.1.0 rewrites one prediction.
    snapshots = sorted((REFERENCE / "versions").glob("*@*.yaml"))  # named explicitly: not skipped
    loaded = {c.id: c for c in load_contracts([REFERENCE, *snapshots]).contracts}
    pairs = [("apr-pretrain-arch-polymorphic-v1", "apr-pretrain-arch-polymorphic-v1@769b4e26"),
             ("apr-cli-tokenize-import-hf-v1", "apr-cli-tokenize-import-hf-v1@e84b3e43")]
    for new_id, old_id in pairs:
        new, old = loaded[new_id], loaded[old_id]
        old_by_id = {f.id: f for f in old.falsifiers}
        for f in new.falsifiers:
            if f.id not in old_by_id:
                continue
            o = old_by_id[f.id]
            same_claim = (" ".join((f.rule or "").split()), " ".join((f.prediction or "").split()), f.level,
                          f.thresholds) == (" ".join((o.rule or "").split()), " ".join((o.prediction or "").split()),
                                            o.level, o.thresholds)
            assert (claim_hash(new, f) == claim_hash(old, o)) is same_claim, (new_id, f.id)
    # and the import-hf revision really did change one claim (the test above is not vacuous)
    new, old = loaded["apr-cli-tokenize-import-hf-v1"], loaded["apr-cli-tokenize-import-hf-v1@e84b3e43"]
    assert claim_hash(new, new.falsifiers[0]) != claim_hash(old, old.falsifiers[0])
