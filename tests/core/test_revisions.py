"""Archived revisions (`name@<git rev>.yaml` beside `name.yaml`) are skipped in folders, with a note.

Real contract folders keep older revisions (aprender's `versions/`); they repeat the live file's
falsifier ids, so reading both only produced duplicate-id errors. Named explicitly, a snapshot
is read like any file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.discovery import archived_revisions
from apr_contracts.loader import load_contracts

ENTRY = "falsification_tests:\n- id: FALSIFY-REV-001\n  rule: r\n  prediction: p\n  if_fails: f\n"


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "c" / "versions").mkdir(parents=True)
    (tmp_path / "c" / "rev-v1.yaml").write_text("metadata:\n  version: 1.1.0\n  description: d\n" + ENTRY)
    (tmp_path / "c" / "versions" / "rev-v1@0123abc.yaml").write_text(
        "metadata:\n  version: 1.0.0\n  description: d\n" + ENTRY)
    return tmp_path / "c"


def test_snapshot_beside_its_live_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    folder = _tree(tmp_path)
    loaded = load_contracts([folder])
    assert [c.id for c in loaded.contracts] == ["rev-v1"]
    assert not [i for i in loaded.issues if i.severity == "error"]
    assert [(p.name, why.split(" (")[0]) for p, why in loaded.skipped] == [
        ("rev-v1@0123abc.yaml", "archived revision of rev-v1.yaml")]


def test_named_explicitly_or_without_a_live_file_it_is_read(tmp_path: Path) -> None:
    folder = _tree(tmp_path)
    snapshot = folder / "versions" / "rev-v1@0123abc.yaml"
    assert len(load_contracts([folder, snapshot]).contracts) == 2  # both read: the duplicate id is then reported
    assert len(load_contracts([folder / "versions"]).contracts) == 1  # no live file in this search
    # Not a revision: too short to be a git hash, or not hex.
    assert archived_revisions([Path("a.yaml"), Path("a@v2.yaml"), Path("a@12345.yaml"), Path("a@0123abc.yaml")]) == {
        Path("a@0123abc.yaml"): Path("a.yaml")}


def test_pv_validate_and_run_say_what_they_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _tree(tmp_path)
    assert pv(["validate", str(folder)]) == 0
    assert "archived revision of rev-v1.yaml" in capsys.readouterr().out
    assert pv(["run", str(folder), "--collect-only"]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 archived revision(s)" in captured.err
    assert "1 falsifiers collected" in captured.out
