"""FALSIFY-ALM-001..002 (reference contract alimentar/data-feed-v1): FALSIFIED against a broken shard reader /
manifest reader, HELD against the real trainer; the manifest reader's messages checked directly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.trainer.feed import ManifestError, from_bytes, read_manifest, to_bytes

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
ALM = "FALSIFY-ALM-"


@pytest.mark.parametrize(("falsifier_id", "mutant"), [
    (ALM + "001", "broken-shard-big-endian"),
    (ALM + "002", "broken-manifest-lenient"),
])
def test_falsified_by_the_mutant_and_held_by_the_real_engine(tmp_path: Path, falsifier_id: str, mutant: str) -> None:
    broken = run_falsifier(falsifier_id, engines={"trainer": mutant}, workspace=tmp_path / "broken")
    real = run_falsifier(falsifier_id, workspace=tmp_path / "real")
    assert broken.outcome is Outcome.FALSIFIED, (broken.message, broken.traceback)
    assert real.outcome is Outcome.HELD, (real.message, real.traceback)


def test_codec_round_trips_the_uint32_range() -> None:
    ids = [0, 1, 255, 256, 2**31 - 1, 2**31, 2**32 - 1]
    data = to_bytes(ids)
    assert data[:4] == b"\x00\x00\x00\x00" and data[4:8] == b"\x01\x00\x00\x00"  # little-endian on disk
    assert from_bytes(data).tolist() == ids and to_bytes([]) == b"" and from_bytes(b"").tolist() == []
    with pytest.raises(ManifestError):
        from_bytes(data[:-1])


@pytest.mark.parametrize(("manifest", "named"), [
    ({"dtype": "uint32-le"}, "'shards'"),
    ({"shards": [{"tokens": 3}]}, "'shards[0].file'"),
    ({"shards": [{"file": "shard-00000.bin"}]}, "'shards[0].tokens'"),
    ({"shards": {"file": "x"}}, "'shards' must be a list"),
    ({"shards": [{"file": "x", "tokens": -1}]}, "non-negative"),
    ({"shards": [{"file": "x", "tokens": True}]}, "non-negative"),
    ({"shards": [], "dtype": "uint16-le"}, "uint16-le"),
    ([], "not an object"),
])
def test_manifest_refusals_name_the_field_and_the_file(tmp_path: Path, manifest: object, named: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        read_manifest(path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_manifest_aliases_and_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"shards": [{"path": "sub/a.bin", "n_tokens": 0}, {"name": "b.bin", "num_tokens": 5}]}))
    parsed = read_manifest(path)
    assert parsed.counts == {"a.bin": 0, "b.bin": 5} and parsed.eos_id is None and parsed.dtype == "uint32-le"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = pv(["run", str(SHARED / "alimentar" / "data-feed-v1.yaml"), "--level", "all",
               "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert results == {ALM + "001": "HELD", ALM + "002": "HELD"}, results
    assert code == 0
