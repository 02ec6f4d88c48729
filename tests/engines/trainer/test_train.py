"""`apr pretrain` end to end on a tiny model: checkpoints, metrics, resume, NaN, DDP, refusals."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.engines.trainer.conftest import TINY, run_apr


def _losses(out: Path) -> dict[int, float]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in lines if "loss" in r}


def _train(corpus: dict[str, Path], out: Path, *extra: str, steps: int = 6, launcher: list[str] | None = None,
           batch: int = 4, env: dict[str, str] | None = None) -> object:
    return run_apr("pretrain", "--dataset", str(corpus["train"]), "--val-shards", str(corpus["val"]),
                   "--tokenizer", str(corpus["tokenizer"]), *TINY, "--num-steps", str(steps), "--batch-size",
                   str(batch), "--seq-length", "64", "--lr", "3e-3", "--val-tokens", "1024", "--eval-every", "100", "--output", str(out),
                   *extra, launcher=launcher, env=env)


@pytest.mark.slow
def test_end_to_end_checkpoint_metrics_and_hf_load(corpus: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _train(corpus, out, "--save-every", "4", "--keep-checkpoints", "5", "--format", "json", steps=8)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["result"]["tokens_seen"] == 8 * 4 * 64
    assert "Chinchilla" in proc.stderr and "SEVERELY" in proc.stderr  # forced, and said so
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-000004"]
    losses = _losses(out)
    assert sorted(losses) == list(range(8)) and losses[7] < losses[0]
    meta = json.loads((out / "apr_checkpoint.json").read_text())
    assert meta["step"] == 8 and meta["tokens_seen"] == 2048 and meta["seed"] == 0 and meta["final"]
    assert meta["dataset_manifest_sha256"] and meta["val_loss"] is not None
    # A from-scratch preset cannot know the EOS; the checkpoint takes it from the tokenizer.
    config = json.loads((out / "config.json").read_text())
    assert config["eos_token_id"] == report["preflight"]["tokenizer"]["eos_id"] is not None
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM

    assert type(AutoModelForCausalLM.from_pretrained(out)).__name__ == "Qwen2ForCausalLM"
    again = _train(corpus, out, steps=1)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted(corpus: dict[str, Path], tmp_path: Path) -> None:
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _train(corpus, full, "--save-every", "3", steps=8).returncode == 0
    proc = _train(corpus, killed, "--save-every", "3", "--halt-after", "5", steps=8)
    assert proc.returncode == 137 and not (killed / "apr_checkpoint.json").exists()
    resumed = _train(corpus, killed, "--save-every", "3", "--resume", steps=8)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and "step-000003" in resumed.stderr
    a, b = _losses(full), _losses(killed)
    assert sorted(a) == sorted(b) == list(range(8))
    for step in range(8):
        assert abs(a[step] - b[step]) <= 1e-5 * abs(a[step]), (step, a[step], b[step])


def test_nan_loss_stops_and_keeps_last_good_checkpoint(corpus: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "nan"
    proc = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(corpus["tokenizer"]), *TINY,
                   "--num-steps", "30", "--batch-size", "2", "--seq-length", "32", "--lr", "1e9", "--warmup-steps", "0",
                   "--grad-clip", "1e30", "--save-every", "1", "--eval-every", "100", "--val-tokens", "256",
                   "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "became" in proc.stderr and "training stopped" in proc.stderr
    assert "last good checkpoint is" in proc.stderr
    assert not (out / "apr_checkpoint.json").exists()  # no final checkpoint from a diverged model
    kept = sorted((out / "checkpoints").glob("step-*"))
    assert kept and (kept[-1] / "apr_checkpoint.json").is_file()


@pytest.mark.slow
def test_grad_accum_and_ddp_match_one_process(corpus: dict[str, Path], tmp_path: Path) -> None:
    """Global batch 4: 1 process x 4 rows == 1 x 2 x accum 2 == torchrun 2 processes x 2 rows (gloo)."""
    one = _train(corpus, tmp_path / "one", "--threads", "1", steps=5)
    accum = _train(corpus, tmp_path / "accum", "--threads", "1", "--grad-accum", "2", steps=5, batch=2)
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to the interpreter")
    ddp = _train(corpus, tmp_path / "ddp", "--threads", "1", steps=5, batch=2,
                 launcher=[str(torchrun), "--standalone", "--nproc-per-node", "2"],
                 env={"TMPDIR": str(tmp_path)})  # torchrun leaves a torchelastic_* folder in TMPDIR
    for proc in (one, accum, ddp):
        assert proc.returncode == 0, proc.stderr[-3000:]
    base = _losses(tmp_path / "one")
    for other in (_losses(tmp_path / "accum"), _losses(tmp_path / "ddp")):
        assert sorted(other) == list(range(5))
        for step in range(5):
            assert abs(other[step] - base[step]) <= 1e-4 * abs(base[step]), (step, base[step], other[step])
    meta = json.loads((tmp_path / "ddp" / "apr_checkpoint.json").read_text())
    assert meta["world_size"] == 2 and meta["tokens_seen"] == 5 * 4 * 64


def test_preflight_only_reads_no_weights(corpus: dict[str, Path], tmp_path: Path) -> None:
    from engines.trainer.fixtures import tiny_checkpoint

    init = tiny_checkpoint(tmp_path / "init", corpus["tokenizer"])
    (init / "model.safetensors").write_bytes(b"garbage")
    proc = run_apr("pretrain", "--preflight-only", "--dataset", str(corpus["train"]), "--tokenizer",
                   str(corpus["tokenizer"]), "--init", str(init), "--num-steps", "2", "--batch-size", "1",
                   "--seq-length", "8", "--lr", "1e-4", "--force-under-provisioned", "--output", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "preflight passed" in proc.stdout and not (tmp_path / "o").exists()
    real = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(corpus["tokenizer"]),
                   "--init", str(init), "--num-steps", "1", "--batch-size", "1", "--seq-length", "8", "--lr", "1e-4",
                   "--force-under-provisioned", "--no-progress", "--output", str(tmp_path / "o"))
    assert real.returncode == 1 and "cannot read safetensors" in real.stderr


def test_usage_and_input_errors(corpus: dict[str, Path], tmp_path: Path) -> None:
    common = ("--num-steps", "1", "--batch-size", "1", "--seq-length", "8", "--lr", "1e-4", "--output", str(tmp_path / "o"))
    both = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(corpus["tokenizer"]),
                   "--init", "x", "--arch", "tiny", *common)
    assert both.returncode == 2
    missing = run_apr("pretrain", "--dataset", str(tmp_path / "none"), "--tokenizer", str(corpus["tokenizer"]),
                      *TINY, *common)
    assert missing.returncode == 2 and f"no such file or folder: {tmp_path / 'none'}" in missing.stderr
    notok = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(tmp_path / "t.json"), *TINY, *common)
    assert notok.returncode == 2 and f"no such file or folder: {tmp_path / 't.json'}" in notok.stderr
    shutil.rmtree(tmp_path / "o", ignore_errors=True)
    refused = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(corpus["tokenizer"]),
                      "--arch", "tiny", "--vocab-size", "2001", *common)
    assert refused.returncode == 1 and "FALSIFY-APR-PRETRAIN-CHINCHILLA-004" in refused.stderr


@pytest.mark.slow
def test_compile_gives_the_same_losses(corpus: dict[str, Path], tmp_path: Path) -> None:
    eager = _train(corpus, tmp_path / "eager", steps=3)
    # Inductor's cache (~150 MB) goes with the test, not into the machine's /tmp.
    compiled = _train(corpus, tmp_path / "compiled", "--compile", steps=3,
                      env={"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"), "TMPDIR": str(tmp_path)})
    assert eager.returncode == 0 and compiled.returncode == 0, compiled.stderr[-2000:]
    a, b = _losses(tmp_path / "eager"), _losses(tmp_path / "compiled")
    for step in range(3):
        assert abs(a[step] - b[step]) <= 1e-4 * abs(a[step]), (step, a[step], b[step])


def test_eager_adamw_is_torch_adamw_bit_for_bit() -> None:
    """The optimizer of eager runs (no torch._dynamo import) computes exactly what torch's AdamW does,
    and their state dicts load into each other."""
    torch = pytest.importorskip("torch")
    from engines.trainer.train import adamw

    def run(make: object, steps: int = 5) -> tuple[list[object], object]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.LayerNorm(32), torch.nn.Linear(32, 4))
        decay = [p for p in model.parameters() if p.ndim >= 2]
        rest = [p for p in model.parameters() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]
        opt = make(groups)  # type: ignore[operator]
        for step in range(steps):
            opt.zero_grad()
            x = torch.randn(8, 16, generator=torch.Generator().manual_seed(step))
            model(x).pow(2).mean().backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()], opt

    options = {"lr": 3e-3, "betas": (0.9, 0.95), "eps": 1e-8}
    ours, ours_opt = run(lambda g: adamw(g, compiled=False, **options))
    theirs, theirs_opt = run(lambda g: torch.optim.AdamW(g, **options))
    assert type(ours_opt).__name__ == "EagerAdamW"
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    theirs_opt.load_state_dict(ours_opt.state_dict())
    ours_opt.load_state_dict(theirs_opt.state_dict())
    assert type(adamw([{"params": [torch.nn.Parameter(torch.ones(1))]}], compiled=True, lr=1.0)) is torch.optim.AdamW


def test_eager_training_does_not_import_dynamo(tmp_path: Path) -> None:
    """An eager `train` step never imports torch._dynamo (2-3 s of every `apr pretrain` start)."""
    pytest.importorskip("torch")
    import subprocess

    code = ("import sys, torch\n"
            "from engines.trainer.train import adamw\n"
            "p = torch.nn.Parameter(torch.ones(3))\n"
            "opt = adamw([{'params': [p]}], compiled=False, lr=0.1)\n"
            "opt.zero_grad(); (p * 2).sum().backward(); opt.step(); opt.state_dict()\n"
            "print('torch._dynamo' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert proc.stdout.strip() == "False", proc.stderr


@pytest.mark.parametrize("dataset", ["missing", "empty-folder"])
def test_missing_dataset_is_reported_before_the_gates(corpus: dict[str, Path], tmp_path: Path, dataset: str) -> None:
    """A wrong --dataset is the only thing said, even when the Chinchilla gate would refuse the run too."""
    path = tmp_path / dataset
    if dataset == "empty-folder":
        path.mkdir()
    # 1 step of tiny without --force-under-provisioned: the gate refuses this run (checked last below)
    under = ("--arch", "tiny", "--vocab-size", "2001", "--num-steps", "1", "--batch-size", "1", "--seq-length", "8",
             "--lr", "1e-4", "--no-progress", "--output", str(tmp_path / "o"))
    proc = run_apr("pretrain", "--dataset", str(path), "--tokenizer", str(corpus["tokenizer"]), *under)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 2, said
    assert str(path) in said and ("no such file or folder" in said or "no shard-*.bin files" in said)
    assert "chinchilla" not in said.lower() and "vocab" not in said.lower() and "Traceback" not in said
    gated = run_apr("pretrain", "--dataset", str(corpus["train"]), "--tokenizer", str(corpus["tokenizer"]), *under)
    assert gated.returncode == 1 and "CHINCHILLA" in gated.stderr


class _RunsCode:
    """Unpickling this would call os.mkdir(marker): what a tampered state file could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.mkdir, (str(self.marker),)


def test_training_state_round_trips_and_never_unpickles_objects(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from engines.errors import AprError
    from engines.trainer.state import TrainerState, load_state, save_state
    from engines.trainer.train import adamw

    model = torch.nn.Linear(4, 4)
    optimizer = adamw([{"params": list(model.parameters()), "weight_decay": 0.1}], compiled=False, lr=1e-3,
                      betas=(0.9, 0.95), eps=1e-8)
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    save_state(tmp_path / "state.pt", TrainerState(3, 96, optimizer.state_dict()))
    back = load_state(tmp_path / "state.pt")
    assert (back.step, back.tokens_seen) == (3, 96)
    assert back.optimizer["param_groups"][0]["betas"] == (0.9, 0.95)
    assert torch.equal(back.optimizer["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])

    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"step": 3, "tokens_seen": 96, "optimizer": {"state": {}, "param_groups": [_RunsCode(marker)]}}, evil)
    with pytest.raises(AprError, match="refusing to resume from this training state") as refused:
        load_state(evil)
    assert str(evil) in str(refused.value) and "--resume" in refused.value.hint
    assert not marker.exists()  # nothing was executed
    with pytest.raises(TypeError, match="weights_only"):  # and such a state is never written in the first place
        save_state(tmp_path / "bad.pt", TrainerState(1, 0, {"x": _RunsCode(marker)}))
