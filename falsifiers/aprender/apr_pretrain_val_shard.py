"""Falsifiers of the reference contract apr-pretrain-val-shard-v1 (FALSIFY-PRETRAIN-VAL-SHARD-*): the held-out
validation shard.

The other project's ``--val-shard DIR`` is our ``--val-shards SHARDS...`` (encode-corpus folders or
shard files); its "held-out batches" are our validation *windows* (``seq + 1`` consecutive ids, at
most ``--val-tokens`` worth); its legacy "first 16 batches of --dataset" is our legacy split (every
20th EOS-delimited document of ``--dataset`` held out, disjoint from training). Every check runs
`apr pretrain` with the run's trainer engine and reads the held-out set the command reports
(``preflight.validation``: source, windows, train_tokens and a sha256 of the windows), comparing it
with what is computed here, independently, from the shard files.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl
from falsifiers._tiny_pretrain import Run, must_succeed, pretrain

VAL = "FALSIFY-PRETRAIN-VAL-SHARD-"
SEQ = 16


def _ids(folder: Path) -> Any:
    import numpy as np

    return np.concatenate([np.fromfile(p, dtype="<u4").astype(np.int64) for p in sorted(folder.glob("*.bin"))])


def _digest(stream: Any, max_tokens: int) -> tuple[int, str]:
    """(windows, sha256) of the consecutive seq + 1 windows (stride seq) a held-out stream yields, uncapped by wrap."""
    import numpy as np

    n = min(max(0, (len(stream) - 1) // SEQ), max(1, max_tokens // SEQ))
    windows = np.stack([stream[k * SEQ : k * SEQ + SEQ + 1] for k in range(n)]).astype("<i8") if n else \
        np.zeros((0, SEQ + 1), dtype="<i8")
    return n, hashlib.sha256(np.ascontiguousarray(windows).tobytes()).hexdigest()


def _val_dir(ctx: RunContext, name: str, *, start: int = 60, count: int = 4, tokens: int | None = None) -> Path:
    """Held-out shards from standard-library files the training fixture does not use (optionally cut to ``tokens``)."""
    import numpy as np

    from engines.trainer.fixtures import encode_shards, stdlib_texts
    from falsifiers._trainer_support import small_fixture

    tok, _ = small_fixture(ctx)
    dest = encode_shards(ctx.workspace / name, tok, stdlib_texts(start, count, max_chars=3000))
    if tokens is not None:
        shard = dest / "shard-00000.bin"
        np.fromfile(shard, dtype="<u4")[:tokens].tofile(shard)
        (dest / "manifest.json").unlink()  # its counts no longer hold; a bare shard folder is valid input
    return dest


def _validation(run: Run) -> dict[str, Any]:
    return dict(run.report.get("preflight", {}).get("validation", {}))


@falsifier("FALSIFY-PRETRAIN-VAL-SHARD-001", level="integration", engines=["trainer"])
def val_shards_are_an_independent_source(ctx: RunContext) -> Verdict:
    """With --val-shards the windows are those of the val shards (same sha256 as computed here from their files)
    and training keeps every token of --dataset (train_tokens == dataset tokens: nothing reserved)."""
    from falsifiers._trainer_support import small_fixture

    _, dataset = small_fixture(ctx)
    val = _val_dir(ctx, "val")
    max_tokens = 8 * SEQ
    run = must_succeed(pretrain(ctx, "indep", "--val-shards", str(val), "--num-steps", "1", "--batch-size", "1",
                                "--seq-length", str(SEQ), "--lr", "1e-4", "--val-tokens", str(max_tokens),
                                preflight_only=True), "preflight with --val-shards")
    got = _validation(run)
    want_n, want_sha = _digest(_ids(val), max_tokens)
    _, dataset_sha = _digest(_ids(dataset), max_tokens)
    dataset_tokens = int(_ids(dataset).size)
    measured = {"val_windows": got.get("windows"), "train_tokens": got.get("train_tokens"),
                "dataset_tokens": dataset_tokens}
    problems = []
    if got.get("sha256") != want_sha or got.get("windows") != want_n:
        source = "the --dataset shards" if got.get("sha256") == dataset_sha else "neither val shards nor --dataset"
        problems.append(f"validation windows ({got.get('windows')}, sha256 {str(got.get('sha256'))[:12]}) are not "
                        f"the val shards' ({want_n}, {want_sha[:12]}): they come from {source}")
    if got.get("train_tokens") != dataset_tokens:
        problems.append(f"training uses {got.get('train_tokens')} of the {dataset_tokens} --dataset tokens: "
                        "held-out data is still reserved out of --dataset")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured=measured)
    return ctx.held(f"{want_n} windows from --val-shards; training keeps all {dataset_tokens} --dataset tokens",
                    measured=measured)


@falsifier("FALSIFY-PRETRAIN-VAL-SHARD-002", level="integration", engines=["trainer"])
def val_shards_never_wrap(ctx: RunContext) -> Verdict:
    """A val shard of exactly one window (seq + 1 ids) with --val-tokens asking for 16 windows: the run completes
    with 1 window, not 16. Boundaries (preflight): 2·seq ids still 1 window, 2·seq + 1 ids 2 windows."""
    want_windows = 16
    counts: dict[int, Any] = {}
    for tokens in (SEQ + 1, 2 * SEQ, 2 * SEQ + 1):
        val = _val_dir(ctx, f"val-{tokens}", tokens=tokens)
        args = ("--val-shards", str(val), "--num-steps", "2", "--batch-size", "1", "--seq-length", str(SEQ),
                "--lr", "1e-4", "--val-tokens", str(want_windows * SEQ), "--eval-every", "1")
        run = pretrain(ctx, f"wrap-{tokens}", *args, preflight_only=tokens != SEQ + 1)
        if tokens == SEQ + 1 and run.code != 0:
            return ctx.falsified(f"a one-window val shard made `apr pretrain` fail (exit {run.code}): "
                                 f"{run.stderr.strip().splitlines()[-1:]}", counterexample={"val_tokens": tokens})
        must_succeed(run, f"val shard of {tokens} ids")
        counts[tokens] = _validation(run).get("windows")
        if tokens == SEQ + 1 and not run.evals:
            raise RuntimeError("the run logged no val_loss")
    expected = {SEQ + 1: 1, 2 * SEQ: 1, 2 * SEQ + 1: 2}
    measured = {f"windows_of_{t}_ids": n for t, n in counts.items()}
    if counts != expected:
        bad = next(t for t in expected if counts.get(t) != expected[t])
        return ctx.falsified(f"a val shard of {bad} ids (seq {SEQ}) gave {counts.get(bad)} windows, expected "
                             f"{expected[bad]} (--val-tokens asked for {want_windows}): the val set wrapped around",
                             counterexample={"val_ids": bad, "windows": counts.get(bad)}, measured=measured)
    return ctx.held(f"one-window val shard: 1 window, run completed; {2 * SEQ} ids -> 1, {2 * SEQ + 1} ids -> 2",
                    measured=measured)


@falsifier("FALSIFY-PRETRAIN-VAL-SHARD-003", level="integration", engines=["trainer"])
def unusable_val_shards_refused(ctx: RunContext) -> Verdict:
    """An empty folder, a 0-byte shard, and a shard of seq ids (one short of a window) each exit 1 naming the path
    and FALSIFY-PRETRAIN-VAL-SHARD-003 (no fallback to --dataset); seq + 1 ids is accepted (exit 0)."""
    import numpy as np

    cases: dict[str, Path] = {}
    for name, n in (("empty-folder", None), ("zero-byte-shard", 0), ("one-short", SEQ), ("one-window", SEQ + 1)):
        folder = ctx.workspace / name
        folder.mkdir(parents=True, exist_ok=True)
        if n is not None:
            np.arange(1, n + 1, dtype="<u4").tofile(folder / "shard-00000.bin")
        cases[name] = folder
    outcomes = {}
    problems = []
    for name, folder in cases.items():
        run = pretrain(ctx, f"out-{name}", "--val-shards", str(folder), "--num-steps", "1", "--batch-size", "1",
                       "--seq-length", str(SEQ), "--lr", "1e-4", preflight_only=True)
        outcomes[name] = run.code
        if name == "one-window":
            if run.code != 0:
                problems.append(f"{name} ({SEQ + 1} ids, exactly one window) was refused: exit {run.code}")
        elif run.code != 1 or VAL + "003" not in run.stderr or str(folder) not in run.stderr:
            said = run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else "nothing"
            problems.append(f"{name}: exit {run.code} (expected 1) and stderr {said}, which must name {folder} and "
                            f"{VAL}003")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured={"exit_codes": outcomes})
    return ctx.held("empty folder, 0-byte shard and seq-id shard refused (exit 1, path and id named); seq + 1 ids "
                    "accepted", measured={"exit_codes": outcomes})


def _legacy_digest(folder: Path, max_tokens: int) -> tuple[int, str]:
    """The historical held-out rule, written here: documents end at EOS; the 20th, 40th, ... (index % 20 == 19;
    the last one if there are fewer than 20) are held out, concatenated, cut into windows."""
    import numpy as np

    ids = _ids(folder)
    eos = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["eos_id"]
    ends = [int(i) + 1 for i in np.flatnonzero(ids == eos)]
    bounds = [(s, e) for s, e in zip([0, *ends], [*ends, len(ids)], strict=True) if e > s]
    held = [b for k, b in enumerate(bounds) if k % 20 == 19] or [bounds[-1]]
    return _digest(np.concatenate([ids[s:e] for s, e in held]), max_tokens)


@falsifier("FALSIFY-PRETRAIN-VAL-SHARD-004", level="integration", engines=["trainer"])
def legacy_split_preserved(ctx: RunContext) -> Verdict:
    """Without --val-shards: the windows are the historical rule's (sha256 computed here from the shard), and two
    identical runs log byte-identical val_loss series."""
    from engines.trainer.fixtures import encode_shards, stdlib_texts
    from falsifiers._trainer_support import small_fixture

    tok, _ = small_fixture(ctx)
    # 45 short documents: the held-out ones (19, 39) differ from any other period's.
    dataset = encode_shards(ctx.workspace / "legacy-data", tok, stdlib_texts(0, 45, max_chars=800))
    max_tokens = 64 * SEQ
    args = ("--num-steps", "3", "--batch-size", "1", "--seq-length", str(SEQ), "--lr", "1e-3", "--warmup-steps", "1",
            "--eval-every", "1", "--val-tokens", str(max_tokens), "--seed", str(ctx.seed))
    runs = [must_succeed(pretrain(ctx, f"legacy-{k}", *args, dataset=dataset), "legacy run") for k in range(2)]
    got = _validation(runs[0])
    want_n, want_sha = _legacy_digest(dataset, max_tokens)
    series = [[json.dumps(r["val_loss"]) for r in run.evals] for run in runs]
    measured = {"windows": got.get("windows"), "expected_windows": want_n, "evaluations": len(series[0])}
    problems = []
    if got.get("sha256") != want_sha or got.get("windows") != want_n:
        problems.append(f"legacy held-out windows ({got.get('windows')}, sha256 {str(got.get('sha256'))[:12]}) are not "
                        f"the historical rule's ({want_n}, {want_sha[:12]})")
    if series[0] != series[1] or len(series[0]) < 3:
        problems.append(f"two identical runs logged val_loss {series[0]} and {series[1]}")
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured=measured)
    return ctx.held(f"legacy split: {want_n} windows of the historical rule; val_loss series identical over "
                    f"{len(series[0])} evaluations", measured=measured)


CONTRACT = "C-APR-PRETRAIN-VAL-SHARD"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
