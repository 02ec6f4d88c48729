"""Broken exporters for the architecture schema (`apr qa` gate QA-ARCH-SCHEMA) and for metadata
inference at export: each is the real engine with ONE realistic defect.

Listed in :mod:`engines.exporter.mutants` (the plugin looks class names up there).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engines.exporter.engine import GGUFExporter
from engines.exporter.gguf_writer import read_config
from engines.exporter.layout import HParams
from engines.exporter.schema import ROPE_NORM, Dims, Schema, Shapes, Violation


def _with_schema(schema: Schema) -> Any:
    """An engine __init__ that swaps in ``schema`` for both `apr qa` and `apr export`."""

    def init(self: GGUFExporter) -> None:
        GGUFExporter.__init__(self)
        self.qa_gates.schema = schema

    return init


class _FloorHeadDim(Schema):
    def head_dim_rule(self, d: Dims) -> list[Violation]:
        return []  # head_dim = hidden // heads, the remainder silently dropped


class SchemaFloorHeadDim(GGUFExporter):
    """Derives head_dim by integer division and never checks hidden_size % num_heads."""

    name = "broken-schema-floor-head-dim"
    __init__ = _with_schema(_FloorHeadDim())


class _GqaBound(Schema):
    def gqa_rule(self, d: Dims) -> list[Violation]:
        kv = d.num_kv_heads
        if kv is None or kv <= 0 or kv > (d.num_heads or 0):
            return [Violation("gqa-group", "num_kv_heads", "must be in [1, num_heads]", f"<= {d.num_heads}", kv)]
        return []


class SchemaGqaBound(GGUFExporter):
    """Checks num_kv_heads <= num_heads instead of num_heads % num_kv_heads == 0."""

    name = "broken-schema-gqa-bound"
    __init__ = _with_schema(_GqaBound())


class _AttnRowsOnly(Schema):
    def attention(self, d: Dims, shapes: Shapes) -> list[Violation]:
        hd = d.derived_head_dim() or 0
        rows = {"attn_q.weight": (d.num_heads or 0) * hd, "attn_k.weight": (d.num_kv_heads or 0) * hd,
                "attn_v.weight": (d.num_kv_heads or 0) * hd, "attn_output.weight": d.hidden_size}
        out = []
        for i in range(d.num_layers or 0):
            for suffix, want in rows.items():  # the row count only: the input width is never looked at
                found = shapes.get(f"blk.{i}.{suffix}")
                if found is None or found[0] != want:
                    out.append(Violation("attention-shape", f"blk.{i}.{suffix}", "wrong rows", want, found))
        return out


class SchemaAttnRowsOnly(GGUFExporter):
    """The attention rule checks each projection's row count only (a q of [H*d, h+1] passes)."""

    name = "broken-schema-attn-rows-only"
    __init__ = _with_schema(_AttnRowsOnly())


class _FfnSortedDims(Schema):
    def ffn(self, d: Dims, shapes: Shapes) -> list[Violation]:
        # Orientation-blind: a shape with the right dims in the wrong order passes.
        return [v for v in super().ffn(d, shapes)
                if v.actual is None or sorted(v.actual) != sorted(v.expected)]


class SchemaFfnSortedDims(GGUFExporter):
    """The FFN rule ignores orientation: down [ff, h] (not the transpose of gate) passes."""

    name = "broken-schema-ffn-sorted-dims"
    __init__ = _with_schema(_FfnSortedDims())


class _NormTotal(Schema):
    def norms(self, d: Dims, shapes: Shapes) -> list[Violation]:
        count = sum(1 for n in shapes if n.endswith("norm.weight"))  # includes the final norm
        want = 2 * (d.num_layers or 0)
        if count < want:
            return [Violation("norm-per-layer", "norms", f"{count} norm tensors for {d.num_layers} layers", want, count)]
        return []


class SchemaNormTotal(GGUFExporter):
    """Counts norm tensors in total (the final norm included) instead of two per layer."""

    name = "broken-schema-norm-total"
    __init__ = _with_schema(_NormTotal())


class _EmbedColsOnly(Schema):
    def embedding(self, d: Dims, shapes: Shapes) -> list[Violation]:
        emb = shapes.get("token_embd.weight")
        if emb is None or emb[-1] != d.hidden_size:
            return [Violation("embedding-shape", "token_embd.weight", "wrong width", d.hidden_size, emb)]
        return []


class SchemaEmbedColsOnly(GGUFExporter):
    """Checks the embedding's width against hidden_size, never its rows against the vocabulary."""

    name = "broken-schema-embed-cols-only"
    __init__ = _with_schema(_EmbedColsOnly())


class _RopeDefault(Schema):
    def rope(self, d: Dims) -> list[Violation]:
        from dataclasses import replace

        if d.rope_type is not None and d.rope_type not in (0, 2):
            d = replace(d, rope_type=ROPE_NORM)  # unknown -> NORM, silently
        return super().rope(d)


class SchemaRopeDefault(GGUFExporter):
    """An unknown rope type silently becomes 0 (NORM)."""

    name = "broken-schema-rope-default"
    __init__ = _with_schema(_RopeDefault())


class _CountOneSided(Schema):
    def tensor_count(self, d: Dims, shapes: Shapes) -> list[Violation]:
        expected, actual = self.expected_count(d), len(shapes)
        if actual - expected > 5:  # abs() forgotten: missing tensors never counted
            return [Violation("tensor-count", "tensors", "too many tensors", expected, actual)]
        return []


class SchemaCountOneSided(GGUFExporter):
    """The tensor-count rule flags only surplus tensors (|actual - expected| without the abs)."""

    name = "broken-schema-count-one-sided"
    __init__ = _with_schema(_CountOneSided())


# --- metadata inference at export (FALSIFY-EXPORT-NUM-LAYERS-*, FALSIFY-EXPORT-INFER-METADATA-001) ------


class InferLayersDistinct(GGUFExporter):
    """Infers the layer count as the number of distinct layer indices (a gap in the numbering shrinks it)."""

    name = "broken-infer-layers-distinct"

    def infer_num_layers(self, names: Iterable[str]) -> int | None:
        from engines.exporter.infer import LAYER_NAME

        found = {m.group(1) for m in map(LAYER_NAME.match, names) if m}
        return len(found) or None


class ExpectsNumLayers(GGUFExporter):
    """Reads num_hidden_layers straight from config.json before any inference (crashes when it is absent)."""

    name = "broken-export-expects-num-layers"

    def hparams(self, ckpt: Path) -> tuple[dict[str, Any], HParams]:
        int(read_config(ckpt)["num_hidden_layers"])  # "required for GGUF export", as if always stamped
        return super().hparams(ckpt)


class DefaultsMissingDims(GGUFExporter):
    """Fills hyper-parameters the tensors cannot determine with llama.cpp's defaults instead of refusing."""

    name = "broken-export-defaults-missing"

    def infer_dims(self, config: dict[str, Any], ckpt: Path) -> dict[str, Any]:
        defaults = {"max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0}
        return {**super().infer_dims(config, ckpt), **{k: v for k, v in defaults.items() if config.get(k) is None}}


class InferKvAsHeads(GGUFExporter):
    """Infers num_key_value_heads as num_attention_heads (assumes MHA) when config.json lacks it."""

    name = "broken-infer-kv-as-heads"

    def infer_dims(self, config: dict[str, Any], ckpt: Path) -> dict[str, Any]:
        out = super().infer_dims(config, ckpt)
        heads = out.get("num_attention_heads", config.get("num_attention_heads"))
        if "num_key_value_heads" in out and heads is not None:
            out["num_key_value_heads"] = int(heads)
        return out


MUTANTS_SCHEMA: tuple[type[GGUFExporter], ...] = (
    SchemaFloorHeadDim, SchemaGqaBound, SchemaAttnRowsOnly, SchemaFfnSortedDims, SchemaNormTotal, SchemaEmbedColsOnly,
    SchemaRopeDefault, SchemaCountOneSided, InferLayersDistinct, ExpectsNumLayers, DefaultsMissingDims, InferKvAsHeads,
)
