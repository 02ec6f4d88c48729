"""Broken exporters for GGUF metadata, tensor layout, tokenizer padding, overwrite, the qa metadata
gates and bench: each is the real engine with ONE realistic defect (listed in :mod:`engines.exporter.mutants`).

They exist so that every export falsifier can be shown to fail (FALSIFIED) against a defect
it claims to catch, and to hold (HELD) against the real engine. Several reproduce defects
found in the field: an HF class name as GGUF architecture, a missing ``tokenizer.ggml.pre``,
padding appended after the BPE entries (added tokens turned into placeholders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.exporter import layout
from engines.exporter.bench import Bench, Phase
from engines.exporter.engine import GGUFExporter
from engines.exporter.gguf_writer import KV
from engines.exporter.layout import HParams, KeySpec
from engines.exporter.qa import FAIL, G_METADATA, G_TOKENIZER, PASS, Gate, Qa
from engines.exporter.tokmeta import NORMAL, TokenizerMeta, pad_vocab


class HFClassArch(GGUFExporter):
    """Writes the HF class name (e.g. LlamaForCausalLM) as general.architecture."""

    name = "broken-hf-class-arch"

    def arch_name(self, config: dict[str, Any], hp: HParams) -> str:
        return str((config.get("architectures") or [hp.arch])[0])


class DropsPre(GGUFExporter):
    """Omits tokenizer.ggml.pre (llama.cpp then pre-tokenizes with 'default': other ids)."""

    name = "broken-drops-pre"

    def tokenizer_metadata(self, tok: TokenizerMeta, tokens: list[str], types: list[int]) -> list[KV]:
        return [kv for kv in super().tokenizer_metadata(tok, tokens, types) if kv.key != "tokenizer.ggml.pre"]


class SkipsPermutation(GGUFExporter):
    """Copies q/k weights unchanged for the llama arch (correct for qwen2, wrong for llama)."""

    name = "broken-skips-permutation"

    def tensor(self, hf_name: str, array: Any, hp: HParams) -> tuple[str, Any] | None:
        if hf_name == "lm_head.weight" and hp.tie_word_embeddings:
            return None
        return layout.hf_to_gguf_name(hf_name), array


class PadsAfterBPE(GGUFExporter):
    """Pads right after the BPE entries, so added tokens (e.g. <|endoftext|>) become placeholders."""

    name = "broken-pads-after-bpe"

    def pad_tokens(self, tok: TokenizerMeta, n_rows: int) -> tuple[list[str], list[int]]:
        return pad_vocab({i: v for i, v in tok.by_id.items() if v[1] == NORMAL}, n_rows)


class PadRefusesFullRows(GGUFExporter):
    """Compares the tokenizer's size (not its top id) with the rows using ``>=``: a tokenizer that fills
    every embedding row exactly (no reserved rows, e.g. a from-scratch model) is refused."""

    name = "broken-pad-refuses-full-rows"

    def pad_tokens(self, tok: TokenizerMeta, n_rows: int) -> tuple[list[str], list[int]]:
        from engines.exporter.tokmeta import TokenizerMetaError

        if max(tok.by_id) + 1 >= n_rows:
            raise TokenizerMetaError(f"the tokenizer has {max(tok.by_id) + 1} ids, the model {n_rows} rows")
        return pad_vocab(tok.by_id, n_rows)


class DropsRopeBase(GGUFExporter):
    """Omits {arch}.rope.freq_base (llama.cpp then silently uses 10000)."""

    name = "broken-drops-rope-base"

    def metadata(self, arch: str, hp: HParams, dtype: str, model_name: str) -> list[KV]:
        return [kv for kv in super().metadata(arch, hp, dtype, model_name) if not kv.key.endswith(".rope.freq_base")]


class RmsEpsDefault(GGUFExporter):
    """Reads hyper-parameters with llama.cpp's default RMSNorm epsilon (1e-5) instead of config's rms_norm_eps.

    The key is present and the file self-consistent (its own check compares with the same wrong
    value), llama.cpp loads it; only every RMSNorm computes slightly differently from training.
    """

    name = "broken-rms-eps-default"

    def hparams(self, ckpt: Path) -> tuple[dict[str, Any], HParams]:
        from dataclasses import replace

        config, hp = super().hparams(ckpt)
        return config, replace(hp, rms_norm_eps=1e-5)


class DropsModelCard(GGUFExporter):
    """Writes no licence, author or links: the GGUF no longer says under which terms the model ships."""

    name = "broken-drops-model-card"

    def model_card(self, ckpt: Path) -> list[KV]:
        return []


class DropsQkvBias(GGUFExporter):
    """Leaves the q/k/v biases out (llama.cpp loads the file and skips the bias add)."""

    name = "broken-drops-qkv-bias"

    def tensor(self, hf_name: str, array: Any, hp: HParams) -> tuple[str, Any] | None:
        if hf_name.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")):
            return None
        return super().tensor(hf_name, array, hp)


class MhaKvHeads(GGUFExporter):
    """Writes head_count_kv = head_count (ignores grouped-query attention)."""

    name = "broken-mha-kv-heads"

    def metadata(self, arch: str, hp: HParams, dtype: str, model_name: str) -> list[KV]:
        out = super().metadata(arch, hp, dtype, model_name)
        return [KV(kv.key, hp.num_attention_heads, kv.kind) if kv.key.endswith("head_count_kv") else kv for kv in out]


class SelfCheckLoadableOnly(GGUFExporter):
    """Its read-back check only enforces what llama.cpp refuses to load without (misses the silent keys)."""

    name = "broken-selfcheck-loadable-only"

    def key_filter(self, spec: KeySpec) -> bool:
        return not spec.silent


class OverwritesWithoutForce(GGUFExporter):
    """Replaces an existing output file without --force."""

    name = "broken-overwrites"

    def check_overwrite(self, out: Path, force: bool) -> None:
        return None


class _TrustsTokenizerConfig(Qa):
    def tokenizer_gate(self, ckpt: Path) -> tuple[Gate, Any]:
        if not (ckpt / "tokenizer.json").is_file() and (ckpt / "tokenizer_config.json").is_file():
            return Gate(G_TOKENIZER, PASS, "tokenizer_config.json present"), None
        return super().tokenizer_gate(ckpt)


class QaTrustsTokenizerConfig(GGUFExporter):
    """`apr qa` passes the tokenizer gate when only tokenizer_config.json is there (no tokenizer.json)."""

    name = "broken-qa-trusts-tokenizer-config"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _TrustsTokenizerConfig()


class _ArchOnlyMetadata(Qa):
    def metadata_gate(self, ckpt: Path) -> tuple[Gate, HParams | None]:
        from engines.exporter.gguf_writer import read_config

        try:
            arch = layout.gguf_arch_for(read_config(ckpt))
        except (ValueError, OSError) as exc:
            return Gate(G_METADATA, FAIL, str(exc)), None
        return Gate(G_METADATA, PASS, f"architecture {arch} recognised"), None


class QaArchOnlyMetadata(GGUFExporter):
    """`apr qa` passes the metadata gate once the architecture is recognised, without the hyper-parameters."""

    name = "broken-qa-arch-only-metadata"

    def __init__(self) -> None:
        super().__init__()
        self.qa_gates = _ArchOnlyMetadata()


class _MeanAsMedian(Bench):
    def summarize(self, tokens: int, seconds: list[float]) -> Phase:
        phase = super().summarize(tokens, seconds)
        phase.median_tokens_per_s = round(tokens * len(seconds) / sum(seconds), 3)  # a mean, labelled median
        return phase


class BenchMeanAsMedian(GGUFExporter):
    """`apr bench` reports the mean rate (total tokens / total time) as the median."""

    name = "broken-bench-mean-as-median"

    def __init__(self) -> None:
        super().__init__()
        self.bencher = _MeanAsMedian()


MUTANTS_CORE: tuple[type[GGUFExporter], ...] = (
    HFClassArch, DropsPre, SkipsPermutation, PadsAfterBPE, DropsRopeBase, DropsQkvBias,
    MhaKvHeads, SelfCheckLoadableOnly, OverwritesWithoutForce, QaTrustsTokenizerConfig, QaArchOnlyMetadata,
    BenchMeanAsMedian, DropsModelCard, RmsEpsDefault, PadRefusesFullRows,
)
