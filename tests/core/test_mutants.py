"""`pv mutants` with a third-party plugin: its own engine kind, contract, falsifier and mutants."""

from __future__ import annotations

import gc
import hashlib
import json
import os
from pathlib import Path

import pytest

from apr_contracts.cli import main as pv

CONTRACT = """\
metadata: {id: abacus-v1, version: 1.0.0, description: an adder adds}
falsification_tests:
- id: FALSIFY-ABA-001
  rule: small sums are right
  prediction: add(a, b) == a + b for 0 <= a, b < 10
  if_fails: the adder is wrong
- id: FALSIFY-ABA-002
  rule: zero is neutral
  prediction: add(a, 0) == a
  if_fails: zero changes things
"""

PLUGIN = '''\
import sys
from typing import Protocol
from apr_contracts import falsifier, hookimpl
from apr_contracts.mutation import mutant

class Abacus(Protocol):
    def add(self, a: int, b: int) -> int: ...

class Adder:
    """The real adder."""
    def add(self, a, b):
        return a + b

class OffByOne(Adder):
    """Adds one too many, everywhere."""
    def add(self, a, b):
        return a + b + 1

class WrongAboveThousand(Adder):
    """[bold]Wrong[/bold] only from 1000 up, where no falsifier looks."""
    def add(self, a, b):
        return a + b - (a >= 1000)

class SameSum(Adder):
    """Adds b + a instead of a + b."""
    def add(self, a, b):
        return b + a

MUTANTS = {
    "broken-off-by-one": mutant(OffByOne, "abacus-v1::FALSIFY-ABA-001"),
    "broken-above-thousand": mutant(WrongAboveThousand, ("abacus-v1", "FALSIFY-ABA-001")),
    "broken-same-sum": mutant(SameSum, equivalent="integer addition commutes: no input tells them apart"),
}

@falsifier("FALSIFY-ABA-001", contract="abacus-v1", level="algorithm", engines=["abacus"])
def small_sums(ctx):
    for a in range(10):
        for b in range(10):
            if ctx.engine("abacus").add(a, b) != a + b:
                return ctx.falsified(f"add({a}, {b}) != {a + b}")
    return ctx.held("100 sums")

@falsifier("FALSIFY-ABA-002", contract="abacus-v1", level="algorithm", engines=["abacus"])
def zero_is_neutral(ctx):
    bad = [a for a in range(5) if ctx.engine("abacus").add(a, 0) != a]
    return ctx.falsified(f"add(a, 0) != a for {bad}") if bad else ctx.held("5 cases")

@hookimpl
def apr_register_engines(registry):
    registry.add_kind("abacus", Abacus)
    registry.add("abacus", "real", Adder, default=True)

@hookimpl
def apr_register_mutants(registry):
    registry.add_table("abacus", __name__, MUTANTS)

@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
'''


@pytest.fixture
def abacus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "abacus.yaml").write_text(CONTRACT)
    (tmp_path / "abacus_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    # worker processes must import the plugin, and the same apr_contracts as this process
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _mutants(tmp: Path, *extra: str) -> list[str]:
    return ["mutants", str(tmp / "abacus.yaml"), "-p", "abacus_plugin", "--evidence", str(tmp / "ev.sqlite"),
            "--isolation", "none", *extra]


def test_one_mutant_killed_one_survived_and_the_json_has_the_documented_shape(
        abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus, "--format", "json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1
    by_name = {m["name"]: m for m in data["mutants"]}
    assert set(by_name) == {"broken-off-by-one", "broken-above-thousand", "broken-same-sum"}
    for row in data["mutants"]:
        assert {"name", "kind", "plugin", "outcome", "killed_by", "survived"} <= set(row)
        assert (row["kind"], row["plugin"]) == ("abacus", "abacus_plugin")
    assert by_name["broken-off-by-one"]["outcome"] == "killed"
    assert by_name["broken-off-by-one"]["killed_by"] == ["abacus-v1::FALSIFY-ABA-001"]
    assert by_name["broken-above-thousand"]["outcome"] == "survived"
    assert by_name["broken-above-thousand"]["survived"] == ["abacus-v1::FALSIFY-ABA-001"]
    assert by_name["broken-same-sum"]["outcome"] == "equivalent"
    assert "commutes" in by_name["broken-same-sum"]["equivalent"]
    overall = data["scores"]["overall"]
    assert (overall["score"], overall["killed"], overall["survived"], overall["equivalent"]) == (50.0, 1, 1, 1)
    assert data["scores"]["per_contract"]["abacus-v1"]["score"] == 50.0
    assert data["scores"]["per_kind"]["abacus"]["score"] == 50.0
    assert not data["incomplete"]


def test_fail_on_survivor_exits_1_and_names_the_survivor(abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus, "--fail-on", "survivor")) == 1
    captured = capsys.readouterr()
    assert "surviving mutant abacus=broken-above-thousand" in captured.err
    assert "broken-off-by-one" not in captured.err


@pytest.mark.parametrize(("gate", "code"), [("score:50", 0), ("score:50%", 0), ("score:49.99", 0),
                                            ("score:50.01", 1), ("score:100", 1), ("score:0", 0)])
def test_fail_on_score_passes_at_exactly_the_threshold(abacus: Path, gate: str, code: int,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus, "--fail-on", gate)) == code
    assert ("below --fail-on" in capsys.readouterr().err) is bool(code)


def test_text_prints_contract_and_plugin_text_plainly(abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus)) == 0
    out = capsys.readouterr().out
    assert "[bold]Wrong[/bold] only from 1000 up" in out  # rich markup in a docstring is not interpreted
    assert "SURVIVED abacus=broken-above-thousand" in out and "let through by abacus-v1::FALSIFY-ABA-001" in out
    assert "mutation score: 50.0% (1 killed / 2)" in out


def test_full_mode_runs_every_falsifier_until_the_first_kill(abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus, "--mode", "full", "--format", "json")) == 0
    matrix = json.loads(capsys.readouterr().out)["matrix"]
    ran = {(row["mutant"], row["falsifier"]): row["outcome"] for row in matrix}
    # off-by-one dies on its declared catcher, which runs first, so 002 never runs against it
    assert ran == {("broken-off-by-one", "FALSIFY-ABA-001"): "killed",
                   ("broken-above-thousand", "FALSIFY-ABA-001"): "survived",
                   ("broken-above-thousand", "FALSIFY-ABA-002"): "survived"}


def test_results_go_to_their_own_store_and_the_release_evidence_is_byte_identical(
        abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evidence = abacus / "ev.sqlite"
    assert pv(["run", str(abacus / "abacus.yaml"), "-p", "abacus_plugin", "--evidence", str(evidence),
               "--isolation", "none", "--no-progress"]) == 0
    gc.collect()  # `pv run` ran in this process: let its connection close and checkpoint first

    def digest() -> str:  # the database with its WAL and shared-memory files, if any
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(abacus.glob("ev.sqlite*")))).hexdigest()

    before = digest()
    listing = sorted(p.name for p in abacus.iterdir())
    assert pv(_mutants(abacus, "--mode", "full")) == 0
    assert digest() == before
    assert sorted(p.name for p in abacus.iterdir()) == sorted([*listing, "ev.mutants.db"])
    capsys.readouterr()
    # A second run reuses every stored pair: claim and code are unchanged.
    assert pv(_mutants(abacus, "--mode", "full", "--format", "json")) == 0
    assert all(row["reused"] for row in json.loads(capsys.readouterr().out)["matrix"])
    assert digest() == before


def test_worker_pool_with_two_jobs_gives_the_same_matrix(abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _mutants(abacus, "--mode", "full", "--format", "json", "--jobs", "2", "--rerun")
    args[args.index("none")] = "pool"
    assert pv(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["outcome"] for m in data["mutants"]} == {
        "broken-off-by-one": "killed", "broken-above-thousand": "survived", "broken-same-sum": "equivalent"}


def test_shards_split_the_mutants_disjointly_and_completely(abacus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen = []
    for index in (1, 2):
        assert pv(_mutants(abacus, "--shard", f"{index}/2", "--format", "json")) == 0
        seen.append({m["name"] for m in json.loads(capsys.readouterr().out)["mutants"]})
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == {"broken-off-by-one", "broken-above-thousand", "broken-same-sum"}


@pytest.mark.parametrize("extra", [["--fail-on", "score:101"], ["--fail-on", "mutants"], ["--kind", "abacuss"],
                                   ["--shard", "3/2"], ["--jobs", "0"], ["--mode", "half"]])
def test_usage_errors_exit_2_and_say_what_is_wrong(abacus: Path, extra: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(_mutants(abacus, *extra)) == 2
    err = capsys.readouterr().err
    assert extra[0] in err or extra[1] in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert pv(["mutants", "--help"]) == 0
    assert "--fail-on" in capsys.readouterr().out
