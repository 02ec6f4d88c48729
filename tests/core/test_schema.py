"""The models accept every real contract family; `pv schema` is a usable JSON Schema."""

from __future__ import annotations

import json

import pytest

from apr_contracts.cli import main
from apr_contracts.loader import load_contracts
from apr_contracts.schema import Contract, contract_json_schema
from tests.core._shared import reference_dir, reference_files

NARROWNESS = ("PV-SCHEMA-001", "PV-SCHEMA-002", "PV-YAML-", "PV-INTERNAL-")


@pytest.mark.parametrize("path", reference_files() or [None], ids=lambda p: p.name if p else "absent")
def test_reference_contract_loads_without_schema_error(path):
    if path is None:
        reference_dir()  # skips with the reason
    res = load_contracts([path])
    bad = [i.to_dict() for i in res.issues if i.code.startswith(NARROWNESS)]
    assert bad == []
    assert len(res.contracts) == 1 and res.contracts[0].model is not None
    assert all(i.severity == "warning" for i in res.issues)  # only unknown-key warnings remain


def test_reference_families_and_counts():
    res = load_contracts([reference_dir()])
    # versions/ holds two name@rev.yaml snapshots of live files: skipped, with their reason.
    assert len(res.contracts) == 26 and [p.parent.name for p, _ in res.skipped] == ["versions", "versions"]
    ids = {c.id for c in res.contracts}
    assert {"C-CHINCHILLA-GATE", "apr-book-ch01", "gqa-kernel-v1", "C-APR-AUDIT-SHIP-TWO"} <= ids
    assert sum(len(c.falsifiers) for c in res.contracts) == 146  # the count issue 11 names
    snapshots = load_contracts([reference_dir(), *(p for p, _ in res.skipped)])  # named: read
    assert len(snapshots.contracts) == 28 and snapshots.skipped == []


def test_versions_written_as_numbers_become_text():
    m = Contract.model_validate({"version": 1, "metadata": {"version": 1.5, "changelog": ["1.5 (x): y", {"version": 1.0}]}})
    assert m.version == "1" and m.metadata is not None and m.metadata.version == "1.5"
    assert m.metadata.changelog is not None and m.metadata.changelog[1].version == "1.0"  # type: ignore[union-attr]


def test_unknown_keys_are_kept():
    m = Contract.model_validate({"metadata": {"id": "x", "colour": "blue"}, "five_whys": {"a": 1}})
    assert m.model_extra == {"five_whys": {"a": 1}}
    assert m.metadata is not None and m.metadata.model_extra == {"colour": "blue"}


def test_json_schema_cli(capsys, tmp_path):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(contract_json_schema(), sort_keys=True))
    props = schema["properties"]
    assert {"metadata", "falsification_tests", "proof_obligations", "kani_harnesses", "qa_gate", "verification_summary"} <= set(props)
    assert schema["$defs"]["FalsificationTest"]["additionalProperties"] is True
    out = tmp_path / "contract.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == schema
