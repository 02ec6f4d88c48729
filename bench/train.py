"""Benchmark the trainer against transformers' Qwen2ForCausalLM on the same data, in one run.

Config (issue 5): Qwen2-like, hidden 128, 4 layers, 4 heads / 2 KV heads, FFN 384, vocab 8,192,
q/k/v bias, tied embeddings; seq 256, batch 8 (2,048 tokens per step); fp32; AdamW(lr 1e-3,
betas 0.9/0.95, wd 0.1), grad clip 1.0. Data: every ``.py`` of the standard library encoded with
an 8k BPE trained on it; both models see exactly the same windows (our seeded sampler) and
start from exactly the same weights (ours, loaded into the HF model).

Each mode runs in a fresh process (so peak RSS is its own) with the same thread count:

* ``ours``          — our CausalLM (SDPA with enable_gqa), eager;
* ``hf``            — Qwen2ForCausalLM, default attention (sdpa), eager (the baseline);
* ``ours-compile``  — our model and loss under ``torch.compile``, as ``apr pretrain --compile``
  does (compile warm-up reported separately).

Steady-state tokens/s is measured over ``--steps`` steps after ``--warmup`` untimed steps.
Goals: ours eager >= 1.0x baseline tokens/s, best mode >= 1.2x, the same loss curve, peak
RSS no higher.

    python bench/train.py [--steps 20] [--warmup 3] [--threads 2] [--repeat 2] [--modes ours,hf,ours-compile]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEQ, BATCH, VOCAB = 256, 8, 8192


def prepare(root: Path) -> tuple[Path, Path]:
    """An 8k BPE trained on the standard library + the whole standard library encoded with it."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    from engines.tokenizer.fixtures import QWEN_PATTERN, iter_stdlib_documents
    from engines.trainer.fixtures import encode_shards

    texts = [t for _, t in iter_stdlib_documents()]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[AddedToken("<|endoftext|>", special=True, normalized=False)])
    tok.train_from_iterator(texts[:400], trainer=trainer)
    path = root / "tokenizer.json"
    tok.save(str(path))
    return path, encode_shards(root / "shards", path, texts)


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss would include the parent's peak, inherited across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, shards: Path, steps: int, warmup: int, threads: int) -> dict[str, object]:
    import torch

    from engines.trainer.config import tiny
    from engines.trainer.data import WindowSampler, open_shards, whole
    from engines.trainer.model import build_model, window_loss

    torch.set_num_threads(threads)
    cfg = tiny().replace(vocab_size=VOCAB)
    ours = build_model(cfg, seed=0)
    if mode == "hf":
        from transformers import AutoConfig, AutoModelForCausalLM

        hf_cfg = {k: v for k, v in cfg.to_hf_config().items() if k != "architectures"}
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**hf_cfg), attn_implementation="sdpa")
        model.load_state_dict(ours.state_dict())

        def batch_loss(x: torch.Tensor) -> torch.Tensor:
            return window_loss(model(input_ids=x[:, :-1]).logits, x[:, 1:])
    else:
        model = ours

        def batch_loss(x: torch.Tensor) -> torch.Tensor:
            return window_loss(model(x[:, :-1]), x[:, 1:])
    # What `apr pretrain --compile` does: model and loss compiled together.
    loss_of = torch.compile(batch_loss) if mode == "ours-compile" else batch_loss
    del ours
    data = open_shards([shards])
    sampler = WindowSampler(data, whole(data), SEQ, seed=0)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95))
    model.train()
    losses, times = [], []
    for step in range(warmup + steps):
        x = torch.from_numpy(sampler.global_batch(step, BATCH))
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_of(x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    timed = times[warmup:]
    return {"mode": mode, "tokens_per_s": BATCH * SEQ * len(timed) / sum(timed), "ms_per_step": 1000 * sum(timed) / len(timed),
            "first_step_s": times[0], "warmup_s": sum(times[:warmup]), "loss_first": losses[0], "loss_last": losses[-1],
            "losses": losses, "peak_rss_mb": _peak_rss_mb(),
            "threads": threads, "steps": steps}


def _median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median tokens/s, plus the spread and the worst peak RSS."""
    ordered = sorted(runs, key=lambda r: r["tokens_per_s"])
    median = dict(ordered[len(ordered) // 2])
    median["all_tokens_per_s"] = [round(r["tokens_per_s"]) for r in runs]
    median["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="ours,hf,ours-compile")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds per mode (median shown)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--shards", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.child:
        print(json.dumps(child(args.child, Path(args.shards), args.steps, args.warmup, args.threads)))
        return 0
    with tempfile.TemporaryDirectory(prefix="apr-bench-train-") as tmp:
        t0 = time.perf_counter()
        _, shards = prepare(Path(tmp))
        print(f"data: stdlib encoded with an 8k BPE in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rounds: dict[str, list[dict[str, Any]]] = {}
        # Interleaved rounds: other work on the machine then hurts every mode alike.
        for _ in range(args.repeat):
            for mode in args.modes.split(","):
                proc = subprocess.run([sys.executable, __file__, "--child", mode, "--shards", str(shards),
                                       "--steps", str(args.steps), "--warmup", str(args.warmup),
                                       "--threads", str(args.threads)], capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    print(f"{mode}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                rounds.setdefault(mode, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
        results = {mode: _median_round(runs) for mode, runs in rounds.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    base = results.get("hf", {}).get("tokens_per_s")
    print(f"tiny Qwen2-like (h128, 4L, 4/2 heads, FFN 384, vocab {VOCAB}), seq {SEQ} x batch {BATCH}, fp32, "
          f"{args.threads} threads, {args.steps} timed steps after {args.warmup} warm-up")
    print(f"{'mode':<14}{'tok/s':>9}{'ms/step':>9}{'vs HF':>7}{'warm-up s':>11}{'loss 0':>8}{'loss N':>8}"
          f"{'peak RSS MB':>13}  rounds tok/s")
    for mode, r in results.items():
        ratio = f"{r['tokens_per_s'] / base:.2f}x" if base else "-"
        print(f"{mode:<14}{r['tokens_per_s']:>9.0f}{r['ms_per_step']:>9.1f}{ratio:>7}{r['warmup_s']:>11.1f}"
              f"{r['loss_first']:>8.3f}{r['loss_last']:>8.3f}{r['peak_rss_mb']:>13.0f}  {r['all_tokens_per_s']}")
    if "ours" in results and "hf" in results:
        diffs = [abs(a - b) for a, b in zip(results["ours"]["losses"], results["hf"]["losses"], strict=False)]
        print(f"loss curves ours vs hf: max |Δ| {max(diffs):.2e} over {len(diffs)} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
