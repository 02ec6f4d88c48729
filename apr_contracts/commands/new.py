"""`pv new`: scaffold a falsifier plugin module + its test, or a new contract."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input

PLUGIN_TEMPLATE = '''"""Falsifiers of {contract_id} ({contract_file}).

Registered through the `apr_contracts` entry point of your package, e.g.::

    [project.entry-points.apr_contracts]
    {module} = "{module}"
"""

from __future__ import annotations

import sys

from apr_contracts import RunContext, Verdict, falsifier, hookimpl


@falsifier({falsifier_id!r}, contract={contract_id!r}, level={level!r}, engines={engines!r})
def {function}(ctx: RunContext) -> Verdict:
    """{rule}"""
    # Prediction: {prediction}
    # Try to refute the prediction against ctx.engine(KIND); build inputs in ctx.workspace.
    # Return ctx.falsified("what broke", counterexample=..., measured={{...}}) when it fails,
    # ctx.held(measured={{...}}) when it survives{live_hint}.
    raise NotImplementedError("{falsifier_id} is scaffolded but not implemented yet (reported as ERROR)")


@hookimpl
def apr_register_falsifiers(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add_module(sys.modules[__name__])
'''

TEST_TEMPLATE = '''"""{falsifier_id} must report FALSIFIED on a deliberately broken engine and HELD on the real one."""

from apr_contracts.outcomes import Outcome
from apr_contracts.testing import run_falsifier


def test_{function}_catches_a_broken_engine(tmp_path):
    # Register a mutant engine (a realistic single defect) and name it here.
    broken = run_falsifier("{falsifier_id}", engines={broken_engines!r}, workspace=tmp_path / "broken")
    assert broken.outcome is Outcome.FALSIFIED, broken.message


def test_{function}_holds_on_the_real_engine(tmp_path):
    real = run_falsifier("{falsifier_id}", workspace=tmp_path / "real")
    assert real.outcome is Outcome.HELD, real.message
'''

CONTRACT_TEMPLATE = """# {contract_id}: what this contract claims, in one sentence.
metadata:
  id: {contract_id}
  kind: {kind}
  version: 0.1.0
  created: '{today}'
  updated: '{today}'
  author: {author}
  description: >
    Describe the capability and the observable behaviour it promises.
  references: []
  changelog:
  - version: 0.1.0
    date: '{today}'
    change: First version.
equations:
  main_claim:
    formula: "state the claim as an equation or invariant"
    domain: "inputs it applies to"
    codomain: "what it produces"
falsification_tests:
- id: {falsifier_id}
  rule: One sentence stating the rule.
  prediction: A precise, refutable observation (numbers, exit codes, equalities).
  level: algorithm
  test: tests/test_{slug}.py::test_{slug}_catches_a_broken_engine
  if_fails: What goes wrong for users when this is falsified.
proof_obligations:
- id: {obligation_id}
  type: invariant
  property: The property the falsifier attacks.
  applies_to: main_claim
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("new", help="scaffold a falsifier plugin or a contract")
    kinds = parser.add_subparsers(dest="what", metavar="WHAT")
    fals = kinds.add_parser("falsifier", help="a plugin module + test for one falsifier id of a contract")
    fals.add_argument("--contract", required=True, type=Path, help="the contract file declaring the id")
    fals.add_argument("--id", required=True, dest="falsifier_id", help="the falsifier id (FALSIFY-...)")
    fals.add_argument("--module", help="plugin module name (default: derived from the contract id)")
    fals.add_argument("--output", type=Path, default=Path("."), help="folder for the module and its test")
    fals.add_argument("--force", action="store_true", help="overwrite existing files")
    fals.set_defaults(func=new_falsifier)
    con = kinds.add_parser("contract", help="a new contract skeleton that validates")
    con.add_argument("contract_id", help="e.g. my-feature-v1")
    con.add_argument("--kind", default="schema")
    con.add_argument("--author", default="your team")
    con.add_argument("--output", type=Path, default=Path("contracts"))
    con.add_argument("--force", action="store_true")
    con.set_defaults(func=new_contract)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _write(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    write_text_atomic(path, text)
    print(f"wrote {path}")


def new_falsifier(args: argparse.Namespace) -> int:
    from apr_contracts.loader import load_contracts

    if not args.contract.is_file():
        raise UsageError(missing_input([args.contract], "--contract takes the contract file to add the test to"))
    loaded = load_contracts([args.contract])
    if not loaded.contracts:
        for issue in loaded.issues:
            print(f"{issue.file}:{issue.line}: {issue.code} {issue.message}")
        return EXIT_FINDINGS
    contract = loaded.contracts[0]
    entry = next((f for f in contract.falsifiers if f.id == args.falsifier_id), None)
    if entry is None:
        known = ", ".join(f.id for f in contract.falsifiers) or "none"
        raise UsageError(f"{args.contract} declares no falsifier {args.falsifier_id} (it declares: {known})")
    module = args.module or _slug(contract.id) + "_falsifiers"
    function = _slug(args.falsifier_id.removeprefix("FALSIFY-"))
    level = entry.level.value
    values = {
        "contract_id": contract.id,
        "contract_file": args.contract.name,
        "module": module,
        "falsifier_id": args.falsifier_id,
        "level": level,
        "engines": [],
        "broken_engines": {"KIND": "broken-NAME"},
        "function": function,
        "rule": " ".join(str(entry.rule or "").split()).replace('"', "'"),
        "prediction": " ".join(str(entry.prediction or "").split()),
        "live_hint": "; live: return ctx.measured(metric=value) and the runner applies the contract's thresholds"
        if level == "live"
        else "",
    }
    _write(args.output / f"{module}.py", PLUGIN_TEMPLATE.format(**values), args.force)
    _write(args.output / f"test_{module}.py", TEST_TEMPLATE.format(**values), args.force)
    print(f"next: implement {function}(), name a mutant engine in the test, register '{module}' as an entry point")
    return EXIT_OK


def new_contract(args: argparse.Namespace) -> int:
    import datetime

    cid = args.contract_id
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", cid):
        raise UsageError(f"contract id {cid!r}: use lower-case letters, digits, '-' and '.', e.g. my-feature-v1")
    stem = re.sub(r"-v\d+$", "", cid).upper().replace(".", "-")
    values = {
        "contract_id": cid,
        "kind": args.kind,
        "author": args.author,
        "today": datetime.date.today().isoformat(),
        "falsifier_id": f"FALSIFY-{stem}-001",
        "obligation_id": f"{stem}-INV-001",
        "slug": _slug(cid),
    }
    _write(args.output / f"{cid}.yaml", CONTRACT_TEMPLATE.format(**values), args.force)
    return EXIT_OK
