"""Atomic writes: old content or all of the new, never a prefix, and no temp file left on failure."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
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


WRITE_UNDER_UMASK = """
import sys
from pathlib import Path
from apr_contracts.atomic import make_staging_dir, write_text_atomic
root = Path(sys.argv[1])
write_text_atomic(root / "new.md", "new")
write_text_atomic(root / "old.md", "replaced")
print(oct(make_staging_dir(root / "checkpoint").stat().st_mode & 0o777))
"""


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_follow_the_umask_or_keep_the_replaced_mode(tmp_path: Path, umask: int) -> None:
    """New files get 0o666 & ~umask (not mkstemp's 0600); a replaced file keeps its own mode."""
    old = tmp_path / "old.md"
    old.write_text("old")
    old.chmod(0o640)
    previous = os.umask(umask)
    try:  # a fresh process reads the umask at import, as `pv` and `apr` do
        done = subprocess.run([sys.executable, "-c", WRITE_UNDER_UMASK, str(tmp_path)],
                              capture_output=True, text=True, check=False)
    finally:
        os.umask(previous)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.read_text() == "replaced"
    assert done.stdout.strip() == oct(0o777 & ~umask)  # staging folders renamed into place (checkpoints)


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_an_output_never_replaces_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    from apr_contracts.atomic import NotARegularFile

    target = tmp_path / "out"
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        target.symlink_to(precious)
    else:
        target.mkdir()
    with pytest.raises(NotARegularFile, match="not a regular file"):
        write_text_atomic(target, "new")
    assert precious.read_text() == "keep me"
    assert (stat.S_ISFIFO(os.lstat(target).st_mode) if kind == "fifo" else
            target.is_symlink() if kind == "symlink" else target.is_dir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "precious.txt"]  # no temp file left


@pytest.mark.parametrize("command", [["scoreboard", "--no-plugins"], ["evidence", "merge", "EV", "--force"]])
def test_pv_output_options_refuse_a_fifo_with_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    from apr_contracts.cli import main as pv
    from apr_contracts.evidence import EvidenceStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    (tmp_path / "contracts").mkdir()
    ev = tmp_path / "ev.sqlite"
    EvidenceStore(ev).close()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    argv = [str(ev) if a == "EV" else a for a in command]
    assert pv([*argv, "-o", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "is a FIFO, not a regular file" in err and "Traceback" not in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dash_output_writes_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from apr_contracts.cli import main as pv

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PV_EVIDENCE", raising=False)
    (tmp_path / "contracts").mkdir()
    assert pv(["scoreboard", "--format", "json", "-o", "-", "--no-plugins"]) == 0
    assert json.loads(capsys.readouterr().out)["contracts"] == []
    assert not (tmp_path / "-").exists()
