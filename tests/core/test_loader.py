"""The loader: safe YAML, locations, discovery, refusals, and the interface pv run relies on."""

from __future__ import annotations

import time
from pathlib import Path

from apr_contracts.loader import load_contracts
from apr_contracts.outcomes import Level
from apr_contracts.schema.yamlsrc import parse_yaml
from tests.core._shared import FIXTURES


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _codes(res) -> list[tuple[str, int]]:
    return [(i.code, i.line) for i in res.issues]


def test_loaded_contract_interface():
    res = load_contracts([FIXTURES / "valid-minimal.yaml"])
    assert res.issues == [] and res.skipped == []
    (c,) = res.contracts
    assert (c.id, c.version, c.declared_status, c.id_source) == ("fixture-valid-minimal-v1", "1.1.0", None, "metadata.id")
    assert [f.id for f in c.falsifiers] == ["FALSIFY-FIXTURE-001", "FALSIFY-FIXTURE-002"]
    f1, f2 = c.falsifiers
    assert f1.level is Level.ALGORITHM and f1.thresholds == [] and f1.line == 23
    assert f2.level is Level.LIVE and f2.thresholds == [{"metric": "init_loss", "op": "<=", "value": 4.0}]
    assert f2.test == "tests/core/test_rules.py::TestNodes::test_method_target[case-1]"
    assert c.equations == {"identity": {"formula": "f(x) = x", "domain": "integers", "codomain": "integers"}}
    assert c.line_of(("falsification_tests", 1, "thresholds", 0, "value")) == 36
    assert c.line_of(("metadata", "version"), key=True) == 5
    assert c.model is not None and c.model.metadata is not None and c.model.metadata.id == "fixture-valid-minimal-v1"


def test_identity_fallbacks_and_version_normalisation(tmp_path):
    a = _write(tmp_path, "a.yaml", "contract_id: C-A\nversion: 1.5\nstatus: PROPOSED\nmetadata: {version: '1.5'}\n")
    b = _write(tmp_path, "book.yaml", "contract: apr-book\nversion: 1\nstatus: enforced\nfalsification: []\n")
    c = _write(tmp_path, "stem-only.yaml", "equations: {}\n")
    d = _write(tmp_path, "tk.yaml", "falsification_tests:\n- {id: FALSIFY-T-001, test_kind: integration}\n")
    res = load_contracts([a, b, c, d])
    got = {x.path.name: (x.id, x.version, x.declared_status) for x in res.contracts}
    assert got == {"a.yaml": ("C-A", "1.5", "PROPOSED"), "book.yaml": ("apr-book", "1", "enforced"),
                   "stem-only.yaml": ("stem-only", None, None), "tk.yaml": ("tk", None, None)}
    (tk,) = [x for x in res.contracts if x.path.name == "tk.yaml"]
    assert tk.falsifiers[0].level is Level.INTEGRATION


def test_discovery_recursive_skips_hidden_and_non_contracts(tmp_path):
    _write(tmp_path, "a.yaml", "metadata: {id: a}\n")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "b.yml", "metadata: {id: b}\n")
    (tmp_path / ".pv").mkdir()
    _write(tmp_path / ".pv", "cache.yaml", "metadata: {id: hidden}\n")
    _write(tmp_path, "binding.yaml", "bindings: {FALSIFY-A-001: x:y}\n")
    _write(tmp_path, "empty.yaml", "")
    _write(tmp_path, "notes.txt", "metadata: {id: txt}\n")
    res = load_contracts([tmp_path])
    assert sorted(c.id for c in res.contracts) == ["a", "b"]
    assert sorted(p.name for p, _ in res.skipped) == ["binding.yaml", "empty.yaml"]
    assert all(reason for _, reason in res.skipped)


def _repeated_text(count: int, size: int) -> str:
    """One anchored scalar of ``size`` characters, aliased ``count`` times (in mappings and lists)."""
    rules = "".join(f"- id: FALSIFY-B-{i:03d}\n  rule: *big\n  prediction: p\n  if_fails: f\n  tags: [*big]\n"
                    for i in range(count // 2))
    return ("metadata:\n  id: big-v1\n  version: 1.0.0\n  description: &big " + "x" * size
            + "\nfalsification_tests:\n" + rules)


def test_aliases_repeating_long_text_are_refused_by_the_bytes_they_expand_to(tmp_path):
    from apr_contracts.schema.yamlsrc import ALIAS_TEXT_BUDGET

    size = 1_000_000
    over = ALIAS_TEXT_BUDGET // size + 2  # one step past the budget: refused
    res = load_contracts([_write(tmp_path, "over.yaml", _repeated_text(over, size))])
    assert [i.code for i in res.issues if i.code.startswith("PV-YAML")] == ["PV-YAML-003"]
    assert "repeat more than" in res.issues[0].message
    under = ALIAS_TEXT_BUDGET // size - 1  # within it: loads
    res = load_contracts([_write(tmp_path, "under.yaml", _repeated_text(under, size))])
    assert [c.id for c in res.contracts] == ["big-v1"]
    assert not [i for i in res.issues if i.code == "PV-YAML-003"]


def test_alias_bomb_refused_fast(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    p = _write(tmp_path, "bomb.yaml", "\n".join(lines) + "\nmetadata: {id: bomb}\n")
    t0 = time.perf_counter()
    res = load_contracts([p])
    assert time.perf_counter() - t0 < 2.0
    assert [i.code for i in res.issues] == ["PV-YAML-003"]
    assert "alias" in res.issues[0].message and res.issues[0].line >= 1
    assert res.contracts == []


def test_large_file_refused_without_reading(tmp_path):
    p = tmp_path / "huge.yaml"
    with open(p, "wb") as fh:  # sparse 50 MB file: refusing it must not read it
        fh.truncate(50 * 1024 * 1024)
    t0 = time.perf_counter()
    res = load_contracts([p])
    assert time.perf_counter() - t0 < 1.0
    (issue,) = res.issues
    assert issue.code == "PV-YAML-002" and "52,428,800 bytes" in issue.message
    small = _write(tmp_path, "small.yaml", "metadata: {id: s}\n" + "# pad\n" * 100)
    assert [i.code for i in load_contracts([small], max_file_bytes=100).issues] == ["PV-YAML-002"]


def test_python_tags_never_constructed(tmp_path):
    p = _write(tmp_path, "evil.yaml", "metadata:\n  id: !!python/object/apply:os.system ['touch pwned']\n")
    res = load_contracts([p])
    assert [(i.code, i.line, i.column) for i in res.issues] == [("PV-YAML-004", 2, 7), ("PV-SCHEMA-001", 2, 7)]
    assert not (tmp_path / "pwned").exists()
    assert res.contracts[0].raw["metadata"]["id"] == ["touch pwned"]


def test_duplicate_keys_syntax_and_multidoc(tmp_path):
    dup = _write(tmp_path, "dup.yaml", "metadata:\n  id: x\n  id: y\n")
    bad = _write(tmp_path, "bad.yaml", "metadata:\n  id: [unclosed\n")
    multi = _write(tmp_path, "multi.yaml", "metadata: {id: a}\n---\nmetadata: {id: b}\n")
    res = load_contracts([dup, bad, multi])
    by_file = {Path(i.file).name: (i.code, i.line) for i in res.issues}
    assert by_file["dup.yaml"] == ("PV-YAML-005", 3)
    assert by_file["bad.yaml"][0] == "PV-YAML-001" and by_file["bad.yaml"][1] >= 2
    assert by_file["multi.yaml"] == ("PV-YAML-001", 2)
    assert "one contract per file" in next(i.hint for i in res.issues if i.file.endswith("multi.yaml"))


def test_deep_nesting_is_an_issue_not_a_crash(tmp_path):
    for name, text in (("flow.yaml", "[" * 50_000 + "]" * 50_000), ("block.yaml", "- " * 50_000 + "x\n")):
        res = load_contracts([_write(tmp_path, name, text)])
        assert [i.code for i in res.issues] == ["PV-YAML-001"], name


def test_yaml11_bool_keys_stay_text():
    doc = parse_yaml("on: yes\n1: one\n")
    assert doc.data == {"on": True, "1": "one"}


def test_not_utf8_and_missing_path(tmp_path):
    p = tmp_path / "latin.yaml"
    p.write_bytes(b"metadata:\n  id: caf\xe9\n")
    res = load_contracts([p, tmp_path / "nope.yaml"])
    assert sorted((i.code, i.line) for i in res.issues) == [("PV-YAML-006", 0), ("PV-YAML-006", 2)]


def test_a_misspelled_key_gets_did_you_mean_and_a_custom_key_does_not(tmp_path):
    text = (FIXTURES / "valid-minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("metadata:", "metdata:", 1).replace("  if_fails: f is not the identity.",
                                                            "  if_fail: f is not the identity.\n  x-owner: team-a")
    text += "falsification_test: []\nowner_team: platform\n"
    res = load_contracts([_write(tmp_path, "c.yaml", text)])
    unknown = {i.message.split("`")[1]: i for i in res.issues if i.code == "PV-SCHEMA-003"}
    assert set(unknown) == {"metdata", "falsification_test", "owner_team", "if_fail", "x-owner"}, unknown
    assert unknown["metdata"].message == "unknown key `metdata` in top level; did you mean `metadata`?"
    assert unknown["metdata"].hint.startswith("rename it to `metadata`")
    assert unknown["falsification_test"].message.endswith("did you mean `falsification_tests`?")
    # inside a falsifier entry: suggested from that section's keys
    assert unknown["if_fail"].message == "unknown key `if_fail` in falsification_tests.0; did you mean `if_fails`?"
    for custom in ("owner_team", "x-owner"):
        assert "did you mean" not in unknown[custom].message and "see `pv schema`" in unknown[custom].hint
