"""apr-tokenize-repair-manifest-v1: every FALSIFY-REPAIR-MANIFEST-* HELD on the real tokenizer engine and
FALSIFIED on a mutant with that one defect; plus the command's refusals, sources and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.errors import AprError, UsageError
from engines.tokenizer import fixtures as fx

if TYPE_CHECKING:
    from engines.tokenizer.engine import HFTokenizerEngine

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
ID = "FALSIFY-REPAIR-MANIFEST-"

CASES = [  # (id, mutant, a phrase of its refutation)
    ("001", "broken-repair-counts-leftovers", "the repaired manifest lists"),
    ("002", "broken-repair-tokens-as-bytes", "!= bytes / 4"),
    ("002", "broken-repair-floors-truncated", "(4k+1): repair-manifest wrote a manifest"),
    ("003", "broken-repair-reference-schema", "'pretokenize-bin-v1'"),
    ("004", "broken-repair-local-timestamp", "is not an RFC 3339 date-time"),
    ("005", "broken-repair-truncates-shard", "truncated folder: repair-manifest changed or added"),
    ("006", "broken-repair-run-id", "repair_id"),
]


@pytest.mark.parametrize("number", ["001", "002", "003", "004", "005", "006"])
def test_holds_on_the_real_engine(tmp_path: Path, number: str) -> None:
    got = run_falsifier(ID + number, workspace=tmp_path / "w")
    assert got.outcome is Outcome.HELD, got.message


@pytest.mark.parametrize(("number", "mutant", "phrase"), CASES)
def test_falsified_by_its_mutant(tmp_path: Path, number: str, mutant: str, phrase: str) -> None:
    got = run_falsifier(ID + number, engines={"tokenizer": mutant}, workspace=tmp_path / "w")
    assert got.outcome is Outcome.FALSIFIED, got.message
    assert phrase in got.message


def test_every_id_of_the_reference_contract_is_bound() -> None:
    path = SHARED / "apr-tokenize-repair-manifest-v1.yaml"
    if not path.is_file():
        pytest.skip("reference contracts not present")
    from apr_contracts.plugins import load_plugins
    from falsifiers.aprender.apr_tokenize_repair_manifest import CONTRACT

    ids = [t["id"] for t in yaml.safe_load(path.read_text(encoding="utf-8"))["falsification_tests"]]
    assert ids and all(load_plugins().falsifiers.get(CONTRACT, i) is not None for i in ids)


# -- the command itself (direct engine calls: fast) ----------------------------------------------
def _engine() -> HFTokenizerEngine:
    from engines.tokenizer.engine import HFTokenizerEngine

    return HFTokenizerEngine()


def _shards(folder: Path, sizes: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(sizes):
        (folder / f"shard-{i:05d}.bin").write_bytes(bytes(range(4)) * (n // 4) + b"\x09" * (n % 4))
    return folder


def test_counts_and_tokens_from_the_files(tmp_path: Path) -> None:
    result = _engine().repair_manifest(_shards(tmp_path / "d", [0, 8, 400]))
    m = json.loads((tmp_path / "d" / "manifest.json").read_text(encoding="utf-8"))
    assert m == result.manifest
    assert [r["tokens"] for r in m["shards"]] == [0, 2, 100] and m["tokens"] == 102
    assert m["repair"] is True and m["repaired_at"].endswith("Z") and m["vocab_size"] is None
    assert result.sources == ["shards"]


@pytest.mark.parametrize("size", [401, 402, 403])
def test_a_size_not_a_multiple_of_4_is_refused_naming_the_shard(tmp_path: Path, size: int) -> None:
    folder = _shards(tmp_path / "d", [8, size])
    with pytest.raises(AprError, match=r"shard-00001\.bin: \d+ bytes is not a multiple of 4") as info:
        _engine().repair_manifest(folder)
    assert info.value.exit_code == 1 and "re-run" in info.value.hint
    assert not (folder / "manifest.json").exists()


def test_a_gap_in_the_numbering_is_refused(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8, 8, 8])
    (folder / "shard-00001.bin").unlink()
    with pytest.raises(AprError, match=r"shard-00001\.bin is missing"):
        _engine().repair_manifest(folder)


def test_a_symlinked_or_misnamed_shard_is_refused(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8])
    (folder / "shard-00001.bin").symlink_to(folder / "shard-00000.bin")
    with pytest.raises(AprError, match="not a regular file"):
        _engine().repair_manifest(folder)
    (folder / "shard-00001.bin").unlink()
    (folder / "shard-x.bin").write_bytes(b"\0" * 4)
    with pytest.raises(AprError, match=r"not shard-NNNNN\.bin"):
        _engine().repair_manifest(folder)


def test_not_a_folder_and_no_shards(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        _engine().repair_manifest(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AprError, match=r"no shard-NNNNN\.bin"):
        _engine().repair_manifest(tmp_path / "empty")


def test_settings_come_from_the_stale_manifest_and_the_state(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8, 8])
    stale = {"schema": "apr.tokenize.encode-corpus/v1", "vocab_size": 50, "eos_id": 3, "eos_policy": "after",
             "tokens": 2, "shards": [{"file": "shard-00000.bin", "tokens": 2, "documents": 1, "bytes": 8,
                                      "sha256": _engine().repair_record(folder / "shard-00000.bin")["sha256"]}]}
    (folder / "manifest.json").write_text(json.dumps(stale), encoding="utf-8")
    (folder / ".encode-state.json").write_text(json.dumps({"fingerprint": {"text_field": "content"}}),
                                               encoding="utf-8")
    result = _engine().repair_manifest(folder)
    m = result.manifest
    assert (m["vocab_size"], m["eos_id"], m["text_field"], m["tokens"]) == (50, 3, "content", 4)
    assert [r["documents"] for r in m["shards"]] == [1, None] and m["documents"] is None
    assert "shard-00001.bin: not in the manifest" in result.fixed
    assert result.sources == ["stale manifest.json", ".encode-state.json", "shards"]
    again = _engine().repair_manifest(folder)  # the repaired manifest keeps the original sources
    assert again.sources == result.sources and {**again.manifest, "repaired_at": 0} == {**m, "repaired_at": 0}


def test_a_consistent_clean_manifest_is_left_alone_unless_forced(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8])
    first = _engine().repair_manifest(folder).manifest
    clean = {k: v for k, v in first.items() if k not in ("repair", "repaired_at", "repair_sources")}
    (folder / "manifest.json").write_text(json.dumps(clean), encoding="utf-8")
    assert _engine().repair_manifest(folder).unchanged
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8")) == clean
    assert _engine().repair_manifest(folder, force=True).manifest["repair"] is True


def test_a_different_tokenizer_than_recorded_is_refused(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8])
    (folder / ".encode-state.json").write_text(json.dumps({"fingerprint": {"tokenizer_sha256": "0" * 64}}),
                                               encoding="utf-8")
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    with pytest.raises(AprError, match="not the tokenizer these shards were encoded with"):
        _engine().repair_manifest(folder, tokenizer=tok)


def _apr(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engines.cli", "tokenize", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    folder = _shards(tmp_path / "d", [8, 12])
    ok = _apr("repair-manifest", folder, "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["manifest"]["tokens"] == 5
    assert _apr("repair-manifest", "--output", folder).returncode == 0
    assert _apr("repair-manifest").returncode == 2  # no folder
    assert _apr("repair-manifest", folder, "--output", folder).returncode == 2  # two folders
    assert _apr("repair-manifest", tmp_path / "missing").returncode == 2
    (folder / "shard-00001.bin").write_bytes(b"\0" * 5)
    bad = _apr("repair-manifest", folder)
    assert bad.returncode == 1 and "shard-00001.bin" in bad.stderr
    verify = _apr("verify-shards", folder, "--format", "json")  # the manifest written before still describes 12 bytes
    assert verify.returncode == 1
