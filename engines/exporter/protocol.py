"""The exporter engine kind: what any implementation must offer (light module, no heavy imports).

A falsifier gets an engine with ``ctx.engine("exporter")``; `apr export/qa/bench` get the same
object through :func:`engines.cli.engine_for`. Any object with these members can be registered
under another name (``pv run --engine exporter=NAME``) and the export contract's falsifiers
then act as its conformance suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engines.exporter.bench import BenchReceipt
    from engines.exporter.engine import ExportResult
    from engines.exporter.layout import HParams
    from engines.exporter.qa import QaReport
    from engines.exporter.readback import Problem


@runtime_checkable
class ExporterEngine(Protocol):
    """Export checkpoints to GGUF, check artifacts (qa) and measure them (bench)."""

    name: str  # the registered name; `apr --engine-impl exporter=NAME` selects it

    def export(
        self, ckpt: Path, out: Path, *, dtype: str = "f16", force: bool = False, verify: bool = True
    ) -> ExportResult:
        """Write ``out`` (GGUF) from checkpoint dir ``ckpt``, atomically, after reading it back."""
        ...

    def verify(self, path: Path, hp: HParams, tok: Any = None) -> list[Problem]:
        """Every required key/tensor of the layout table that ``path`` lacks or gets wrong."""
        ...

    def pad_tokens(self, tok: Any, n_rows: int) -> tuple[list[str], list[int]]:
        """Token texts and types for exactly ``n_rows`` embedding rows (tokens at their ids, UNUSED elsewhere)."""
        ...

    def qa(self, target: Path, *, seed: int = 0) -> QaReport:
        """Run the qa gates on a checkpoint directory or a GGUF file."""
        ...

    def bench(self, target: Path, *, prompt_tokens: int = 128, decode_tokens: int = 32,
              repeats: int = 3, threads: int | None = None) -> BenchReceipt:
        """Prefill/decode tokens per second with a receipt (samples, median, sha256, machine)."""
        ...
