"""apr-tokenize-parallel-bpe-v1 (FALSIFY-APR-TOK-PAR-001..014): HELD on the real tokenizer engine,
FALSIFIED on a mutant with the one defect each claim forbids (engines/tokenizer/mutants/)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.estimate import extrapolate_estimate
from engines.tokenizer.progress import ProgressLines

PAR = "FALSIFY-APR-TOK-PAR-"


def _ws(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)  # as `pv run` gives it: the commands run inside it
    return path

CASES = [
    ("001", "broken-strided-workers"),
    ("003", "broken-refuses-workers-above-cpus"),
    ("004", "broken-workers-flag-ignored"),
    ("005", "broken-default-workers-cpu-count"),
    ("006", "broken-zero-workers-falls-back"),
    ("007", "broken-doc-tick-off-by-one"),
    ("008", "broken-time-tick-millis"),
    ("009", "broken-quiet-keeps-final"),
    ("010", "broken-eta-without-total"),
    ("011", "broken-shards-floor-divided"),
    ("012", "broken-estimate-keeps-sample-shard"),
    ("013", "broken-estimate-writes-manifest"),
    ("014", "broken-estimate-sample-ignored"),
]


@pytest.mark.parametrize(("number", "mutant"), CASES)
def test_held_on_real_engine_falsified_on_mutant(tmp_path: Path, number: str, mutant: str) -> None:
    real = run_falsifier(PAR + number, workspace=_ws(tmp_path / "real"))
    assert real.outcome is Outcome.HELD, real.message
    broken = run_falsifier(PAR + number, engines={"tokenizer": mutant}, workspace=_ws(tmp_path / "broken"))
    assert broken.outcome is Outcome.FALSIFIED, broken.message


def test_002_speedup_judged_against_measured_capacity(tmp_path: Path) -> None:
    """Wall-clock speedup on a shared 2-core machine: judged only when the machine shows spare capacity
    (else SKIPPED, with the measured capacity in the reason); the serialized mutant never gets a speedup."""
    real = run_falsifier(PAR + "002", workspace=_ws(tmp_path / "real"), params={"rounds": 5, "attempts": 2})
    assert real.outcome in (Outcome.HELD, Outcome.SKIPPED), real.message
    # Only the lock mutant is required to lose: its defect is in our code. broken-shared-encoder-pool's
    # slowness comes from contention inside the regex crate's pool, which depends on the machine (a CI
    # runner measured 1.43x of a 1.51x capacity with it), so it is no deterministic mutant.
    mutant = "broken-serialized-workers"
    broken = run_falsifier(PAR + "002", engines={"tokenizer": mutant},
                           workspace=_ws(tmp_path / mutant), params={"rounds": 5, "attempts": 2})
    if broken.outcome is Outcome.SKIPPED:
        pytest.skip(f"no spare core on this machine right now: {broken.message}")
    assert broken.outcome is Outcome.FALSIFIED, (mutant, broken.message)


def test_progress_emitter_or_cadence_with_injected_clock() -> None:
    now = [0.0]
    out = io.StringIO()
    lines = HFTokenizerEngine().progress_lines(interval_docs=3, interval_seconds=10.0, clock=lambda: now[0],
                                               stream=out)
    assert isinstance(lines, ProgressLines)
    assert [lines.tick(d, d) for d in (1, 2, 3, 4, 5)] == [False, False, True, False, False]
    now[0] = 13.0  # 10 s after the line at t=0? no: the line at docs=3 was at t=0, so 13 s > 10 s
    assert lines.tick(5, 5)
    lines.final(5, 5)
    assert out.getvalue().count("[progress]") == 3 and "done docs=5" in out.getvalue()
    with pytest.raises(ValueError, match="progress intervals"):
        ProgressLines(interval_docs=0)


def test_estimate_kernel_contract_example() -> None:
    e = extrapolate_estimate(1000, 50000, 1.0, 100000, 1_000_000, 4)
    assert (e.total_tokens, e.shards, e.wall_seconds) == (5_000_000, 5, 25.0)


def test_cgroup_quota_caps_usable_cpus(tmp_path: Path) -> None:
    from engines.tokenizer.workers import _cgroup_cpu_quota

    for text, want in (("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1), ("max 100000", None)):
        (tmp_path / "cpu.max").write_text(text)
        assert _cgroup_cpu_quota(tmp_path / "cpu.max") == want
    assert _cgroup_cpu_quota(tmp_path / "absent") is None


def test_shared_encoder_pool_is_a_speed_defect_only(tmp_path: Path) -> None:
    """broken-shared-encoder-pool (the engine before issue 11) writes the right ids with 2 workers:
    only FALSIFY-APR-TOK-PAR-002's speedup can catch it, where the machine shows the contention."""
    mutant = "broken-shared-encoder-pool"
    ids = run_falsifier(PAR + "001", engines={"tokenizer": mutant}, workspace=_ws(tmp_path / mutant))
    assert ids.outcome is Outcome.HELD, ids.message
