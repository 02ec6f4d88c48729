"""Acceptance files under `pv validate`: recognition, schema findings with lines, PV-ACCEPT-* fire and stay quiet."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from apr_contracts.acceptance.bind import binds_to_tokens, resolve
from apr_contracts.cli import main as pv
from apr_contracts.config import ValidateConfig
from apr_contracts.loader import load_contracts
from apr_contracts.validate import validate_paths

from ._shared import REPO, reference_dir

CONTRACT = """\
metadata:
  id: demo-v1
  version: 1.0.0
  description: demo
equations:
  add_is_exact: {{formula: "a + b"}}
falsification_tests:
- id: FALSIFY-DEMO-001
  rule: r1
  prediction: p1
  if_fails: f1
  level: algorithm
  binds_to: {bind1}
- id: FALSIFY-DEMO-002
  rule: r2
  prediction: p2
  if_fails: f2
  level: integration
  binds_to: add_is_exact
- id: FALSIFY-DEMO-LIVE-001
  rule: r3
  prediction: p3
  if_fails: f3
  level: live
  thresholds: [{{metric: loss, op: "<=", value: 4.0}}]
gates:
- id: GATE-DEMO-001
  rule: FALSIFY-DEMO-002 PASS
  binds_to: {bind2}
"""

ACCEPTANCE = """\
acceptance:
  id: demo-acceptance
  version: 1.0.0
products:
- id: DEMO
  title: demo product
  status: {status}
  criteria:
  - id: AC-DEMO-001
    title: first
    falsifiers: [FALSIFY-DEMO-001]
  - id: AC-DEMO-002
    title: second
    weight: 2
    contracts: [demo-v1]
{extra}"""

GOOD_STATUS = "{count: 1, of: 2, ids: [AC-DEMO-001]}"


def write(tmp: Path, *, bind1: str = "AC-DEMO-001", bind2: str = "AC-DEMO-002", status: str = GOOD_STATUS,
          extra: str = "") -> tuple[Path, Path]:
    (tmp / "contracts").mkdir(exist_ok=True)
    (tmp / "acceptance").mkdir(exist_ok=True)
    c = tmp / "contracts" / "demo-v1.yaml"
    c.write_text(CONTRACT.format(bind1=bind1, bind2=bind2))
    a = tmp / "acceptance" / "demo.yaml"
    a.write_text(ACCEPTANCE.format(status=status, extra=extra))
    return c, a


def codes(*paths: Path, strict: bool = False) -> list[tuple[str, str, int]]:
    report = validate_paths(list(paths), ValidateConfig(strict=strict))
    return [(i.code, Path(i.file).name, i.line) for i in report.issues]


def accept_codes(*paths: Path) -> list[str]:
    return [c for c, _, _ in codes(*paths) if c.startswith("PV-ACCEPT") or c.startswith("PV-SCHEMA")]


def test_acceptance_file_is_recognized_and_contract_stays_contract(tmp_path: Path) -> None:
    write(tmp_path)
    loaded = load_contracts([tmp_path])
    assert [x.id for x in loaded.contracts] == ["demo-v1"]
    assert [x.id for x in loaded.acceptance] == ["demo-acceptance"]
    # a file with contract sections stays a contract even with an `acceptance:` key
    both = tmp_path / "both.yaml"
    both.write_text("metadata: {id: both-v1}\nacceptance: {id: x}\n")
    loaded = load_contracts([both])
    assert [x.id for x in loaded.contracts] == ["both-v1"] and not loaded.acceptance


def test_clean_files_give_no_acceptance_finding(tmp_path: Path) -> None:
    write(tmp_path)
    assert accept_codes(tmp_path) == []


def test_schema_errors_are_located(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(textwrap.dedent("""\
        acceptance: {id: x}
        products:
        - id: P
          criteria:
          - id: AC-1
            weight: -1
            falsifiers: [F]
            liv: true
    """))
    found = codes(a)
    assert ("PV-SCHEMA-001", "a.yaml", 6) in found  # weight must be > 0
    assert ("PV-SCHEMA-003", "a.yaml", 8) in found  # `liv` -> did you mean `live`
    report = validate_paths([a], ValidateConfig())
    assert any("did you mean `live`" in i.message for i in report.issues)


@pytest.mark.parametrize(("status", "code", "line"), [
    ("{count: 2, of: 2, ids: [AC-DEMO-001]}", "PV-ACCEPT-002", 7),
    ("{count: 3, of: 2, ids: [AC-DEMO-001, AC-DEMO-002, AC-DEMO-009]}", "PV-ACCEPT-003", 7),
    ("{count: 1, of: 2, ids: [AC-DEMO-009]}", "PV-ACCEPT-004", 7),
    ("{count: 1, of: 5, ids: [AC-DEMO-001]}", "PV-ACCEPT-005", 7),
])
def test_status_block_structural_rules_fire(tmp_path: Path, status: str, code: str, line: int) -> None:
    _, a = write(tmp_path, status=status)
    found = [x for x in codes(a) if x[0] == code]
    assert found == [(code, "demo.yaml", line)]
    write(tmp_path)  # the good block: quiet
    assert not [x for x in codes(a) if x[0] == code]


def test_duplicate_criterion_id_across_files(tmp_path: Path) -> None:
    write(tmp_path)
    other = tmp_path / "acceptance" / "other.yaml"
    other.write_text("acceptance: {id: other}\nproducts:\n- id: Q\n  criteria:\n  - id: AC-DEMO-001\n"
                     "    falsifiers: [FALSIFY-DEMO-001]\n")
    found = [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-001"]
    assert found == [("PV-ACCEPT-001", "other.yaml", 5)]
    other.unlink()
    assert not [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-001"]


def test_unknown_falsifier_and_contract_only_with_contracts_loaded(tmp_path: Path) -> None:
    _, a = write(tmp_path, extra="  - id: AC-DEMO-003\n    falsifiers: [FALSIFY-NOPE-001]\n    contracts: [nope-v1]\n")
    assert [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-006"] == [
        ("PV-ACCEPT-006", "demo.yaml", 17), ("PV-ACCEPT-006", "demo.yaml", 18)]
    # the acceptance file alone: nothing to resolve against, so no noise
    assert not [x for x in codes(a) if x[0] == "PV-ACCEPT-006"]


def test_both_directions_must_agree(tmp_path: Path) -> None:
    write(tmp_path, bind1="AC-DEMO-002")  # listed under 001, binds to 002
    found = [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-007"]
    assert found == [("PV-ACCEPT-007", "demo.yaml", 11)]
    write(tmp_path, bind1="AC-DEMO-001 + AC-DEMO-002")  # binding to several criteria includes 001
    assert not [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-007"]


def test_binds_to_unknown_criterion_only_when_acceptance_files_are_validated(tmp_path: Path) -> None:
    c, _ = write(tmp_path, bind2="AC-DEMO-404")
    found = [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-008"]
    assert found == [("PV-ACCEPT-008", "demo-v1.yaml", 29)]
    assert not [x for x in codes(c) if x[0] == "PV-ACCEPT-008"]  # contract-only: quiet
    write(tmp_path)  # equations (`add_is_exact`) and known criteria: quiet
    assert not [x for x in codes(tmp_path) if x[0] == "PV-ACCEPT-008"]


def test_live_criterion_without_live_falsifier_and_criterion_needing_nothing(tmp_path: Path) -> None:
    extra = ("  - id: AC-DEMO-003\n    live: true\n    falsifiers: [FALSIFY-DEMO-002]\n"
             "  - id: AC-DEMO-004\n    title: nothing\n")
    write(tmp_path, extra=extra)
    found = codes(tmp_path)
    assert [x for x in found if x[0] == "PV-ACCEPT-009"] == [("PV-ACCEPT-009", "demo.yaml", 17)]
    assert [x for x in found if x[0] == "PV-ACCEPT-010"] == [("PV-ACCEPT-010", "demo.yaml", 19)]
    write(tmp_path, extra="  - id: AC-DEMO-003\n    live: true\n    falsifiers: [FALSIFY-DEMO-LIVE-001]\n")
    assert not [x for x in codes(tmp_path) if x[0] in ("PV-ACCEPT-009", "PV-ACCEPT-010")]


def test_every_acceptance_rule_has_an_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(1, 12):
        assert pv(["explain", f"PV-ACCEPT-{n:03d}", "--no-plugins"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"PV-ACCEPT-{n:03d}: ") and "suppress" in out


def test_resolution_adds_bound_falsifiers_and_gates(tmp_path: Path) -> None:
    write(tmp_path)
    loaded = load_contracts([tmp_path])
    (product,) = resolve(loaded.acceptance, loaded.contracts)
    first, second = product.criteria
    assert first.needs == ("demo-v1::FALSIFY-DEMO-001",)  # needs carry the contract: ids are scoped per contract
    # the whole contract, and the gate's named falsifier, without duplicates
    assert second.needs == ("demo-v1::FALSIFY-DEMO-001", "demo-v1::FALSIFY-DEMO-002", "demo-v1::FALSIFY-DEMO-LIVE-001")
    assert binds_to_tokens("AC-SHIP2-003 + AC-SHIP2-011") == ["AC-SHIP2-003", "AC-SHIP2-011"]
    assert binds_to_tokens(["A", "B and C"]) == ["A", "B", "C"]


def test_ship_percent_is_invariant_to_file_order(tmp_path: Path) -> None:
    from apr_contracts.acceptance.board import build_ship

    _, a = write(tmp_path)
    more = tmp_path / "acceptance" / "more.yaml"
    more.write_text("acceptance: {id: more}\nproducts:\n- id: DEMO\n  criteria:\n  - id: AC-DEMO-009\n"
                    "    falsifiers: [FALSIFY-DEMO-002]\n")
    c = tmp_path / "contracts"
    one = load_contracts([c, a, more])
    two = load_contracts([more, a, c])
    ships = [[(p.id, p.ship) for p in build_ship(x.acceptance, x.contracts, None).products] for x in (one, two)]
    assert ships[0] == ships[1]


def test_our_acceptance_file_validates_strictly_with_our_contracts() -> None:
    report = validate_paths([REPO / "contracts", REPO / "acceptance"], ValidateConfig(strict=True))
    assert report.errors == 0, [i.to_dict() for i in report.issues]
    assert len(report.acceptance) == 1


def test_reference_contracts_with_example_acceptance_file(capsys: pytest.CaptureFixture[str]) -> None:
    ref = reference_dir()
    example = REPO / "examples" / "acceptance" / "ship-two.yaml"
    assert pv(["validate", "--no-strict", "--format", "json", "--no-plugins", str(ref), str(example)]) in (0, 1)
    issues = json.loads(capsys.readouterr().out)["issues"]
    ours = [i for i in issues if i["file"].endswith("ship-two.yaml")]
    # Their AC-SHIP2-003 evidence has no live falsifier (pretokenize and training gates only): a real finding.
    assert {i["code"] for i in ours} == {"PV-ACCEPT-009"}
    # every binds_to of theirs names a criterion of ours (or an equation): no PV-ACCEPT-008
    assert not [i for i in issues if i["code"] == "PV-ACCEPT-008"]


def test_pv_schema_prints_the_acceptance_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["schema", "--kind", "acceptance"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "apr-contracts acceptance file"
    assert set(schema["required"]) == {"acceptance", "products"}
    criterion = schema["$defs"]["Criterion"]["properties"]
    assert criterion["weight"]["exclusiveMinimum"] == 0 and "live" in criterion
    assert pv(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "apr-contracts contract"


def test_a_bare_id_two_contracts_declare_is_ambiguous_and_the_qualified_form_resolves(tmp_path: Path) -> None:
    """Ids are scoped per contract: another contract reusing FALSIFY-DEMO-002 is allowed (PV-ID-004 is only
    noted), but a criterion naming the bare id cannot say which claim it needs (PV-ACCEPT-011, an error)."""
    write(tmp_path, extra="  - id: AC-DEMO-003\n    falsifiers: [FALSIFY-DEMO-002]\n"
                          "  - id: AC-DEMO-004\n    falsifiers: ['other-v1::FALSIFY-DEMO-002']\n")
    (tmp_path / "contracts" / "other-v1.yaml").write_text(
        "metadata: {id: other-v1, version: 1.0.0, description: d}\nfalsification_tests:\n"
        "- {id: FALSIFY-DEMO-002, rule: another claim, prediction: p, if_fails: f}\n")
    report = validate_paths([tmp_path], ValidateConfig())
    found = [(i.code, i.severity.value, Path(i.file).name, i.line) for i in report.issues
             if i.code in ("PV-ACCEPT-011", "PV-ID-004", "PV-ACCEPT-006")]
    assert ("PV-ACCEPT-011", "error", "demo.yaml", 17) in found
    assert [f for f in found if f[0] == "PV-ACCEPT-006"] == []  # the qualified form is known
    assert any(f[:2] == ("PV-ID-004", "info") for f in found)
    message = next(i.message for i in report.issues if i.code == "PV-ACCEPT-011")
    assert "`demo-v1::FALSIFY-DEMO-002` or `other-v1::FALSIFY-DEMO-002`" in message
    loaded = load_contracts([tmp_path])
    (product,) = resolve(loaded.acceptance, loaded.contracts)
    by_id = {c.id: c for c in product.criteria}
    assert by_id["AC-DEMO-003"].needs == () and [b.reason for b in by_id["AC-DEMO-003"].blockers] == [
        "ambiguous_falsifier"]
    assert by_id["AC-DEMO-004"].needs == ("other-v1::FALSIFY-DEMO-002",)
