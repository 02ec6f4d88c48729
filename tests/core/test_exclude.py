"""`--exclude` (and [tool.pv] exclude): skip older revisions, drafts and the like inside searched folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.discovery import discover, excluded

CONTRACT = ("metadata:\n  id: {id}\n  version: 1.0.0\n  description: d\nfalsification_tests:\n"
            "- id: FALSIFY-{n}-001\n  rule: r\n  prediction: p\n  if_fails: f\n")


@pytest.mark.parametrize(("relative", "patterns", "expected"), [
    ("versions/a-v1.yaml", ["versions"], True),
    ("team/versions/a-v1.yaml", ["versions"], True),  # a bare name matches at any depth
    ("a-draft.yaml", ["*-draft.yaml"], True),
    ("team/versions/a.yaml", ["team/versions"], True),  # a path matches from the searched folder
    ("other/versions/a.yaml", ["team/versions"], False),
    ("team/a.yaml", ["team/versions"], False),
    ("versions.yaml", ["versions"], False),  # names match whole, not as prefixes
    ("a.yaml", [], False),
])
def test_excluded_reads_patterns_like_gitignore(relative: str, patterns: list[str], expected: bool) -> None:
    assert excluded(relative, patterns) is expected


def _tree(root: Path) -> Path:
    for rel, n in [("a-v1.yaml", "A"), ("versions/a-v1@old.yaml", "A"), ("team/b-v1.yaml", "B")]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(CONTRACT.format(id=Path(rel).stem.split("@")[0], n=n))
    return root


def test_discover_prunes_excluded_folders_but_keeps_named_files(tmp_path: Path) -> None:
    root = _tree(tmp_path / "c")
    found, _ = discover([root], exclude=["versions"])
    assert sorted(p.relative_to(root).as_posix() for p in found) == ["a-v1.yaml", "team/b-v1.yaml"]
    named, _ = discover([root / "versions" / "a-v1@old.yaml"], exclude=["versions"])
    assert len(named) == 1  # a file named on the command line is what the user asked for


def test_validate_and_run_take_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "c")
    # The older revision repeats FALSIFY-A-001: a duplicate id (error) unless excluded.
    assert pv(["validate", str(root), "--format", "json"]) == 1
    assert "PV-ID-004" in capsys.readouterr().out
    assert pv(["validate", str(root), "--exclude", "versions", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["errors"] == 0
    assert pv(["run", str(root), "--exclude", "versions", "--collect-only", "--format", "json"]) == 0
    collected = [f["falsifier"] for f in json.loads(capsys.readouterr().out)["falsifiers"]]
    assert sorted(collected) == ["FALSIFY-A-001", "FALSIFY-B-001"]


def test_tool_pv_exclude_applies_to_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "c")
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\nexclude = ["versions"]\n')
    assert pv(["validate", str(root)]) == 0
    capsys.readouterr()
