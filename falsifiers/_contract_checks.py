"""Checks on the contract file itself, shared by falsifiers whose claim is about their own contract
("the contract validates", "its version signals its scope"). Imports no family module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from apr_contracts import RunContext, Verdict


def contract_path(ctx: RunContext) -> Path:
    """The contract file that declares this falsifier (SKIPPED when run without one)."""
    path = ctx.contract_file or (Path(str(ctx.params["contract_path"])) if "contract_path" in ctx.params else None)
    if path is None or not path.is_file():
        ctx.skip(f"{path}: no contract file to check (run it through `pv run CONTRACT`, or pass params.contract_path)")
    return path


def pv_validates(ctx: RunContext, *, strict: bool) -> Verdict:
    """Our `pv validate` (``--strict`` or not) exits 0 on the contract declaring this falsifier."""
    path = contract_path(ctx)
    flags = ["--strict"] if strict else []
    proc = subprocess.run([sys.executable, "-m", "apr_contracts.cli", "validate", *flags, "--format", "json",
                           str(path)], capture_output=True, text=True, timeout=300, check=False)
    shown = "pv validate" + (" --strict" if strict else "")
    if proc.returncode != 0:
        try:
            issues = [i for i in json.loads(proc.stdout).get("issues", []) if i.get("severity") == "error" or strict]
        except json.JSONDecodeError:
            issues = [proc.stdout[-500:] + proc.stderr[-500:]]
        return ctx.falsified(f"{shown} exit {proc.returncode} on {path.name}",
                             counterexample=issues[:5], measured={"issues": len(issues)})
    return ctx.held(f"{path.name} passes {shown}", measured={"issues": 0})


def declared_version(ctx: RunContext) -> tuple[Path, Any]:
    """``metadata.version`` of the contract declaring this falsifier, as written in the file."""
    path = contract_path(ctx)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    metadata = data.get("metadata") if isinstance(data, dict) else None
    return path, (metadata or {}).get("version") if isinstance(metadata, dict) else None
