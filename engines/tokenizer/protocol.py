"""The tokenizer engine kind: what any implementation must offer (light module, no heavy imports).

A falsifier gets an engine with ``ctx.engine("tokenizer")``; `apr tokenize ...` gets the
same object through :func:`engines.cli.engine_for`. Any object with these members can
be registered under another name (``pv run --engine tokenizer=NAME``) and the
contracts' falsifiers then act as its conformance suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engines.tokenizer.encode import EncodeOptions, EncodeResult
    from engines.tokenizer.importer import ImportResult
    from engines.tokenizer.load import LoadedTokenizer
    from engines.tokenizer.repair import RepairResult
    from engines.tokenizer.shards import VerifyReport


@runtime_checkable
class TokenizerEngine(Protocol):
    """Import Hugging Face BPE tokenizers, encode corpora into uint32 shards, verify shards."""

    name: str  # the registered name; `apr --engine-impl tokenizer=NAME` selects it

    def load(self, source: str | Path, *, lazy: bool = False) -> LoadedTokenizer:
        """Load a tokenizer.json, an import-hf directory or a checkpoint directory (see load.py)."""
        ...

    def import_hf(
        self, source: Path, output: Path, *, include_added_tokens: bool = False, force: bool = False
    ) -> ImportResult:
        """Write vocab.json, merges.txt, tokenizer.json and manifest.json into ``output`` (atomically)."""
        ...

    def encode_corpus(self, options: EncodeOptions, *, progress: Any = None) -> EncodeResult:
        """Encode JSONL documents into shard-NNNNN.bin files plus manifest.json (resumable)."""
        ...

    def verify_shards(self, directory: Path) -> VerifyReport:
        """Re-read shards against the manifest: counts, sha256, ids < vocab size, sizes multiple of 4."""
        ...

    def repair_manifest(self, directory: Path, *, tokenizer: Path | None = None, force: bool = False) -> RepairResult:
        """Rebuild manifest.json from the shard-NNNNN.bin files on disk (repair: true, repaired_at)."""
        ...
