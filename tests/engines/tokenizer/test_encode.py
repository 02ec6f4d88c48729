"""encode-corpus, the fast path, resume after SIGKILL, verify-shards."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engines.errors import AprError
from engines.tokenizer import backends
from engines.tokenizer import fixtures as fx
from engines.tokenizer.encode import EncodeOptions
from engines.tokenizer.engine import HFTokenizerEngine
from engines.tokenizer.load import load_tokenizer

np = pytest.importorskip("numpy")
pytest.importorskip("tokenizers")
pytest.importorskip("tiktoken")


def joined(out: Path) -> list[int]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    parts = [np.fromfile(out / s["file"], dtype="<u4") for s in manifest["shards"]]
    return np.concatenate(parts).tolist() if parts else []


def encode(tok: Path, corpus: list[Path], out: Path, **kw: object) -> dict:
    result = HFTokenizerEngine().encode_corpus(EncodeOptions(corpus=corpus, tokenizer=tok, output=out, **kw))
    return result.manifest or {}


@pytest.mark.parametrize("name", HFTokenizerEngine.FAST_BACKENDS)
def test_fast_backends_equal_tokenizers_on_stdlib_sample(tmp_path: Path, name: str) -> None:
    texts = [t for _r, t in fx.iter_stdlib_documents(300)] + list(backends.PROBES)
    texts += ["x <|endoftext|> y", "cafe\u0301 <|endoftext|>", "\ufeffBOM \x00 ctrl", " " * 3000 + "tail"]
    tok = load_tokenizer(fx.stdlib_bpe_tokenizer_json(tmp_path))
    fast, _reason = HFTokenizerEngine().fast_backend(name, tok, 2)
    assert fast.name == name
    try:
        got = [a.tolist() for a in fast.encode_many(texts)]
    finally:
        fast.close()
    assert got == [tok.encode(t) for t in texts]


def test_fast_path_needs_nfc_and_routes_added_token_text(tmp_path: Path) -> None:
    tok = load_tokenizer(fx.stdlib_bpe_tokenizer_json(tmp_path))
    plan, _ = backends.fast_plan(json.loads(tok.path.read_text(encoding="utf-8")))
    assert plan is not None and plan.normalizer == "NFC"
    texts = ["cafe\u0301 A\u030a", "x <|endoftext|> y"]
    fast = backends.TiktokenBackend(tok, plan, 1)
    assert [a.tolist() for a in fast.encode_many(texts)] == [tok.encode(t) for t in texts]
    assert fast.hf_documents == 1
    plan.normalizer = ""  # without the tokenizer's own normalizer the ids differ: the check has teeth
    assert fast.encode_many(texts[:1])[0].tolist() != tok.encode(texts[0])
    fast.close()


@pytest.mark.parametrize("change, reason", [
    (lambda d: d.__setitem__("normalizer", {"type": "Lowercase"}), "normalizer"),
    (lambda d: d.__setitem__("pre_tokenizer", {"type": "Whitespace"}), "pre-tokenizer"),
    (lambda d: d["model"].__setitem__("dropout", 0.1), "dropout"),
    (lambda d: d["model"]["merges"].reverse(), "merge order"),
])
def test_fast_plan_refuses_what_it_cannot_reproduce(tmp_path: Path, change, reason: str) -> None:
    data = json.loads(fx.stdlib_bpe_tokenizer_json(tmp_path).read_text(encoding="utf-8"))
    change(data)
    plan, why = backends.fast_plan(data)
    assert plan is None and reason in why


def test_backends_agree_and_policies(tmp_path: Path) -> None:
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    texts = [t for _r, t in fx.iter_stdlib_documents(40)]
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", texts)
    reference = load_tokenizer(tok)
    expected = [i for t in texts for i in reference.encode(t)]
    for backend in ("hf", "auto", *HFTokenizerEngine.FAST_BACKENDS):
        m = encode(tok, [corpus], tmp_path / backend, backend=backend, eos_policy="none")
        assert m["run"]["backend"] == (HFTokenizerEngine.FAST_BACKENDS[0] if backend == "auto" else backend)
        assert joined(tmp_path / backend) == expected, backend


def test_non_bpe_uses_tokenizers_and_named_fast_backends_refuse(tmp_path: Path) -> None:
    tok = fx.wordpiece_tokenizer_json(tmp_path / "wp")
    texts = [t for _r, t in fx.iter_stdlib_documents(10)]
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", texts)
    m = encode(tok, [corpus], tmp_path / "auto", eos_policy="none")
    assert m["run"]["backend"] == "hf" and "not BPE" in m["run"]["backend_reason"]
    reference = load_tokenizer(tok)
    assert joined(tmp_path / "auto") == [i for t in texts for i in reference.encode(t)]
    for name in HFTokenizerEngine.FAST_BACKENDS:
        with pytest.raises(AprError, match=f"--backend {name} is not equivalent.*not BPE"):
            encode(tok, [corpus], tmp_path / name, backend=name, eos_policy="none")
        assert not (tmp_path / name / "manifest.json").exists()


def test_folders_text_field_max_docs_and_bad_lines(tmp_path: Path) -> None:
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    data = tmp_path / "data"
    fx.write_jsonl(data / "b.jsonl", ["two", "three"], field="body")
    fx.write_jsonl(data / "a.jsonl", ["one"], field="body")
    (data / "c.jsonl").write_text('{"body": "four"}\n\nnot json\n{"body": "five"}\n', encoding="utf-8")
    with pytest.raises(AprError, match=r"c\.jsonl:3: invalid JSON"):
        encode(tok, [data], tmp_path / "stop", text_field="body")
    m = encode(tok, [data], tmp_path / "skip", text_field="body", on_bad_line="skip", eos_policy="none")
    assert (m["documents"], m["skipped_lines"], m["blank_lines"]) == (5, 1, 1)
    assert "c.jsonl:3" in m["bad_lines"][0]
    ref = load_tokenizer(tok)
    assert joined(tmp_path / "skip") == [i for t in ["one", "two", "three", "four", "five"] for i in ref.encode(t)]
    m = encode(tok, [data], tmp_path / "max", text_field="body", on_bad_line="skip", max_docs=2)
    assert m["documents"] == 2 and m["eos_count"] == 2


def test_estimate_only_writes_nothing(tmp_path: Path) -> None:
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", [t for _r, t in fx.iter_stdlib_documents(50)])
    result = HFTokenizerEngine().encode_corpus(
        EncodeOptions(corpus=[corpus], tokenizer=tok, output=tmp_path / "out", estimate_only=True))
    assert not (tmp_path / "out").exists()
    real = encode(tok, [corpus], tmp_path / "real")
    assert result.estimate is not None
    assert 0.5 < result.estimate["estimated_tokens"] / real["tokens"] < 2.0


def test_rerun_is_idempotent_and_other_tokenizer_refused(tmp_path: Path) -> None:
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", ["a b c", "d e f"])
    encode(tok, [corpus], tmp_path / "out")
    again = HFTokenizerEngine().encode_corpus(EncodeOptions(corpus=[corpus], tokenizer=tok, output=tmp_path / "out"))
    assert again.already_complete
    other = fx.stdlib_bpe_tokenizer_json(tmp_path / "other", eos_in_vocab=False)
    with pytest.raises(AprError, match="FALSIFY-TOK-ENCODE-CORPUS-007"):
        encode(other, [corpus], tmp_path / "out")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(AprError, match="not an encode-corpus output"):
        encode(tok, [corpus], tmp_path / "junk")


def _cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "engines.cli", "tokenize", *map(str, args)]


@pytest.mark.slow
def test_sigkill_at_random_times_resumes_byte_identical(tmp_path: Path) -> None:
    """Kill the real command (fast path, 2 workers, 2 corpus files) at random moments, 4 times."""
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    docs = [t for _r, t in fx.iter_stdlib_documents(700)]
    corpus = [fx.write_jsonl(tmp_path / "c1.jsonl", docs[:350]), fx.write_jsonl(tmp_path / "c2.jsonl", docs[350:])]
    common = ["--corpus", *corpus, "--tokenizer", tok, "--shard-tokens", "150000", "--workers", "2",
              "--no-progress", "--eos-policy", "between"]
    t0 = time.monotonic()
    subprocess.run(_cli("encode-corpus", *common, "--output", tmp_path / "clean"), check=True, capture_output=True)
    clean_s = time.monotonic() - t0
    rng = random.Random(1234)
    out = tmp_path / "killed"
    killed = 0
    for _ in range(4):
        proc = subprocess.Popen(_cli("encode-corpus", *common, "--output", out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.25, 0.5) * clean_s)  # resumed runs have less left to do
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    subprocess.run(_cli("encode-corpus", *common, "--output", out), check=True, capture_output=True)
    assert killed >= 2, "the run finished before most kills: make the corpus larger"
    clean_m = json.loads((tmp_path / "clean" / "manifest.json").read_text(encoding="utf-8"))
    out_m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "clean").iterdir())
    for shard in clean_m["shards"]:
        assert (out / shard["file"]).read_bytes() == (tmp_path / "clean" / shard["file"]).read_bytes()
    assert {k: v for k, v in out_m.items() if k != "run"} == {k: v for k, v in clean_m.items() if k != "run"}


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child: writes past `limit` bytes fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("limit", [4_000, 150_000], ids=["before-the-first-shard", "mid-run"])
def test_out_of_space_fails_loudly_then_resumes_byte_identical(tmp_path: Path, limit: int) -> None:
    """A write the machine refuses (here: the file-size limit) ends with exit 4 naming the file; rerun resumes."""
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", [t for _r, t in fx.iter_stdlib_documents(120)])
    common = ["--corpus", corpus, "--tokenizer", tok, "--shard-tokens", "20000", "--no-progress"]
    subprocess.run(_cli("encode-corpus", *common, "--output", tmp_path / "clean"), check=True, capture_output=True)
    out = tmp_path / "out"
    failed = subprocess.run(_cli("encode-corpus", *common, "--output", out), capture_output=True, text=True,
                            preexec_fn=_file_size_limit(limit), check=False)
    assert failed.returncode == 4, failed.stderr
    assert "File too large (" + str(out) in failed.stderr and "ulimit -f" in failed.stderr
    assert "internal error" not in failed.stderr and "Traceback" not in failed.stderr
    left = sorted(p.name for p in out.iterdir())
    assert not [name for name in left if name.endswith(".tmp")], left  # the failed write's temp file is gone
    assert "manifest.json" not in left
    assert (len([n for n in left if n.startswith("shard-")]) > 0) == (limit > 100_000), left
    subprocess.run(_cli("encode-corpus", *common, "--output", out), check=True, capture_output=True)
    clean = tmp_path / "clean"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in clean.iterdir())
    for shard in clean.glob("shard-*.bin"):
        assert (out / shard.name).read_bytes() == shard.read_bytes()


def test_a_leftover_temp_file_alone_still_resumes(tmp_path: Path) -> None:
    """Killed while writing the very first state: only our temp file is there; it is ours, not foreign."""
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", ["a b c", "d e f"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "..encode-state.json.k2j4x.tmp").write_text("{", encoding="utf-8")
    (out / ".shard-00000.bin.z81q.tmp").write_bytes(b"\0\0")
    encode(tok, [corpus], out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "shard-00000.bin"]


def test_verify_shards_reports_truncation(tmp_path: Path) -> None:
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", [t for _r, t in fx.iter_stdlib_documents(10)])
    encode(tok, [corpus], tmp_path / "out", shard_tokens=5000)
    engine = HFTokenizerEngine()
    assert engine.verify_shards(tmp_path / "out").ok
    shard = tmp_path / "out" / "shard-00000.bin"
    shard.write_bytes(shard.read_bytes()[:-3])
    report = engine.verify_shards(tmp_path / "out")
    assert not report.ok and "not a multiple of 4" in report.problems[0]
    proc = subprocess.run(_cli("verify-shards", tmp_path / "out", "--format", "json"), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["ok"] is False


def test_plugin_modules_import_light() -> None:
    code = ("import sys, engines.tokenizer.plugin, engines.tokenizer.cli;"
            "import falsifiers.apr_cli_tokenize_import_hf as imp, falsifiers.apr_cli_tokenize_encode_corpus as enc;"
            "from apr_contracts.registry import EngineRegistry, FalsifierRegistry;"
            "engines.tokenizer.plugin.apr_register_engines(EngineRegistry());"
            "imp.apr_register_falsifiers(FalsifierRegistry()); enc.apr_register_falsifiers(FalsifierRegistry());"
            "heavy = [m for m in ('torch', 'tokenizers', 'numpy', 'tiktoken', 'transformers') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_parquet_corpus_with_resume_position(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    texts = [t for _r, t in fx.iter_stdlib_documents(30)]
    pq.write_table(pa.table({"text": [*texts[:10], None, *texts[10:]]}), tmp_path / "c.parquet", row_group_size=7)
    with pytest.raises(AprError, match=r"c\.parquet:row 11"):
        encode(tok, [tmp_path / "c.parquet"], tmp_path / "stop")
    m = encode(tok, [tmp_path / "c.parquet"], tmp_path / "out", on_bad_line="skip", eos_policy="none",
               shard_tokens=20000)
    ref = load_tokenizer(tok)
    assert m["skipped_lines"] == 1 and m["documents"] == len(texts)
    assert joined(tmp_path / "out") == [i for t in texts for i in ref.encode(t)]
    from engines.tokenizer.corpus import BadLines, Position, iter_documents

    rest = list(iter_documents([tmp_path / "c.parquet"], text_field="text", on_bad_line="skip", bad=BadLines(),
                               start=Position(0, 12, 13)))
    assert [d.text for d in rest] == texts[11:]


def test_failed_startup_check_falls_back_to_tokenizers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fast path that disagrees on the sample is dropped before anything is written; naming it refuses."""
    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    texts = [t for _r, t in fx.iter_stdlib_documents(40)]
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", texts)
    for cls in (backends.GigatokenBackend, backends.TiktokenBackend):
        real_one = cls.encode_one

        def off_by_one(self: backends.PooledBackend, text: str, real_one=real_one) -> object:
            ids = real_one(self, text)
            return ids + 1 if "import" in text else ids  # wrong ids on some documents only

        monkeypatch.setattr(cls, "encode_one", off_by_one)
    m = encode(tok, [corpus], tmp_path / "auto", eos_policy="none")
    assert m["run"]["backend"] == "hf" and "start-up check failed" in m["run"]["backend_reason"]
    ref = load_tokenizer(tok)
    assert joined(tmp_path / "auto") == [i for t in texts for i in ref.encode(t)]
    with pytest.raises(AprError, match="FALSIFY-TOK-ENCODE-CORPUS-008"):
        encode(tok, [corpus], tmp_path / "fast", backend="gigatoken")


def test_reference_process_answers_in_order_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engines.tokenizer.reference import ReferenceProcess

    tok = load_tokenizer(fx.stdlib_bpe_tokenizer_json(tmp_path))
    texts = ["def f(x):\n    return x", "cafe\u0301", "x <|endoftext|> y", ""]
    ref = ReferenceProcess(tok.path, tok.sha256)
    answers = [ref.ask(texts[i:] * 50) for i in range(len(texts))]  # several large requests in flight
    ref.close()
    assert [a.result(timeout=60) for a in answers] == [[tok.encode(t) for t in texts[i:] * 50] for i in range(4)]
    wrong = ReferenceProcess(tok.path, "0" * 64)  # not the bytes the parent loaded: no answers
    assert wrong.ask(texts).result(timeout=60) is None
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert ReferenceProcess(tok.path, tok.sha256).ask(texts).result(timeout=60) is None
    # ... and the start-up check then computes the reference in-process: same verdict.
    engine = HFTokenizerEngine()
    fast, _ = engine.fast_backend(HFTokenizerEngine.FAST_BACKENDS[0], tok, 1)
    try:
        assert engine.verify_fast(fast, tok, texts) == ""
    finally:
        fast.close()


@pytest.mark.parametrize("name", HFTokenizerEngine.FAST_BACKENDS)
def test_audit_catches_a_backend_that_diverges_after_the_startup_sample(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from engines.tokenizer.audit import AuditMismatch

    tok = fx.stdlib_bpe_tokenizer_json(tmp_path / "tok")
    texts = [t for _r, t in fx.iter_stdlib_documents(60)] + ["late = 'MARKER'\n"] + ["x = 1\n"] * 3
    from engines.tokenizer.encode import SAMPLE_BYTES

    assert sum(map(len, texts[:60])) > SAMPLE_BYTES  # the marker is beyond the start-up sample
    corpus = fx.write_jsonl(tmp_path / "c.jsonl", texts)
    cls = backends.GigatokenBackend if name == "gigatoken" else backends.TiktokenBackend
    real_one = cls.encode_one

    def wrong_late(self: backends.PooledBackend, text: str) -> object:
        ids = real_one(self, text)
        return ids[::-1].copy() if "MARKER" in text else ids  # beyond the start-up sample only

    monkeypatch.setattr(cls, "encode_one", wrong_late)
    ok = encode(tok, [corpus], tmp_path / "ok", backend=name, eos_policy="none", max_docs=60)
    assert ok["run"]["audit"]["documents"] >= 1 and ok["run"]["audit"]["mismatches"] == 0
    with pytest.raises(AuditMismatch, match=r"c\.jsonl:61") as caught:
        encode(tok, [corpus], tmp_path / "bad", backend=name, shard_tokens=500, audit_every=1)
    assert caught.value.falsifier == "FALSIFY-TOK-ENCODE-CORPUS-008"
    assert not (tmp_path / "bad" / "manifest.json").exists() and not (tmp_path / "bad" / ".encode-state.json").exists()
    # without the audit the same defect goes through unnoticed: the audit is what catches it
    blind = encode(tok, [corpus], tmp_path / "blind", backend=name, audit_every=0)
    assert blind["run"]["audit"] is None and blind["documents"] == len(texts)
