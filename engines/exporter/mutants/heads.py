"""Broken exporters around head sizes and llama.cpp loading (issue 20, part 6): each is the real
engine with ONE defect, the behaviour before the fix.
"""

from __future__ import annotations

from pathlib import Path

from engines.exporter.engine import GGUFExporter
from engines.exporter.format_parity import DecodeStep, FormatParity, decode_compare
from engines.exporter.gguf_writer import KV
from engines.exporter.layout import HParams
from engines.exporter.qa import Qa


class ExportsAnyHeadDim(GGUFExporter):
    """Exports a qwen2 model whose head_dim x heads != hidden_size with exit 0 (llama.cpp refuses the file)."""

    name = "broken-export-any-head-dim"

    def runtime_refusals(self, hp: HParams) -> list[str]:
        return []


class DropsHeadSizes(GGUFExporter):
    """Never writes attention.key_length / value_length (llama.cpp then assumes hidden/heads)."""

    name = "broken-drops-head-sizes"

    def metadata(self, arch: str, hp: HParams, dtype: str, model_name: str) -> list[KV]:
        return [kv for kv in super().metadata(arch, hp, dtype, model_name)
                if not kv.key.endswith((".attention.key_length", ".attention.value_length"))]


class _TorchOnly(FormatParity):
    def llama_steps(self, gguf: Path, reference: Path, n_steps: int) -> list[DecodeStep]:
        return decode_compare(gguf, reference, n_steps)  # our own GGUF reader stands in for llama.cpp


class ParityTorchOnly(GGUFExporter):
    """The llama.cpp format-parity gate reads the GGUF with our torch reader, never llama.cpp's loader."""

    name = "broken-parity-torch-only"

    def __init__(self) -> None:
        super().__init__()
        qa = Qa()
        qa.parity = _TorchOnly()
        self.qa_gates = qa


MUTANTS_HEADS: tuple[type[GGUFExporter], ...] = (ExportsAnyHeadDim, DropsHeadSizes, ParityTorchOnly)
__all__ = ["MUTANTS_HEADS", "DropsHeadSizes", "ExportsAnyHeadDim", "ParityTorchOnly"]
