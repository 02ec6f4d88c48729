"""`apr qa`: gates on a checkpoint directory or a GGUF file, each PASS, FAIL or SKIP with a reason.

A gate reports PASS only for what it actually checked. When a gate cannot run because an
earlier one failed (no config => no tensor inventory), it reports SKIP naming that gate; a
missing optional oracle (llama.cpp) is also a SKIP. Any FAIL makes the command exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.exporter import format_parity, layout, readback
from engines.exporter.fixtures import CODE_SAMPLE
from engines.exporter.gguf_writer import CheckpointError, iter_checkpoint_arrays, read_config
from engines.exporter.schema import Schema
from engines.exporter.tokmeta import TokenizerMetaError, tokenizer_meta

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"

G_TOKENIZER = "QA-TOKENIZER-EMBEDDED"
G_METADATA = "QA-ARCH-METADATA"
G_TENSORS = "QA-TENSOR-INVENTORY"
G_FINITE = "QA-WEIGHTS-FINITE"
G_SCHEMA = "QA-ARCH-SCHEMA"
G_ROUNDTRIP = "QA-TOKENIZER-ROUNDTRIP"
G_DECODE = "QA-GREEDY-DECODE"
G_READBACK = "QA-GGUF-READBACK"
G_PARITY = format_parity.G_PARITY
G_LLAMA_PARITY = format_parity.G_LLAMA_PARITY
GATES = (G_TOKENIZER, G_METADATA, G_TENSORS, G_FINITE, G_SCHEMA, G_ROUNDTRIP, G_DECODE, G_READBACK, G_PARITY,
         G_LLAMA_PARITY)
DECODE_TOKENS = 8


@dataclass
class Gate:
    id: str
    status: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class QaReport:
    target: str
    kind: str  # "checkpoint" | "gguf"
    gates: list[Gate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(g.status != FAIL for g in self.gates)

    def gate(self, gate_id: str) -> Gate:
        return next(g for g in self.gates if g.id == gate_id)

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(1 for g in self.gates if g.status == s) for s in (PASS, FAIL, SKIP)}
        return {
            "version": 1,
            "target": self.target,
            "kind": self.kind,
            "ok": self.ok,
            "summary": counts,
            "gates": [g.__dict__ for g in self.gates],
        }


class Qa:
    """The gate logic; the exporter engine owns one (a broken engine may swap a step)."""

    def __init__(self) -> None:
        self.parity = format_parity.FormatParity()

    schema: Schema = Schema()  # the architecture rules (engines.exporter.schema); a broken engine swaps it

    def schema_gate(self, target: Path) -> Gate:
        """Structure vs declared architecture: every violation named with its tensor/field, expected vs found."""
        try:
            dims, violations = self.schema.check_path(target)
        except (ValueError, OSError) as exc:
            return Gate(G_SCHEMA, FAIL, f"the architecture cannot be read: {exc}")
        details: dict[str, Any] = {"violations": [v.__dict__ for v in violations], "warnings": dims.warnings}
        if violations:
            return Gate(G_SCHEMA, FAIL, "; ".join(map(str, violations[:5])), details)
        return Gate(G_SCHEMA, PASS, f"{dims.num_layers} layers agree with the declared architecture "
                    "(attention, FFN, norms, embedding, RoPE, tensor count)", details)

    def tokenizer_gate(self, ckpt: Path) -> tuple[Gate, Any]:
        path = ckpt / "tokenizer.json"
        if not path.is_file():
            return Gate(G_TOKENIZER, FAIL, f"{path} is missing: the checkpoint does not embed its tokenizer"), None
        try:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(path))
        except Exception as exc:
            return Gate(G_TOKENIZER, FAIL, f"{path} does not load with `tokenizers`: {exc}"), None
        # The exported GGUF must say where generation stops; a tokenizer without a declared
        # EOS loads fine here and only fails later, at export time (seen in the lifecycle contract).
        try:
            config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            config = None
        try:
            special = tokenizer_meta(ckpt, config).special_ids
        except TokenizerMetaError as exc:
            return Gate(G_TOKENIZER, FAIL, str(exc)), None
        if "eos" not in special:
            return Gate(
                G_TOKENIZER,
                FAIL,
                f"{ckpt}: no EOS token declared (config.json eos_token_id / tokenizer_config.json eos_token); "
                "an export could not tell llama.cpp where generation stops",
            ), tok
        return Gate(G_TOKENIZER, PASS, f"{path.name} loads ({tok.get_vocab_size()} entries), EOS id {special['eos']}"), tok

    def metadata_gate(self, ckpt: Path) -> tuple[Gate, layout.HParams | None]:
        try:
            hp = layout.hparams_from_config(read_config(ckpt))
        except (CheckpointError, layout.LayoutError) as exc:
            return Gate(G_METADATA, FAIL, str(exc)), None
        return Gate(G_METADATA, PASS, f"config.json is complete for the {hp.arch} architecture",
                    {"arch": hp.arch, "vocab_size": hp.vocab_size, "layers": hp.num_hidden_layers}), hp

    def run_checkpoint(self, ckpt: Path, seed: int = 0) -> QaReport:
        report = QaReport(str(ckpt), "checkpoint")
        gate, tok = self.tokenizer_gate(ckpt)
        report.gates.append(gate)
        gate, hp = self.metadata_gate(ckpt)
        report.gates.append(gate)
        finite_ok = self._tensor_gates(report, ckpt, hp)
        report.gates.append(self.schema_gate(ckpt))
        report.gates.append(_roundtrip(tok.encode, tok.decode, tok) if tok is not None
                            else Gate(G_ROUNDTRIP, SKIP, f"needs {G_TOKENIZER} to pass"))
        if hp is None or tok is None or not finite_ok:
            report.gates.append(Gate(G_DECODE, SKIP, f"needs {G_TOKENIZER}, {G_METADATA}, {G_TENSORS} and {G_FINITE} to pass"))
        else:
            report.gates.append(_torch_decode(ckpt, tok, hp, seed))
        report.gates.append(Gate(G_READBACK, SKIP, "the target is a checkpoint, not a GGUF (run `apr qa` on the exported file)"))
        report.gates.append(Gate(G_PARITY, SKIP, "the target is a checkpoint: format parity compares a GGUF with it"))
        report.gates.append(Gate(G_LLAMA_PARITY, SKIP, "the target is a checkpoint: format parity compares a GGUF with it"))
        return report

    def _tensor_gates(self, report: QaReport, ckpt: Path, hp: layout.HParams | None) -> bool:
        if hp is None:
            report.gates.append(Gate(G_TENSORS, SKIP, f"needs {G_METADATA} to pass"))
            report.gates.append(Gate(G_FINITE, SKIP, f"needs {G_METADATA} to pass"))
            return False
        import numpy as np

        expected = layout.expected_hf_tensors(hp)
        found: dict[str, tuple[int, ...]] = {}
        bad: list[str] = []
        try:
            for name, arr in iter_checkpoint_arrays(ckpt):
                found[name] = tuple(arr.shape)
                if not np.isfinite(arr).all():
                    bad.append(f"{name} ({int((~np.isfinite(arr)).sum())} non-finite)")
        except (CheckpointError, OSError, ValueError) as exc:
            report.gates.append(Gate(G_TENSORS, FAIL, f"weights unreadable: {exc}"))
            report.gates.append(Gate(G_FINITE, SKIP, f"needs {G_TENSORS} to pass"))
            return False
        # A tied model may also store lm_head.weight; that is redundant, not wrong.
        found_cmp = {k: v for k, v in found.items() if not (k == "lm_head.weight" and hp.tie_word_embeddings)}
        problems = [f"missing {n}" for n in sorted(set(expected) - set(found_cmp))]
        problems += [f"unexpected {n}" for n in sorted(set(found_cmp) - set(expected))]
        problems += [f"{n}: shape {list(found_cmp[n])}, config implies {list(s)}"
                     for n, s in expected.items() if n in found_cmp and found_cmp[n] != s]
        details = {"expected": len(expected), "found": len(found_cmp)}
        report.gates.append(Gate(G_TENSORS, FAIL, "; ".join(problems[:5]), details) if problems
                            else Gate(G_TENSORS, PASS, f"{len(expected)} tensors with the shapes config.json implies", details))
        report.gates.append(Gate(G_FINITE, FAIL, "non-finite weights: " + ", ".join(bad[:5])) if bad
                            else Gate(G_FINITE, PASS, f"all {len(found)} tensors are finite"))
        return not problems and not bad

    def run_gguf(self, path: Path, seed: int = 0, *, reference: Path | None = None,
                 max_tokens: int | None = None) -> QaReport:
        report = QaReport(str(path), "gguf")
        try:
            info = readback.read_gguf(path, keep_reader=True)
        except readback.GGUFReadError as exc:
            report.gates.append(Gate(G_READBACK, FAIL, str(exc)))
            for gate_id in GATES:
                if gate_id != G_READBACK:
                    report.gates.append(Gate(gate_id, SKIP, f"needs {G_READBACK}: the file cannot be read"))
            return report
        hp = None
        try:
            hp = readback.hparams_from_gguf(info)
        except layout.LayoutError as exc:
            report.gates.append(Gate(G_METADATA, FAIL, str(exc)))
        tok_keys = ("tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges")
        missing = [k for k in tok_keys if k not in info.values]
        tok = None
        if missing:
            report.gates.append(Gate(G_TOKENIZER, FAIL, f"the GGUF lacks {', '.join(missing)}"))
        else:
            try:
                tok = tokenizer_from_gguf(info.values)
                report.gates.append(Gate(G_TOKENIZER, PASS, f"embedded {info.values['tokenizer.ggml.model']} tokenizer rebuilds"))
            except ValueError as exc:
                report.gates.append(Gate(G_TOKENIZER, FAIL, str(exc)))
        if hp is not None:
            report.gates.append(Gate(G_METADATA, PASS, f"{hp.arch} hyper-parameters present",
                                     {"arch": hp.arch, "vocab_size": hp.vocab_size, "layers": hp.num_hidden_layers}))
            tensor_problems = readback.check_tensors(info, hp)
            report.gates.append(Gate(G_TENSORS, FAIL, "; ".join(map(str, tensor_problems[:5]))) if tensor_problems
                                else Gate(G_TENSORS, PASS, f"{len(info.tensors)} tensors match the declared hyper-parameters"))
            problems = readback.check_gguf(info, hp)
            report.gates.append(Gate(G_READBACK, FAIL, "; ".join(map(str, problems[:8])), {"problems": len(problems)}) if problems
                                else Gate(G_READBACK, PASS, "every required key and tensor of the layout table is present and consistent"))
        else:
            report.gates.append(Gate(G_TENSORS, SKIP, f"needs {G_METADATA} to pass"))
            problems = [p for p in readback.check_keys(info, _fallback_hp(info)) if p.item.endswith(("freq_base", "pre"))]
            report.gates.append(Gate(G_READBACK, FAIL, "required hyper-parameter keys are missing (see " + G_METADATA + ")"
                                     + ("; " + "; ".join(map(str, problems)) if problems else "")))
        report.gates.append(_gguf_finite(info))
        report.gates.append(self.schema_gate(path))
        report.gates.append(_roundtrip(tok.encode, tok.decode, tok) if tok is not None
                            else Gate(G_ROUNDTRIP, SKIP, f"needs {G_TOKENIZER} to pass"))
        report.gates.append(_llama_decode(path, hp) if hp is not None and tok is not None
                            else Gate(G_DECODE, SKIP, f"needs {G_METADATA} and {G_TOKENIZER} to pass"))
        report.gates.append(self.parity_gate(path, hp, reference, max_tokens))
        report.gates.append(self.llama_parity_gate(path, hp, reference, max_tokens))
        order = {g: i for i, g in enumerate(GATES)}
        report.gates.sort(key=lambda g: order[g.id])
        return report

    def parity_gate(self, path: Path, hp: layout.HParams | None, reference: Path | None,
                    max_tokens: int | None) -> Gate:
        if hp is None and reference is None:
            return Gate(G_PARITY, SKIP, f"needs {G_METADATA} to pass")
        verdict = self.parity.gate(path, reference, max_tokens)
        return Gate(G_PARITY, verdict.status, verdict.reason, verdict.details)


    def llama_parity_gate(self, path: Path, hp: layout.HParams | None, reference: Path | None,
                          max_tokens: int | None) -> Gate:
        if hp is None and reference is None:
            return Gate(G_LLAMA_PARITY, SKIP, f"needs {G_METADATA} to pass")
        verdict = self.parity.llama_gate(path, reference, max_tokens)
        return Gate(G_LLAMA_PARITY, verdict.status, verdict.reason, verdict.details)


def _fallback_hp(info: readback.GGUFInfo) -> layout.HParams:
    arch = info.arch if info.arch in layout.SUPPORTED_ARCHS else "llama"
    return layout.HParams(arch, 0, 0, 0, 0, 1, 1, 0, 0.0, 0.0, True, False, 0)


def _roundtrip(encode: Callable[[str], Any], decode: Callable[..., str], tok: Any) -> Gate:
    ids = list(encode(CODE_SAMPLE).ids)
    text = decode(ids, skip_special_tokens=False)
    if text != CODE_SAMPLE:
        first = next((i for i, (a, b) in enumerate(zip(text, CODE_SAMPLE, strict=False)) if a != b), min(len(text), len(CODE_SAMPLE)))
        return Gate(G_ROUNDTRIP, FAIL, f"decode(encode(sample)) differs from the sample at character {first}",
                    {"tokens": len(ids)})
    return Gate(G_ROUNDTRIP, PASS, f"a {len(CODE_SAMPLE)}-character code sample round-trips through {len(ids)} tokens",
                {"tokens": len(ids)})


def _torch_decode(ckpt: Path, tok: Any, hp: layout.HParams, seed: int) -> Gate:
    try:
        import torch

        from engines.trainer.checkpoint import load_checkpoint
    except ImportError as exc:
        return Gate(G_DECODE, SKIP, f"the torch engine is not importable: {exc}")
    try:
        torch.manual_seed(seed)
        torch.set_num_threads(1)  # a few tiny forwards; extra threads only spin on a busy machine
        model = load_checkpoint(ckpt).model().eval()
        ids = list(tok.encode("def fibonacci(n):").ids)
        out: list[int] = []
        with torch.no_grad():
            for _ in range(DECODE_TOKENS):
                logits = model(torch.tensor([ids + out]))[0, -1]
                out.append(int(torch.argmax(logits)))
    except Exception as exc:
        return Gate(G_DECODE, FAIL, f"greedy decode with the torch engine failed: {type(exc).__name__}: {exc}")
    bad = [i for i in out if not 0 <= i < hp.vocab_size]
    if bad:
        return Gate(G_DECODE, FAIL, f"decode emitted ids outside [0, {hp.vocab_size}): {bad}", {"ids": out})
    return Gate(G_DECODE, PASS, f"{DECODE_TOKENS} greedy tokens with the torch engine, all < {hp.vocab_size}", {"ids": out})


def _llama_decode(path: Path, hp: layout.HParams) -> Gate:
    try:
        import llama_cpp
    except ImportError:
        return Gate(G_DECODE, SKIP, "llama_cpp (llama-cpp-python) is not importable: no GGUF runtime to decode with")
    try:
        llm = llama_cpp.Llama(str(path), n_ctx=256, n_threads=1, n_threads_batch=1, verbose=False)
        prompt = llm.tokenize(b"def fibonacci(n):", add_bos=False, special=False)
        out: list[int] = []
        for token in llm.generate(prompt, temp=0.0, top_k=1, reset=True):
            out.append(int(token))
            if len(out) >= DECODE_TOKENS:
                break
    except Exception as exc:
        return Gate(G_DECODE, FAIL, f"llama.cpp could not load or decode the GGUF: {type(exc).__name__}: {exc}")
    n_vocab = int(llm.n_vocab())
    bad = [i for i in out if not 0 <= i < min(n_vocab, hp.vocab_size)]
    if bad:
        return Gate(G_DECODE, FAIL, f"decode emitted ids outside the vocabulary: {bad}", {"ids": out})
    return Gate(G_DECODE, PASS, f"{len(out)} greedy tokens with llama.cpp, all < {n_vocab}", {"ids": out})


def _gguf_finite(info: readback.GGUFInfo) -> Gate:
    import numpy as np
    from gguf import quants

    bad = []
    for t in info.reader.tensors:
        data = quants.dequantize(t.data, t.tensor_type)
        if not np.isfinite(data).all():
            bad.append(t.name)
    if bad:
        return Gate(G_FINITE, FAIL, "non-finite weights: " + ", ".join(bad[:5]))
    return Gate(G_FINITE, PASS, f"all {len(info.reader.tensors)} tensors are finite (dequantized)")


PRE_TOKENIZERS = ("gpt-2", "qwen2", "smollm")


def tokenizer_from_gguf(values: dict[str, Any]) -> Any:
    """A `tokenizers.Tokenizer` rebuilt from GGUF gpt2-style metadata (placeholders dropped)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    from engines.exporter.tokmeta import CONTROL, QWEN2_PATTERN, UNUSED, USER_DEFINED

    if values.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"tokenizer.ggml.model={values.get('tokenizer.ggml.model')!r}; only 'gpt2' (byte-level BPE) is supported")
    pre = values.get("tokenizer.ggml.pre")
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"tokenizer.ggml.pre={pre!r} has no known regex here; expected one of {PRE_TOKENIZERS}")
    tokens: list[str] = values["tokenizer.ggml.tokens"]
    types: list[int] = values.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    # Control tokens stay in the BPE vocab at their ids (as in the source tokenizer.json), then are
    # also registered as added tokens so that plain text never merges into them.
    vocab = {t: i for i, (t, k) in enumerate(zip(tokens, types, strict=False)) if k != UNUSED}
    merges = [tuple(m.split(" ", 1)) for m in values["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    if pre == "gpt-2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif pre == "qwen2":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    added = [(i, t, k) for i, (t, k) in enumerate(zip(tokens, types, strict=False)) if k in (CONTROL, USER_DEFINED)]
    tok.add_tokens([AddedToken(t, special=(k == CONTROL), normalized=False) for _, t, k in added])
    for i, t, _ in added:
        if tok.token_to_id(t) != i:
            raise ValueError(f"added token {t!r} would land on id {tok.token_to_id(t)} instead of {i}")
    return tok


def write_report_json(report: QaReport) -> str:
    return json.dumps(report.to_json(), indent=2)
