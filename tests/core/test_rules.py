"""Every rule against fixture contracts with the expected codes and locations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apr_contracts.config import ValidateConfig
from apr_contracts.rules.base import Rule, RuleError, RuleRegistry, Severity
from apr_contracts.rules.builtin import BUILTIN_RULES, builtin_registry
from apr_contracts.rules.testfield import TestKind, classify
from apr_contracts.validate import validate_paths
from tests.core._shared import FIXTURES

SEMANTIC = [  # (code, line, column) expected from invalid-semantics.yaml, in report order
    ("PV-CHANGELOG-001", 3, 12), ("PV-CHANGELOG-002", 6, 3), ("PV-REF-002", 13, 5), ("PV-TEST-003", 21, 9),
    ("PV-ID-001", 23, 7), ("PV-TEST-001", 28, 3), ("PV-ID-005", 28, 7), ("PV-LEVEL-002", 32, 3),
    ("PV-LEVEL-001", 41, 10), ("PV-LEVEL-002", 42, 3), ("PV-LEVEL-003", 43, 5), ("PV-REF-003", 50, 15),
    ("PV-ID-002", 51, 7), ("PV-REF-001", 56, 15), ("PV-COUNT-001", 59, 22), ("PV-COUNT-002", 60, 11),
    ("PV-STATUS-002", 61, 11),
]


def test_fixture_node_target():
    """Named by valid-minimal.yaml's `test:`; PV-TEST-005 checks that it exists."""


class TestNodes:
    @pytest.mark.parametrize("case", [1])
    def test_method_target(self, case):
        assert case == 1


def _found(path: Path, **cfg) -> list[tuple[str, int, int]]:
    return [(i.code, i.line, i.column) for i in validate_paths([path], ValidateConfig(**cfg)).issues]


def test_semantic_fixture_codes_and_locations():
    assert _found(FIXTURES / "invalid-semantics.yaml") == SEMANTIC


def test_schema_fixture():
    report = validate_paths([FIXTURES / "invalid-schema.yaml"])
    assert [(i.code, i.line, i.column, i.severity.value) for i in report.issues] == [
        ("PV-TEST-004", 1, 1, "warning"), ("PV-SCHEMA-003", 4, 3, "warning"),  # unknown keys: reported even when types fail
        ("PV-SCHEMA-001", 6, 3, "error"), ("PV-SCHEMA-002", 8, 3, "error")]
    assert report.exit_code == 1


def test_valid_fixture_is_clean_even_strict():
    report = validate_paths([FIXTURES / "valid-minimal.yaml"], ValidateConfig(strict=True))
    assert report.issues == [] and report.exit_code == 0


def test_strict_turns_warnings_into_errors_and_adds_own_rules(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("metadata:\n  version: 1.0.0\n  status: PROPOSED\n  colour: x\nfalsification_tests:\n"
                 "- {id: FALSIFY-S-001, rule: r, prediction: p, if_fails: f, test: tests/nope.py::test_x}\n")
    (tmp_path / "pyproject.toml").write_text("[tool.pv]\nstrict = true\n")
    lax = validate_paths([p])
    assert [(i.code, i.severity.value) for i in lax.issues] == [("PV-SCHEMA-003", "warning")]
    strict = validate_paths([p], ValidateConfig(strict=True))
    assert [(i.code, i.line, i.severity.value) for i in strict.issues] == [
        ("PV-ID-008", 1, "error"), ("PV-STATUS-003", 3, "error"), ("PV-SCHEMA-003", 4, "error"),
        ("PV-LEVEL-004", 6, "error"), ("PV-TEST-005", 6, "error")]
    assert "tests/nope.py does not exist" in strict.issues[-1].message


def test_test_node_check_methods_params_and_typos(tmp_path):
    root = tmp_path / "proj"
    (root / "contracts").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text("[tool.pv]\ncheck_test_nodes = true\n")
    (root / "tests" / "test_a.py").write_text("class TestX:\n    def test_m(self):\n        pass\n\ndef test_real_name():\n    pass\n")
    nodes = ["tests/test_a.py::test_real_name", "tests/test_a.py::TestX::test_m[p-1]", "tests/test_a.py::test_reel_name",
             "tests/test_a.py::TestY::test_m", "tests/test_b.py::test_x"]
    body = "".join(f"- {{id: FALSIFY-N-00{i}, rule: r, prediction: p, if_fails: f, test: '{n}'}}\n" for i, n in enumerate(nodes, 1))
    c = root / "contracts" / "c.yaml"
    c.write_text("metadata: {id: c, version: 1.0.0}\nfalsification_tests:\n" + body)
    issues = validate_paths([c], ValidateConfig(check_test_nodes=True)).issues
    assert [(i.code, i.line) for i in issues] == [("PV-TEST-005", 5), ("PV-TEST-005", 6), ("PV-TEST-005", 7)]
    assert "did you mean test_real_name" in issues[0].message
    assert "defines no class TestY" in issues[1].message and "does not exist" in issues[2].message
    assert validate_paths([c]).issues == []  # not checked outside strict / check_test_nodes
    strict = validate_paths([c], ValidateConfig(strict=True)).issues
    assert [i.code for i in strict if i.code != "PV-LEVEL-004"] == ["PV-TEST-005"] * 3
    # A plain pyproject.toml (no [tool.pv]) is a project root too: its tests/ is where nodes are looked up.
    other = tmp_path / "elsewhere"
    (other / "tests").mkdir(parents=True)
    (other / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (other / "tests" / "test_a.py").write_text("def test_real_name():\n    pass\n")
    (other / "c.yaml").write_text(c.read_text())
    plain = validate_paths([other / "c.yaml"], ValidateConfig(check_test_nodes=True)).issues
    assert [(i.code, i.line) for i in plain] == [("PV-TEST-005", i) for i in (4, 5, 6, 7)]
    assert f"looked under {other}" in plain[-1].message  # tests/test_b.py: resolved against this root
    # No pyproject.toml or .git above the contract: nothing says where tests live, nothing is checked.
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "c.yaml").write_text(c.read_text())
    assert validate_paths([loose / "c.yaml"], ValidateConfig(check_test_nodes=True)).issues == []


def test_strict_own_conventions_level_and_pytest_node(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("metadata: {id: c, version: 1.0.0}\nfalsification_tests:\n"
                 "- id: FALSIFY-C-001\n  rule: r\n  prediction: p\n  if_fails: f\n  test: cargo test -p x\n")
    found = [(i.code, i.line) for i in validate_paths([p], ValidateConfig(strict=True)).issues]
    assert found == [("PV-LEVEL-004", 3), ("PV-TEST-007", 7)]
    assert validate_paths([p]).issues == []


def test_cross_contract_duplicates_and_references(tmp_path):
    a = tmp_path / "a-v1.yaml"
    b = tmp_path / "b-v1.yaml"
    a.write_text("metadata: {id: a-v1, version: 1.0.0, peer_contracts: [contracts/b-v1.yaml]}\n"
                 "falsification_tests:\n- {id: FALSIFY-X-001, rule: r, prediction: p, if_fails: f, test: cargo test}\n")
    b.write_text("metadata: {id: a-v1, version: 1.0.0, depends_on: [a-v1, ghost-v1]}\n"
                 "falsification_tests:\n- {id: FALSIFY-X-001, rule: r, prediction: p, if_fails: f, test: cargo test}\n")
    found = [(Path(i.file).name, i.code, i.line) for i in validate_paths([tmp_path]).issues]
    assert found == [("b-v1.yaml", "PV-ID-007", 1), ("b-v1.yaml", "PV-REF-002", 1), ("b-v1.yaml", "PV-ID-004", 3)]


def test_suppression_inline_own_line_and_file(tmp_path):
    report = validate_paths([FIXTURES / "suppressed.yaml"])
    assert [(i.code, i.line) for i in report.issues] == [("PV-TEST-003", 20)]
    assert sorted((i.code, i.line) for i in report.suppressed) == [("PV-SCHEMA-003", 4), ("PV-TEST-003", 9), ("PV-TEST-003", 15)]
    p = tmp_path / "f.yaml"
    shutil.copy(FIXTURES / "suppressed.yaml", p)
    p.write_text(p.read_text() + "# pv: ignore-file[PV-TEST]\n")
    assert validate_paths([p]).issues == []


def test_select_and_ignore_by_code_and_prefix():
    path = FIXTURES / "invalid-semantics.yaml"
    assert {c for c, _, _ in _found(path, select=("PV-ID",))} == {"PV-ID-001", "PV-ID-002", "PV-ID-005"}
    assert [c for c, _, _ in _found(path, select=("PV-LEVEL-003",))] == ["PV-LEVEL-003"]
    left = {c for c, _, _ in _found(path, ignore=("PV-LEVEL", "PV-REF-001"))}
    assert not {"PV-LEVEL-001", "PV-LEVEL-002", "PV-LEVEL-003", "PV-REF-001"} & left and "PV-REF-003" in left


@pytest.mark.parametrize(("text", "kind"), [
    ("tests/falsifiers/test_tok.py::test_import_hf_004", TestKind.REFERENCE),
    ("cargo test -p aprender --lib tokenize::tests::x", TestKind.COMMAND),
    ("pv validate contracts/x.yaml", TestKind.COMMAND),
    ("apr inspect /nonexistent/model.gguf; test $? -ne 0", TestKind.COMMAND),
    ("! grep -nE 'x' file", TestKind.COMMAND),
    ("bash scripts/check_bench_receipt.sh   # cases 04, 05", TestKind.COMMAND),
    ("RUST_LOG=debug cargo test", TestKind.COMMAND),
    ("crates/apr-cli/src/commands/tokenize.rs::tests::import_ok", TestKind.REFERENCE),
    ("transformer::model::tests::gqa_smoke", TestKind.REFERENCE),
    ("LIVE-PENDING — requires a GPU", TestKind.PENDING),
    ("proptest with random x in [-10, 10]", TestKind.PROSE),
    ("Live: build with cargo, run on the box", TestKind.PROSE),
    ("", TestKind.NONE),
])
def test_test_field_classifier(text, kind):
    assert classify(text).kind is kind


def test_registry_rejects_duplicates_and_bad_codes():
    reg = builtin_registry()
    assert len(reg) == len(BUILTIN_RULES)
    with pytest.raises(RuleError, match="registered by both"):
        reg.add(BUILTIN_RULES[0])
    with pytest.raises(RuleError, match="upper-case"):
        RuleRegistry().add(Rule("acme 1", "x", Severity.INFO, "x"))


def test_plugin_rule_runs_and_a_crashing_rule_becomes_internal_issue():
    reg = builtin_registry()
    reg.add(Rule("ACME-001", "every contract is noted", Severity.INFO, "demo",
                 check=lambda c, ctx: [__import__("apr_contracts.rules.base", fromlist=["Finding"]).Finding(("metadata", "id"), "noted")]))
    reg.add(Rule("ACME-002", "crashes", Severity.WARNING, "demo", check=lambda c, ctx: [1 / 0]))
    report = validate_paths([FIXTURES / "valid-minimal.yaml"], registry=reg)
    assert [(i.code, i.line) for i in report.issues] == [("PV-INTERNAL-001", 0), ("ACME-001", 3)]
    assert "ACME-002 failed: ZeroDivisionError" in report.issues[0].message


PLUGIN = '''
from apr_contracts import hookimpl
from apr_contracts.rules.base import Finding, Rule, Severity


def _todo(contract, ctx):
    for f in contract.falsifiers:
        if "TODO" in (f.prediction or ""):
            yield Finding((*f.path, "prediction"), f"{f.id}: prediction says TODO")


@hookimpl
def apr_register_rules(registry):
    registry.add(Rule("ACME-TODO-001", "no TODO predictions", Severity.WARNING, "demo", check=_todo))
'''


def test_plugin_rules_through_the_hook(tmp_path, monkeypatch):
    from apr_contracts.plugins import PluginSettings
    from apr_contracts.validate import build_registry

    (tmp_path / "acme_pv_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = build_registry(settings=PluginSettings(autoload=False, extra_modules=("acme_pv_rules",)))
    assert reg.owners["ACME-TODO-001"] == "acme_pv_rules" and reg.plugin_failures == []
    c = tmp_path / "c.yaml"
    c.write_text("metadata: {id: c, version: 1.0.0}\nfalsification_tests:\n"
                 "- {id: FALSIFY-C-001, rule: r, prediction: TODO, if_fails: f, test: cargo test}\n")
    found = [(i.code, i.line, i.severity.value) for i in validate_paths([c], ValidateConfig(strict=True), reg).issues]
    assert ("ACME-TODO-001", 3, "error") in found  # plugin warnings follow --strict too


def test_unused_and_unknown_suppressions_are_reported(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("metadata:\n  id: c  # pv: ignore[PV-ID-001]\n  version: 1.0.0  # pv: ignore[PV-NOPE-999]\n"
                 "  status: PROPOSED  # pv: ignore[PV-STATUS-003]\n"
                 "falsification_tests:\n- {id: FALSIFY-C-001, rule: r, prediction: p, if_fails: f, test: cargo test}\n")
    found = [(i.code, i.line, i.column, i.message) for i in validate_paths([p]).issues]
    assert found == [
        ("PV-SUPPRESS-001", 2, 10, "suppression `pv: ignore[PV-ID-001]` matches no finding"),
        ("PV-SUPPRESS-001", 3, 19, "suppression `pv: ignore[PV-NOPE-999]` names no known rule code"),
    ]  # PV-STATUS-003 only runs under --strict: its suppression is not judged here
    strict = validate_paths([p], ValidateConfig(strict=True))
    assert [i.code for i in strict.suppressed] == ["PV-STATUS-003"]
    assert validate_paths([p], ValidateConfig(ignore=("PV-SUPPRESS",))).issues == []


def test_suppression_syntax_inside_a_string_is_text_not_a_comment(tmp_path):
    p = tmp_path / "doc-v1.yaml"
    p.write_text(
        "metadata:\n  id: doc-v1\n  version: 1.0.0\n  description: >\n"
        "    To silence a finding, write # pv: ignore[PV-TEST-003] after the key.\n"
        "falsification_tests:\n- id: FALSIFY-DOC-001\n  rule: r\n  prediction: p\n"
        "  test: 'prose # pv: ignore[PV-TEST-003]'\n  if_fails: f\n"
    )
    report = validate_paths([p])
    assert [(i.code, i.line) for i in report.issues] == [("PV-TEST-003", 10)]
    assert report.suppressed == []
    p.write_text(p.read_text().replace("- id: FALSIFY-DOC-001\n", "- id: FALSIFY-DOC-001  # pv: ignore[PV-TEST-003]\n"))
    assert validate_paths([p]).issues == []  # a real comment still works
