"""Shared by the apr-cli-qa falsifiers: the `apr` under test, run in-process, and its command tree."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from apr_contracts import RunContext

DEFAULT_CLI = "engines.cli"


def cli_module(ctx: RunContext) -> ModuleType:
    """The `apr` under test: ``params.apr_cli`` (a module with build_parser() and main(argv)), default ours."""
    return importlib.import_module(str(ctx.params.get("apr_cli", DEFAULT_CLI)))


def run_inproc(cli: ModuleType, argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``apr ARGV`` in this process; an escaping exception is exit 3 with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = int(cli.main(argv) or 0)
        except SystemExit as exc:
            rc = int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2
        except Exception:  # a crash is a finding, reported with its traceback
            err.write(traceback.format_exc())
            rc = 3
    return rc, out.getvalue(), err.getvalue()


def subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def command_tree(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every registered command path (('tokenize',), ('tokenize', 'import-hf'), ...) with its parser."""
    sub = subparsers_of(parser)
    if sub is None:
        return
    seen: set[int] = set()
    for name, child in sub.choices.items():
        if id(child) in seen:  # an alias of a command already listed
            continue
        seen.add(id(child))
        yield (*prefix, name), child
        yield from command_tree(child, (*prefix, name))


def is_leaf(parser: argparse.ArgumentParser) -> bool:
    return subparsers_of(parser) is None


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN/Infinity (not JSON, though Python's json writes them)."""
    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def json_leaves(data: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every scalar in parsed JSON with its JSONPath-like location (``$.a[0].b``)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from json_leaves(v, f"{path}.{k}")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from json_leaves(v, f"{path}[{i}]")
    else:
        yield path, data


def float32_artifacts(data: Any, path: str = "$") -> list[str]:
    """Floats that are an f32 value widened to f64 without rounding (e.g. 9.999999974752427e-07).

    Such a value is exactly representable in f32 while its shortest f64 spelling needs more than
    9 significant digits; a genuine f64 measurement is essentially never exactly an f32 value.
    """
    import numpy as np

    found: list[str] = []
    for where, value in json_leaves(data, path):
        if isinstance(value, float) and math.isfinite(value):
            digits = len(repr(value).split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
            if digits > 9 and float(np.float32(value)) == value:
                found.append(f"{where} = {value!r}")
    return found


def non_finite(data: Any, path: str = "$") -> list[str]:
    """Paths of NaN/Inf numbers in parsed JSON (json.loads' default accepts them)."""
    return [f"{where} = {value}" for where, value in json_leaves(data, path)
            if isinstance(value, float) and not math.isfinite(value)]


def fixtures(ctx: RunContext, *, gguf_beside: bool = True) -> tuple[Path, Path]:
    """(tiny qwen2 checkpoint dir, its f32 GGUF export) in the workspace; the GGUF sits beside the
    checkpoint (so qa finds its reference) unless ``gguf_beside`` is False (then in solo/)."""
    from engines.exporter.engine import GGUFExporter
    from falsifiers._export_support import checkpoint

    ckpt = checkpoint(ctx, "qwen2", name="model")
    folder = ctx.workspace if gguf_beside else ctx.workspace / "solo"
    folder.mkdir(exist_ok=True)
    gguf = folder / "model.gguf"
    if not gguf.is_file():
        # The fixture is written by the REAL exporter whatever engine is under test: these
        # falsifiers judge the commands on a correct file, not the export step.
        GGUFExporter().export(ckpt, gguf, dtype="f32", force=True)
    return ckpt, gguf
