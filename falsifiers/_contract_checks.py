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


def claim_text(ctx: RunContext) -> str:
    """The rule, prediction and test the declaring contract writes for this falsifier ("" if absent)."""
    path = contract_path(ctx)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("falsification_tests") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == ctx.falsifier_id:
            return " ".join(str(entry.get(key) or "") for key in ("rule", "prediction", "test"))
    return ""


def pv_validates(ctx: RunContext) -> Verdict:
    """Our `pv validate` exits 0 on the contract declaring this falsifier.

    Strict exactly when the declaring claim asks for `--strict`: the same falsifier id can be
    declared by our own contract ("valid under strict validation") and by a reference contract
    whose claim is the plain command, so the contract's own words decide, not the binding."""
    path = contract_path(ctx)
    strict = "--strict" in claim_text(ctx)
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
    reading = "the claim asks for --strict" if strict else "the claim names the plain command"
    return ctx.held(f"{path.name} passes {shown} ({reading})", measured={"issues": 0})


def declared_version(ctx: RunContext) -> tuple[Path, Any]:
    """``metadata.version`` of the contract declaring this falsifier, as written in the file."""
    path = contract_path(ctx)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    metadata = data.get("metadata") if isinstance(data, dict) else None
    return path, (metadata or {}).get("version") if isinstance(metadata, dict) else None
