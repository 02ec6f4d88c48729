"""Broken exporters for the `apr` command surface: qa gates, format parity, `apr run`, bench receipts.

Each is the real engine with ONE realistic defect, so that a falsifier of the apr-cli-qa or
apr-bench-receipt family can be shown to FALSIFY it (and to HOLD against the real engine).
Listed in engines.exporter.mutants.MUTANTS like the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.exporter.bench import Bench, BenchReceipt
from engines.exporter.engine import GGUFExporter
from engines.exporter.format_parity import (
    DECODE_FLOOR,
    DecodeStep,
    FormatParity,
    Verdict,
    is_checkpoint_dir,
)
from engines.exporter.generate import Generator
from engines.exporter.qa import FAIL, G_METADATA, PASS, Gate, Qa, QaReport
from engines.exporter.receipt import Case, ReceiptValidator


class QaMissingAsGguf(GGUFExporter):
    """`qa` sends every path that is not a directory to the GGUF gates: a missing file becomes a FAILed
    read-back gate in a report instead of an error saying the file does not exist."""

    name = "broken-qa-missing-as-gguf"

    def qa(self, target: Path, *, seed: int = 0, reference: Path | None = None, max_tokens: int | None = None) -> Any:
        target = Path(target)
        if target.is_dir():
            return self.qa_gates.run_checkpoint(target, seed)
        return self.qa_gates.run_gguf(target, seed, reference=reference, max_tokens=max_tokens)


class _WarnOnlyReport(QaReport):
    @property
    def ok(self) -> bool:
        # Only the three structural gates block; the rest are treated as warnings.
        blocking = {"QA-TOKENIZER-EMBEDDED", "QA-ARCH-METADATA", "QA-TENSOR-INVENTORY"}
        return all(g.status != FAIL for g in self.gates if g.id in blocking)


class _WarnOnlyQa(Qa):
    def run_checkpoint(self, ckpt: Path, seed: int = 0) -> QaReport:
        report = super().run_checkpoint(ckpt, seed)
        return _WarnOnlyReport(report.target, report.kind, report.gates)


class QaWarnOnlyGates(GGUFExporter):
    """`apr qa` exits 0 when only a 'non-structural' gate (finite weights, decode...) FAILs: FAIL printed, exit 0."""

    name = "broken-qa-warn-only-gates"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _WarnOnlyQa()


class _RawF32Qa(Qa):
    def run_gguf(self, path: Path, seed: int = 0, *, reference: Path | None = None,
                 max_tokens: int | None = None) -> QaReport:
        from engines.exporter import readback

        report = super().run_gguf(path, seed, reference=reference, max_tokens=max_tokens)
        gate = report.gate(G_METADATA)
        if gate.status == PASS:
            hp = readback.hparams_from_gguf(readback.read_gguf(path))
            # GGUF stores these as f32; widened to f64 without rounding they print as 9.999999974752427e-07
            import numpy as np

            gate.details.update(rms_norm_eps=float(np.float32(hp.rms_norm_eps)), rope_theta=float(np.float32(hp.rope_theta)))
        return report


class QaRawF32Details(GGUFExporter):
    """`apr qa --format json` on a GGUF reports its f32 hyper-parameters widened to f64 (f32 artifacts)."""

    name = "broken-qa-raw-f32-details"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _RawF32Qa()


class _ArchFromClassQa(Qa):
    def metadata_gate(self, ckpt: Path) -> tuple[Gate, Any]:
        import json

        gate, hp = super().metadata_gate(ckpt)
        if gate.status == PASS:
            config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
            gate.details["arch"] = (config.get("architectures") or [gate.details["arch"]])[0]
        return gate, hp


class QaArchFromClass(GGUFExporter):
    """`apr qa` on a checkpoint reports the HF class name (Qwen2ForCausalLM) as the architecture."""

    name = "broken-qa-arch-from-class"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _ArchFromClassQa()


class _DividesByTemperature(Generator):
    def next_distribution(self, logits: Any, temperature: float) -> Any:
        import torch

        return torch.log_softmax((logits / temperature).double(), dim=-1)  # temperature 0 (greedy) -> inf/NaN


class RunDividesByTemperature(GGUFExporter):
    """`apr run` always divides the logits by the temperature, also for greedy (temperature 0)."""

    name = "broken-run-divides-by-temperature"

    def __init__(self) -> None:
        super().__init__()
        self.generator = _DividesByTemperature()


def _with_parity(parity: FormatParity) -> Qa:
    qa = Qa()
    qa.parity = parity
    return qa


class _AbsentFails(FormatParity):
    def gate(self, gguf: Path, explicit: Path | None, max_tokens: int | None) -> Verdict:
        reference, _ = self.resolve(gguf, explicit)
        if reference is None:
            return Verdict("FAIL", "no reference checkpoint found", {})
        return super().gate(gguf, explicit, max_tokens)


class ParityAbsentFails(GGUFExporter):
    """The format-parity gate FAILs when no reference checkpoint exists (instead of SKIP)."""

    name = "broken-parity-absent-fails"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _with_parity(_AbsentFails())


class _ExplicitFallsBack(FormatParity):
    def resolve(self, gguf: Path, explicit: Path | None) -> tuple[Path | None, str]:
        if explicit is not None and is_checkpoint_dir(explicit):
            return explicit, "given with --reference"
        return super().resolve(gguf, None)  # a missing explicit reference silently becomes 'none given'


class ParityExplicitFallsBack(GGUFExporter):
    """An explicit --reference that does not exist falls back to auto-discovery (usually: SKIP)."""

    name = "broken-parity-explicit-falls-back"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _with_parity(_ExplicitFallsBack())


class _NoFloor(FormatParity):
    def steps_for(self, max_tokens: int | None) -> int:
        return max_tokens or DECODE_FLOOR  # --max-tokens replaces the floor instead of raising it


class ParityNoFloor(GGUFExporter):
    """--max-tokens 8 makes the format-parity gate compare 8 decode steps (the floor is a default, not a floor)."""

    name = "broken-parity-no-floor"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _with_parity(_NoFloor())


class _FirstStepOnly(FormatParity):
    def judge(self, steps: list[DecodeStep], wanted: int) -> Verdict:
        return super().judge(steps[:1], 1)  # the prefill argmax alone, as the replaced gate did


class ParityFirstStepOnly(GGUFExporter):
    """The format-parity verdict looks at the first (prefill) step only: a late divergence passes."""

    name = "broken-parity-first-step-only"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _with_parity(_FirstStepOnly())


class _ClassNotRequired(ReceiptValidator):
    def provenance(self, r: dict[str, Any]) -> list[str]:
        prov = r.get("provenance")
        if isinstance(prov, dict) and "compute_class" not in prov:
            return []  # compute_class dropped from the required provenance fields
        return super().provenance(r)


class _ShrunkTable(ReceiptValidator):
    def cases(self) -> list[Case]:
        return [c for c in super().cases() if c.id != "04"][:13]  # a case file deleted, the table shrank to 13


class _SummaryOnly(Bench):
    def summarize(self, tokens: int, seconds: list[float]) -> Any:
        phase = super().summarize(tokens, seconds)
        phase.samples_ms = []  # "summary is enough": raw samples not written
        phase.seconds = []
        phase.tokens_per_s = []
        return phase


class _ArmsCrossClass(Bench):
    def compare(self, receipt: BenchReceipt, baseline: dict[str, Any], threshold: float | None) -> None:
        super().compare(receipt, baseline, None)
        if threshold is not None and receipt.comparison is not None:
            ratio = receipt.comparison["decode_median_ratio"]
            receipt.threshold = {"min_decode_median_ratio": threshold, "passed": ratio is not None and ratio >= threshold}


def _with_validator(bench: Bench, validator: ReceiptValidator) -> Bench:
    bench.validator = validator
    return bench


class BenchClassNotRequired(GGUFExporter):
    """The receipt validator accepts a receipt whose provenance has no compute_class."""

    name = "broken-bench-class-not-required"

    def __init__(self) -> None:
        super().__init__()
        self.bencher = _with_validator(Bench(), _ClassNotRequired())


class BenchArmsCrossClass(GGUFExporter):
    """`apr bench --baseline --threshold` arms the threshold even when the baseline ran on another compute class."""

    name = "broken-bench-arms-cross-class"

    def __init__(self) -> None:
        super().__init__()
        self.bencher = _ArmsCrossClass()


class BenchSummaryOnly(GGUFExporter):
    """`apr bench` writes the median but no raw samples (samples_ms empty, n kept)."""

    name = "broken-bench-summary-only"

    def __init__(self) -> None:
        super().__init__()
        self.bencher = _SummaryOnly()


class BenchCaseTableShrunk(GGUFExporter):
    """The receipt validator's case table lost a case (13 left), so `apr bench --check` proves less."""

    name = "broken-bench-case-table-shrunk"

    def __init__(self) -> None:
        super().__init__()
        self.bencher = _with_validator(Bench(), _ShrunkTable())


MUTANTS_QA: tuple[type[GGUFExporter], ...] = (
    QaMissingAsGguf, QaWarnOnlyGates, QaRawF32Details, QaArchFromClass, RunDividesByTemperature,
    ParityAbsentFails, ParityExplicitFallsBack, ParityNoFloor, ParityFirstStepOnly,
    BenchClassNotRequired, BenchArmsCrossClass, BenchSummaryOnly, BenchCaseTableShrunk,
)
