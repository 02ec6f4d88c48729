"""The GGUF exporter engine: checkpoint directory -> GGUF llama.cpp runs, checked by reading it back.

Each step is a method so that a deliberately broken engine (``engines.exporter.mutants``)
can change exactly one of them, the way a real bug would.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apr_contracts.atomic import output_mode
from engines.errors import AprError
from engines.exporter import layout, readback
from engines.exporter.gguf_writer import (
    DTYPES,
    KV,
    CheckpointError,
    hparam_kvs,
    iter_checkpoint_arrays,
    read_config,
    tokenizer_kvs,
    write_gguf,
)
from engines.exporter.infer import INFERABLE
from engines.exporter.layout import HParams, KeySpec, LayoutError
from engines.exporter.runtime import llama_cpp_refusals
from engines.exporter.tokmeta import (
    UNUSED,
    TokenizerMeta,
    TokenizerMetaError,
    pad_vocab,
    tokenizer_meta,
)

FALSIFIER_SELF_CHECK = "FALSIFY-EXPORT-GGUF-010"


@dataclass
class ExportResult:
    path: Path
    arch: str
    dtype: str
    n_tensors: int
    n_tokens: int
    n_placeholders: int
    bytes: int
    seconds: float
    verified: bool  # False only with verify=False (`apr export --no-verify`)
    inferred: dict[str, int] = field(default_factory=dict)  # config fields filled from tensor names/shapes

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


class GGUFExporter:
    """The real exporter (registered as exporter=gguf)."""

    name = "gguf"

    def __init__(self) -> None:
        from engines.exporter.bench import Bench
        from engines.exporter.generate import Generator
        from engines.exporter.qa import Qa

        self.qa_gates = Qa()
        self.bencher = Bench()
        self.generator = Generator()

    def qa(self, target: Path, *, seed: int = 0, reference: Path | None = None, max_tokens: int | None = None) -> Any:
        """`apr qa`: gates on a checkpoint directory or a GGUF file (see engines.exporter.qa).

        ``reference`` (a checkpoint directory) and ``max_tokens`` drive the GGUF's format-parity
        gate (engines.exporter.format_parity).
        """
        target = Path(target)
        if target.is_dir():
            return self.qa_gates.run_checkpoint(target, seed)
        if target.is_file():
            return self.qa_gates.run_gguf(target, seed, reference=reference, max_tokens=max_tokens)
        raise AprError(f"{target} does not exist", hint="pass a checkpoint directory or a .gguf file")

    def judge_format_parity(self, steps: list[Any], wanted: int) -> Any:
        """The format-parity gate's verdict on per-step decode results (engines.exporter.format_parity)."""
        return self.qa_gates.parity.judge(steps, wanted)

    def format_parity_steps(self, max_tokens: int | None) -> int:
        """How many decode steps the format-parity gate compares for ``--max-tokens``."""
        return int(self.qa_gates.parity.steps_for(max_tokens))

    def generate(self, target: Path, prompt: str, *, max_tokens: int = 16, temperature: float = 0.0,
                 seed: int = 0) -> Any:
        """`apr run`: continue ``prompt`` with the model in ``target`` (see engines.exporter.generate)."""
        return self.generator.run(Path(target), prompt, max_tokens=max_tokens, temperature=temperature, seed=seed)

    def validate_receipt(self, receipt: Any) -> list[str]:
        """Every reason the bench receipt ``receipt`` (parsed JSON) cannot count as evidence."""
        return list(self.bencher.validator.validate(receipt))

    def receipt_cases(self) -> list[Any]:
        """The validator's own case table: receipts with the verdict each must get."""
        return list(self.bencher.validator.cases())

    def bench(self, target: Path, *, prompt_tokens: int = 128, decode_tokens: int = 32,
              repeats: int = 3, threads: int | None = None, baseline: dict[str, Any] | None = None,
              threshold: float | None = None) -> Any:
        """`apr bench`: prefill/decode tokens per second with a receipt (see engines.exporter.bench).

        With ``baseline`` (another receipt) the decode medians are compared; ``threshold`` (a minimum
        ratio) is armed only when both runs took the same compute class (engines.exporter.receipt).
        """
        return self.bencher.run(Path(target), prompt_tokens=prompt_tokens, decode_tokens=decode_tokens,
                                repeats=repeats, threads=threads, baseline=baseline, threshold=threshold)

    # --- steps a mutant may override ---------------------------------------------------------

    def arch_name(self, config: dict[str, Any], hp: HParams) -> str:
        return hp.arch

    def metadata(self, arch: str, hp: HParams, dtype: str, model_name: str) -> list[KV]:
        return hparam_kvs(arch, hp, dtype, model_name)

    def model_card(self, ckpt: Path) -> list[KV]:
        return model_card_kvs(ckpt)

    def pad_tokens(self, tok: TokenizerMeta, n_rows: int) -> tuple[list[str], list[int]]:
        return pad_vocab(tok.by_id, n_rows)

    def tokenizer_metadata(self, tok: TokenizerMeta, tokens: list[str], types: list[int]) -> list[KV]:
        return tokenizer_kvs(tok, tokens, types)

    def tensor(self, hf_name: str, array: Any, hp: HParams) -> tuple[str, Any] | None:
        """(GGUF name, array) for one HF tensor, or None to leave it out (a tied lm_head)."""
        if hf_name == "lm_head.weight" and hp.tie_word_embeddings:
            return None
        return layout.hf_tensor_to_gguf(hf_name, array, hp)

    def runtime_refusals(self, hp: HParams) -> list[str]:
        """Why llama.cpp would refuse the GGUF for ``hp`` (engines.exporter.runtime); empty: export it."""
        return llama_cpp_refusals(hp)

    def key_filter(self, spec: KeySpec) -> bool:
        """Which table rows the self-check enforces: all of them."""
        return True

    def check_overwrite(self, out: Path, force: bool) -> None:
        if out.exists() and not force:
            raise AprError(
                f"{out} already exists; refusing to overwrite it",
                hint="pass --force to replace it",
                falsifier="FALSIFY-EXPORT-GGUF-001",
            )

    # --- the pipeline -------------------------------------------------------------------------

    def check_schema(self, target: Path) -> Any:
        """(declared dims, violations) of a checkpoint directory or GGUF file (see engines.exporter.schema)."""
        return self.qa_gates.schema.check_path(Path(target))

    def infer_num_layers(self, names: Iterable[str]) -> int | None:
        """max N + 1 over ``blk.N.*`` / ``model.layers.N.*`` tensor names (engines.exporter.infer)."""
        from engines.exporter.infer import infer_num_layers

        return infer_num_layers(names)

    def infer_dims(self, config: dict[str, Any], ckpt: Path) -> dict[str, int]:
        """Dimensions config.json leaves out that the tensor names and shapes determine (engines.exporter.infer)."""
        from engines.exporter.infer import checkpoint_shapes, infer_dims

        return infer_dims(config, checkpoint_shapes(ckpt), layers_of=self.infer_num_layers)

    def hparams(self, ckpt: Path) -> tuple[dict[str, Any], HParams]:
        from engines.exporter.schema import dims_from_config

        config = read_config(ckpt)
        config = {**config, **self.infer_dims(config, ckpt)}  # only absent fields; safetensors headers, no data
        where = ckpt / "config.json"
        not_int = [f"{k}={config[k]!r}" for k in (*INFERABLE, "max_position_embeddings", "head_dim")
                   if config.get(k) is not None and (isinstance(config[k], bool) or not isinstance(config[k], int))]
        if not_int:
            raise AprError(f"{where}: {', '.join(not_int)}: these dimensions must be integers",
                           hint="write them as JSON integers (e.g. 24, not \"24\" or 24.5)")
        # Declared-but-invalid values (0 heads, hidden % heads != 0, heads % kv != 0) are refused by
        # name here; absent ones are named by hparams_from_config below.
        bad = [v for v in self.qa_gates.schema.config(dims_from_config(config, str(where)))
               if not (v.rule == "required-field" and v.actual is None)]
        if bad:
            raise AprError(f"{where}: the architecture is inconsistent:\n  - " + "\n  - ".join(map(str, bad)),
                           hint="fix config.json; the weights cannot be laid out for these dimensions")
        try:
            hp = layout.hparams_from_config(config)
        except (LayoutError, TypeError, ValueError) as exc:
            raise AprError(f"{where}: {exc}", hint="export a llama- or qwen2-family checkpoint with complete metadata "
                           "(fields the tensors determine are inferred; these are not)") from exc
        # A file llama.cpp cannot open is refused here, before anything is written: exit 0 must
        # mean "a GGUF the runtime loads", not "a GGUF our own reader accepts".
        refusals = self.runtime_refusals(hp)
        if refusals:
            raise AprError(f"{where}: {'; '.join(refusals)}",
                           hint="no GGUF is written; set head_dim = hidden_size / num_attention_heads, or export "
                           "this model with a runtime whose qwen2 graph reads attention.key_length")
        return config, hp

    def tensors(self, ckpt: Path, hp: HParams) -> Iterator[tuple[str, Any]]:
        seen = set()
        expected = layout.expected_hf_tensors(hp)
        for hf_name, array in iter_checkpoint_arrays(ckpt):
            if hf_name in expected and tuple(array.shape) != expected[hf_name]:
                raise AprError(
                    f"{ckpt}: tensor {hf_name} has shape {list(array.shape)}, config.json implies {list(expected[hf_name])}",
                    hint="the weights and config.json do not belong together",
                )
            if hf_name.endswith("rotary_emb.inv_freq"):
                continue  # recomputed by every runtime from rope_theta
            seen.add(hf_name)
            try:
                item = self.tensor(hf_name, array, hp)
            except LayoutError as exc:
                raise AprError(f"{ckpt}: {exc}", hint="the checkpoint holds a tensor this exporter cannot place; "
                               "is it a plain llama/qwen2 decoder?") from exc
            if item is not None:
                yield item
        missing = sorted(set(expected) - seen)
        if missing:
            raise AprError(
                f"{ckpt}: the weights lack {len(missing)} tensor(s) the config requires, e.g. {missing[:3]}",
                hint="re-save the checkpoint; an incomplete model would compute garbage",
            )

    def export(
        self,
        ckpt: Path,
        out: Path,
        *,
        dtype: str = "f16",
        force: bool = False,
        verify: bool = True,
    ) -> ExportResult:
        started = time.perf_counter()
        ckpt, out = Path(ckpt), Path(out)
        if dtype not in DTYPES:
            raise AprError(f"unknown --dtype {dtype!r}", hint=f"choose one of {', '.join(DTYPES)}", exit_code=2)
        if not ckpt.is_dir():
            raise AprError(f"{ckpt} is not a checkpoint directory", hint="pass the directory written by `apr pretrain` or `apr import`")
        if not out.parent.is_dir():
            raise AprError(f"the output directory {out.parent} does not exist", hint="create it first; apr export does not create directories")
        self.check_overwrite(out, force)
        try:
            config, hp = self.hparams(ckpt)
            declared = read_config(ckpt)
            inferred = {k: int(v) for k, v in config.items() if declared.get(k) is None and v is not None and k in INFERABLE}
            tok = tokenizer_meta(ckpt, config)
            tokens, types = self.pad_tokens(tok, hp.vocab_size)
        except (CheckpointError, TokenizerMetaError) as exc:
            raise AprError(str(exc), hint="the checkpoint must embed tokenizer.json and a complete config.json") from exc
        arch = self.arch_name(config, hp)
        model_name = _model_name(ckpt)
        kvs = [*self.metadata(arch, hp, dtype, model_name), *self.model_card(ckpt),
               *self.tokenizer_metadata(tok, tokens, types)]

        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        try:
            os.fchmod(fd, output_mode(out))  # the umask's mode (or the replaced file's), not mkstemp's 0600
        finally:
            os.close(fd)
        tmp = Path(tmp_name)
        try:
            n_tensors = 0

            def counted() -> Iterator[tuple[str, Any]]:
                nonlocal n_tensors
                for item in self.tensors(ckpt, hp):
                    n_tensors += 1
                    yield item

            try:
                write_gguf(tmp, arch, kvs, counted(), dtype)
            except CheckpointError as exc:
                raise AprError(str(exc)) from exc
            problems: list[str] = []
            if verify:
                problems = [str(p) for p in self.verify(tmp, hp, tok)]
                if problems:
                    raise AprError(
                        f"the GGUF written for {ckpt} failed its read-back check; nothing was written to {out}:\n  - "
                        + "\n  - ".join(problems),
                        hint="a missing tokenizer key usually means the checkpoint lacks it (run `apr qa` on the "
                        "checkpoint); a missing or mis-shaped tensor or hyper-parameter is a bug in the exporter",
                        falsifier=FALSIFIER_SELF_CHECK,
                    )
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
        return ExportResult(
            path=out,
            arch=arch,
            dtype=dtype,
            n_tensors=n_tensors,
            n_tokens=len(tokens),
            n_placeholders=sum(1 for t in types if t == UNUSED),
            bytes=out.stat().st_size,
            seconds=round(time.perf_counter() - started, 3),
            verified=verify,
            inferred=inferred,
        )

    def verify(self, path: Path, hp: HParams, tok: TokenizerMeta | None = None) -> list[readback.Problem]:
        """Read ``path`` back and list every missing/mis-shaped/mis-valued required key or tensor."""
        try:
            info = readback.read_gguf(path)
        except readback.GGUFReadError as exc:
            return [readback.Problem(str(path), str(exc))]
        added = {i: tok.by_id[i][0] for i in tok.added_ids} if tok else None
        problems = readback.check_gguf(info, hp, added=added, key_filter=self.key_filter)
        if tok is not None:
            problems += _check_tokenizer_values(info, tok)
        return problems


def _check_tokenizer_values(info: readback.GGUFInfo, tok: TokenizerMeta) -> list[readback.Problem]:
    problems = []
    for key, expected in (("tokenizer.ggml.model", tok.model), ("tokenizer.ggml.pre", tok.pre)):
        found = info.values.get(key)
        if key in info.values and found != expected:
            problems.append(readback.Problem(key, f"is {found!r}, the checkpoint's tokenizer needs {expected!r}", True))
    merges = info.values.get("tokenizer.ggml.merges")
    if isinstance(merges, list) and len(merges) != len(tok.merges):
        problems.append(readback.Problem("tokenizer.ggml.merges", f"{len(merges)} merges, the tokenizer has {len(tok.merges)}"))
    return problems


def model_card_kvs(ckpt: Path) -> list[KV]:
    """The licence, author and links the checkpoint carries (general.name is written by metadata)."""
    from engines import model_card

    return [KV(key, value, "str") for key, value in model_card.from_directory(ckpt).items() if key != "general.name"]


def _model_name(ckpt: Path) -> str:
    meta = ckpt / "apr_checkpoint.json"
    if meta.is_file():
        try:
            name = json.loads(meta.read_text(encoding="utf-8")).get("name")
            if isinstance(name, str) and name:
                return name
        except (OSError, json.JSONDecodeError, AttributeError):
            pass
    return ckpt.resolve().name
