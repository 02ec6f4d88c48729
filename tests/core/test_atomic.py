"""Atomic writes: old content or all of the new, never a prefix, and no temp file left on failure."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from apr_contracts.atomic import atomic_path, is_leftover, write_json_atomic, write_text_atomic


def test_replaces_and_leaves_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    write_json_atomic(tmp_path / "d.json", {"b": 1, "a": "é"}, sort_keys=True)
    assert (tmp_path / "d.json").read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'


def test_a_failed_write_keeps_the_old_content_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"step": 1})
    with pytest.raises(OSError) as caught, atomic_path(target) as tmp:
        tmp.write_text('{"step": 2', encoding="utf-8")  # half written when the disk fills up
        assert is_leftover(tmp.name, target.name)
        raise OSError(errno.ENOSPC, "No space left on device")
    # A failed write() names no file; the error now names the one being written.
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert json.loads(target.read_text(encoding="utf-8")) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_leftover_names() -> None:
    assert is_leftover(".manifest.json.ab12.tmp", "manifest.json")
    assert not is_leftover(".manifest.json.ab12.tmp", "state.json")
    assert not is_leftover("manifest.json", "manifest.json")
