"""The fixture pair of issue 17, built on the fly: a small Python library with pytest tests, and a
std-only Rust crate with ``falsify_*`` tests, each with contracts linking to its tests every way."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

HEADER = """\
metadata:
  id: {cid}
  version: 1.0.0
  description: {what}
falsification_tests:
"""


def _entry(fid: str, prediction: str, *, test: str | None = None, extra: str = "") -> str:
    lines = [f"- id: {fid}", f"  rule: {prediction}", f"  prediction: {prediction}", "  if_fails: the library is wrong."]
    if test is not None:
        lines.append(f"  test: {test!r}" if ":" in test or test.startswith("cargo") else f"  test: {test}")
    if extra:
        lines.extend("  " + ln for ln in textwrap.dedent(extra).strip().splitlines())
    return "\n".join(lines) + "\n"


def git_commit(root: Path, message: str = "fixture") -> None:
    env = ["-c", "user.name=pv", "-c", "user.email=pv@example.invalid", "-c", "commit.gpgsign=false"]
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *env, "commit", "-qm", message], check=True)


def python_project(root: Path) -> Path:
    """``root/pylib``: library ``calc``, its tests, contract ``calc-v1`` (a git checkout, committed)."""
    project = root / "pylib"
    (project / "calc").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "contracts").mkdir()
    (project / "pyproject.toml").write_text('[tool.pv]\npaths = ["contracts"]\nbuiltins = false\n')
    (project / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n*.xml\n.pv/\n")
    (project / "calc" / "__init__.py").write_text(textwrap.dedent("""\
        def add(a, b):
            return a + b


        def mul(a, b):
            return a * b + 1  # the bug FALSIFY-CALC-002 finds
        """))
    (project / "tests" / "test_calc.py").write_text(textwrap.dedent("""\
        import pytest

        from calc import add, mul


        @pytest.mark.falsifies("FALSIFY-CALC-001", contract="calc-v1")
        def test_add_is_commutative():
            assert add(2, 3) == add(3, 2)


        def test_mul_small():
            assert mul(2, 3) == 6, "mul(2, 3) must be 6"


        def test_falsify_calc_003_add_zero():
            assert add(7, 0) == 7


        def test_falsify_speed_001_add_is_fast():
            assert add(1, 1) == 2


        def test_speed(pv_measure):
            pv_measure("FALSIFY-SPEED-LIVE-001", ratio=0.5, contract="speed-v1")
        """))
    contract = HEADER.format(cid="calc-v1", what="The calc library adds and multiplies.") + "".join([
        _entry("FALSIFY-CALC-001", "add is commutative", test="marked in the tests"),
        _entry("FALSIFY-CALC-002", "mul(2, 3) is 6", test="tests/test_calc.py::test_mul_small"),
        _entry("FALSIFY-CALC-003", "adding zero changes nothing", test="named after the id",
               extra="test_kind: integration"),
        _entry("FALSIFY-CALC-004", "sub exists", test="tests/test_calc.py::test_sub_exists"),
    ])
    (project / "contracts" / "calc-v1.yaml").write_text(contract)
    speed = HEADER.format(cid="speed-v1", what="add is fast.") + "".join([
        _entry("FALSIFY-SPEED-001", "add works", test="named after the id"),
        _entry("FALSIFY-SPEED-LIVE-001", "add is at most as slow as a reference",
               extra="level: live\nthresholds:\n- {metric: ratio, op: '<=', value: 1.0}"),
    ])
    (project / "contracts" / "speed-v1.yaml").write_text(speed)
    git_commit(project)
    return project


RUST_LIB = """\
pub fn add(a: u64, b: u64) -> u64 {
    a + b
}

pub fn double(a: u64) -> u64 {
    a * 3 // the bug FALSIFY-RS-002 finds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falsify_rs_001_add_is_commutative() {
        assert_eq!(add(2, 3), add(3, 2));
    }

    #[test]
    fn falsify_rs_002_double_is_twice() {
        assert_eq!(double(4), 8, "double(4) must be 8");
    }
}
"""


def rust_project(root: Path) -> Path:
    """``root/rscrate``: std-only crate ``rscrate`` and contract ``rscrate-v1`` whose test: are cargo commands."""
    project = root / "rscrate"
    (project / "src").mkdir(parents=True)
    (project / "contracts").mkdir()
    (project / "Cargo.toml").write_text('[package]\nname = "rscrate"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n')
    (project / "src" / "lib.rs").write_text(RUST_LIB)
    (project / "pyproject.toml").write_text('[tool.pv]\npaths = ["contracts"]\nbuiltins = false\n')
    (project / ".gitignore").write_text("target/\n*.xml\n*.json\n.pv/\nCargo.lock\n")
    contract = HEADER.format(cid="rscrate-v1", what="The rscrate arithmetic.") + "".join([
        _entry("FALSIFY-RS-001", "add is commutative", test="cargo test -p rscrate --lib falsify_rs_001"),
        _entry("FALSIFY-RS-002", "double doubles", test="cargo test -p rscrate --lib tests::falsify_rs_002_double_is_twice"),
        _entry("FALSIFY-RS-003", "halve halves", test="cargo test -p rscrate --lib falsify_rs_003"),
        _entry("FALSIFY-RS-004", "add is commutative (path)", test="rscrate::tests::falsify_rs_001_add_is_commutative"),
    ])
    (project / "contracts" / "rscrate-v1.yaml").write_text(contract)
    git_commit(project)
    return project
