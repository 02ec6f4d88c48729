"""`pv validate` accepts what other teams' real files contain.

* a shell `test:` that starts with `[` (``[ -f out/model.gguf ] && apr qa ...``) is a command;
* a top-level ``contract:`` written as a mapping ``{name, version, module, description}`` is the
  contract's identity block, not a PV-SCHEMA-001 error.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from apr_contracts.loader import load_contracts
from apr_contracts.rules.testfield import TestKind, classify
from apr_contracts.validate import validate_paths


@pytest.mark.parametrize(("text", "kind"), [
    ("[ -f out/model.gguf ] && apr qa out/model.gguf", TestKind.COMMAND),
    ("[ -s shards/manifest.json ]", TestKind.COMMAND),
    ("[ \"$(apr inspect m.gguf | wc -l)\" -gt 3 ]; echo ok", TestKind.COMMAND),
    ("[[ -d out ]] && ls out", TestKind.COMMAND),
    ("! [ -e out/partial.bin ]", TestKind.COMMAND),
    ("[manual] open the GGUF and check the vocab", TestKind.PROSE),  # a tag in brackets, not the test builtin
    ("[ see the appendix for the procedure", TestKind.PROSE),  # an opening `[` never closed: prose
])
def test_bracket_commands_are_commands(text: str, kind: TestKind) -> None:
    assert classify(text).kind is kind


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_bracket_test_is_not_flagged_as_prose(tmp_path: Path) -> None:
    path = _write(tmp_path, "qa-v1.yaml", """\
        metadata:
          id: qa-v1
          version: 1.0.0
          description: the exported model passes QA
        falsification_tests:
        - id: FALSIFY-QA-001
          rule: The exported GGUF passes apr qa.
          prediction: apr qa exits 0.
          level: integration
          test: '[ -f out/model.gguf ] && apr qa out/model.gguf'
          if_fails: a broken model ships
        """)
    codes = [i.code for i in validate_paths([path]).issues]
    assert "PV-TEST-003" not in codes and "PV-TEST-006" not in codes, codes


BOOK = """\
    contract:
      name: apr-book-ch02
      version: 1.2.0
      module: book/ch02
      description: Chapter two's examples run as printed.
      status: PROPOSED
    falsification_tests:
    - id: FALSIFY-BOOK-CH02-001
      rule: Every example prints what the book shows.
      prediction: each example's stdout equals the printed block.
      level: algorithm
      test: pv validate contracts/
      if_fails: readers copy examples that do not work
    """


def test_a_contract_mapping_is_the_identity_block(tmp_path: Path) -> None:
    path = _write(tmp_path, "ch02.yaml", BOOK)
    loaded = load_contracts([path])
    assert [i.code for i in loaded.issues] == []
    [contract] = loaded.contracts
    assert (contract.id, contract.id_source, contract.version) == ("apr-book-ch02", "contract", "1.2.0")
    assert contract.declared_status == "PROPOSED"
    assert [f.id for f in contract.falsifiers] == ["FALSIFY-BOOK-CH02-001"]
    report = validate_paths([path])
    codes = [i.code for i in report.issues]
    assert not {"PV-SCHEMA-001", "PV-VERSION-002", "PV-ID-006"} & set(codes), report.issues
    assert report.errors == 0, report.issues


def test_metadata_still_wins_over_the_contract_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "ch02.yaml", BOOK.replace("    contract:\n", "    metadata: {id: book-two-v1, version: 2.0.0}\n"
                                                                  "    contract:\n", 1))
    [contract] = load_contracts([path]).contracts
    assert (contract.id, contract.id_source, contract.version) == ("book-two-v1", "metadata.id", "2.0.0")


def test_a_bad_version_in_the_contract_mapping_is_reported_where_it_is(tmp_path: Path) -> None:
    path = _write(tmp_path, "ch02.yaml", BOOK.replace("version: 1.2.0", "version: one point two"))
    found = [(i.code, i.line) for i in validate_paths([path]).issues if i.code.startswith("PV-VERSION")]
    assert found == [("PV-VERSION-001", 3)]


def test_a_plain_contract_string_still_names_the_contract(tmp_path: Path) -> None:
    entries = BOOK[BOOK.index("    falsification_tests:"):]
    path = _write(tmp_path, "c.yaml", "    contract: apr-book-ch01\n    version: 1.0.0\n" + entries)
    [contract] = load_contracts([path]).contracts
    assert (contract.id, contract.id_source, contract.version) == ("apr-book-ch01", "contract", "1.0.0")
