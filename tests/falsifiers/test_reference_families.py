"""Falsifiers bound (or declared out of scope) for the reference contracts of another project.

Each bound one: HELD on the real reference contract (when ../shared is present, as in CI) or an
equivalent file written here, FALSIFIED on a deliberately broken copy; each boundary on the dot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv
from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PV_SHARED_DIR", REPO.parent / "shared")) / "reference-contracts" / "aprender"
SHIP_CPU = "FALSIFY-MODEL-1-SHIP-CPU-"


def _contract(tmp_path: Path, *, version: str = "1.0.0", extra: str = "") -> Path:
    path = tmp_path / f"ship-cpu-{version}" / "apr-cli-model-1-ship-via-cpu-v1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = "".join(f"- id: {SHIP_CPU}00{n}\n  rule: r\n  prediction: p\n  if_fails: f\n" for n in (3, 5))
    path.write_text(f"metadata:\n  version: {version}\n  description: ships via CPU\n{extra}"
                    f"falsification_tests:\n{entries}", encoding="utf-8")
    return path


def test_ship_cpu_003_validates_the_declaring_contract(tmp_path: Path) -> None:
    good = run_falsifier(SHIP_CPU + "003", contract_file=_contract(tmp_path), workspace=tmp_path / "w1")
    assert good.outcome is Outcome.HELD, good.message
    # Broken: `equations` given as a string, a wrong type pv validate reports as an error.
    broken = _contract(tmp_path / "b", extra="equations: not a mapping\n")
    bad = run_falsifier(SHIP_CPU + "003", contract_file=broken, workspace=tmp_path / "w2")
    assert bad.outcome is Outcome.FALSIFIED, bad.message
    assert "pv validate exit 1" in bad.message


@pytest.mark.parametrize(("version", "outcome"), [
    ("1.0.0", Outcome.HELD), ("1.99.99", Outcome.HELD), ("0.1.0", Outcome.HELD),
    ("2.0.0", Outcome.FALSIFIED), ("10.0.0", Outcome.FALSIFIED),  # 10.x is not 1.x: the regex is anchored
])
def test_ship_cpu_005_version_signals_scope_at_the_boundary(tmp_path: Path, version: str, outcome: Outcome) -> None:
    got = run_falsifier(SHIP_CPU + "005", contract_file=_contract(tmp_path, version=version), workspace=tmp_path / "w")
    assert got.outcome is outcome, got.message


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_the_real_reference_contracts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [SHARED / "apr-cli-model-1-ship-via-cpu-v1.yaml", SHARED / "apr-audit-ship-two-v1.yaml"]
    code = pv(["run", *map(str, files), "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json"])
    results = {r["falsifier_id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert code == 0
    assert {fid: r["outcome"] for fid, r in results.items() if r["outcome"] != "OUT_OF_SCOPE"} == {
        SHIP_CPU + "003": "HELD", SHIP_CPU + "005": "HELD"}
    out_of_scope = [r for r in results.values() if r["outcome"] == "OUT_OF_SCOPE"]
    assert len(out_of_scope) == 7
    assert all(r["message"].startswith("out of scope: ") and len(r["message"]) > 40 for r in out_of_scope)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (set PV_SHARED_DIR)")
def test_collect_only_counts_bound_out_of_scope_and_unbound(capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["run", str(SHARED / "apr-audit-ship-two-v1.yaml"), "--collect-only"]) == 0
    out = capsys.readouterr().out
    assert "OUT OF SCOPE: tests the other project's `apr audit-ship-two`" in out
    assert "3 falsifiers collected: 0 bound, 3 declared out of scope, 0 not bound" in out


@pytest.mark.parametrize(("prediction", "outcome"), [
    ("`pv validate` on this file exits 0", Outcome.HELD),  # warnings only: the plain command passes
    ("`pv validate --strict` on this file exits 0", Outcome.FALSIFIED),  # strict turns them into errors
])
def test_validate_claims_are_strict_exactly_when_they_say_so(tmp_path: Path, prediction: str,
                                                             outcome: Outcome) -> None:
    path = tmp_path / "apr-pretrain-arch-polymorphic-v1.yaml"  # the id the falsifier is bound for (from the stem)
    path.write_text("metadata:\n  version: 1.0.0\n  description: d\nfalsification_tests:\n"
                    f"- id: FALSIFY-APR-PRETRAIN-ARCH-008\n  rule: r\n  prediction: \"{prediction}\"\n"
                    "  if_fails: f\n", encoding="utf-8")  # no `level:` and no `test:`: warnings, not errors
    got = run_falsifier("FALSIFY-APR-PRETRAIN-ARCH-008", contract_file=path, workspace=tmp_path / "w")
    assert got.outcome is outcome, got.message
