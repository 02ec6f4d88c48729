"""`pv new`: scaffold a falsifier plugin module + its test, or a new contract."""

from __future__ import annotations

import argparse
import keyword
import os
import re
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from apr_contracts.cli import EXIT_FINDINGS, EXIT_OK, UsageError, missing_input
from apr_contracts.commands.run import add_plugin_options, plugin_settings

# The two templates below are Python source. Every value from the contract or the command line
# is embedded through repr() (the ``*_py`` keys) or as a comment collapsed to one line (the
# ``*_line`` keys): a falsifier id or rule can hold any text, and pasted into a string literal it
# would become code. The only bare names are identifiers the generator checked itself.
PLUGIN_TEMPLATE = '''"""Falsifiers of one contract, scaffolded by `pv new falsifier`.

Run them with `pv run CONTRACT -p MODULE` (the module's folder on PYTHONPATH), or register the
module through the `apr_contracts` entry point of your package (see below) so that every
`pv run` loads it.
"""

# contract: {contract_id_line} ({contract_file_line})
# entry point, in your package's pyproject.toml:
#     [project.entry-points.apr_contracts]
#     {module} = "{module}"

from __future__ import annotations

import sys

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

CONTRACT = {contract_id_py}
ENGINE_KIND = {engine_kind_py}


@falsifier({falsifier_id_py}, contract=CONTRACT, level={level_py}, engines=[ENGINE_KIND])
def {function}(ctx: RunContext) -> Verdict:
    {rule_py}
    # Prediction: {prediction_line}
    # Try to refute the prediction against ctx.engine(ENGINE_KIND); build inputs in ctx.workspace.
    # Return ctx.falsified("what broke", counterexample=..., measured={{...}}) when it fails,
    # ctx.held(measured={{...}}) when it survives{live_hint}.
    raise NotImplementedError({not_implemented_py})


@hookimpl
def apr_register_falsifiers(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add_module(sys.modules[__name__])
'''

TEST_TEMPLATE = '''"""The scaffolded falsifier must report FALSIFIED on a deliberately broken engine and HELD on the real one.

`run_falsifier` is the pytest fixture of apr_contracts.testing (a pytest plugin, active wherever
apr-contracts is installed).
"""

from pathlib import Path

import pytest

from apr_contracts.outcomes import Outcome
from apr_contracts.plugins import PluginSettings, load_plugins

MODULE = {module_py}
FALSIFIER = {falsifier_id_py}
CONTRACT = {contract_id_py}
CONTRACT_FILE = Path(__file__).parent / {contract_relpath_py}  # its thresholds judge a live falsifier
ENGINE_KIND = {engine_kind_py}


@pytest.fixture(scope="module")
def plugins():  # type: ignore[no-untyped-def]
    # The plugin module is loaded by name, so these tests run before an entry point registers it.
    return load_plugins(PluginSettings.from_env(extra_modules=(MODULE,), strict=True))


def test_{function}_catches_a_broken_engine(run_falsifier, plugins):  # type: ignore[no-untyped-def]
    # Register a mutant engine of ENGINE_KIND (one realistic defect) and name it here;
    # `pv plugins` lists the registered engines.
    broken = run_falsifier(FALSIFIER, contract=CONTRACT, contract_file=CONTRACT_FILE, plugins=plugins,
                           engines={{ENGINE_KIND: "broken-NAME"}})
    assert broken.outcome is Outcome.FALSIFIED, broken.message


def test_{function}_holds_on_the_real_engine(run_falsifier, plugins):  # type: ignore[no-untyped-def]
    real = run_falsifier(FALSIFIER, contract=CONTRACT, contract_file=CONTRACT_FILE, plugins=plugins)
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
    fals.add_argument("--engine-kind", metavar="KIND",
                      help="the engine kind the falsifier attacks (default: the one the contract's other bound "
                           "falsifiers use, or the only registered kind; `pv plugins` lists them)")
    fals.add_argument("--module", help="plugin module name (default: derived from the contract id)")
    fals.add_argument("--output", type=Path, default=Path("."), help="folder for the module and its test")
    fals.add_argument("--force", action="store_true", help="overwrite existing files")
    add_plugin_options(fals)  # -p MODULE: your own engine plugin, so that its kind is known
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


def _one_line(text: object) -> str:
    """``text`` for a ``#`` comment: all whitespace (newlines included) collapsed to single spaces."""
    return " ".join(str(text or "").split())


def _identifier(text: str, prefix: str) -> str:
    """``text`` as a Python identifier: slugged, prefixed when it would start with a digit or be a keyword."""
    name = _slug(text)
    if not name.isidentifier() or keyword.iskeyword(name):
        name = f"{prefix}_{name}".rstrip("_")
    return name


def _engine_kind(args: argparse.Namespace, contract_id: str, falsifier_id: str) -> str:
    """The engine kind named by --engine-kind, else the one this contract's bound falsifiers use, else the only one."""
    from apr_contracts.plugins import load_plugins

    plugins = load_plugins(plugin_settings(args))
    known = sorted(plugins.engines.kinds)
    listed = ", ".join(known) or "none"
    if args.engine_kind is not None:
        if args.engine_kind not in known:
            raise UsageError(
                f"--engine-kind {args.engine_kind}: no engine of that kind is registered (known kinds: {listed}); "
                "register it with apr_register_engines in your plugin and load that with -p MODULE"
            )
        return str(args.engine_kind)
    used = sorted({kind for (cid, _), spec in plugins.falsifiers.bindings.items() if cid == contract_id
                   for kind in spec.engines})
    if len(used) == 1:
        return used[0]
    if not used and len(known) == 1:
        return known[0]
    why = (f"the falsifiers of {contract_id} already bound use several ({', '.join(used)})" if used
           else f"{len(known)} kinds are registered" if known else "no engine kind is registered")
    raise UsageError(f"{falsifier_id}: which engine kind does it attack? {why}; "
                     f"pass --engine-kind KIND (known kinds: {listed})")


def _checked(source: str, path: Path) -> str:
    """``source`` once it compiles: a generator bug must never leave a broken module behind."""
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise RuntimeError(f"pv new generated invalid Python for {path} (line {exc.lineno}): {exc.msg}") from exc
    return source


def new_falsifier(args: argparse.Namespace) -> int:
    from apr_contracts.loader import load_contracts

    if not args.contract.is_file():
        raise UsageError(missing_input([args.contract], "--contract takes the contract file to add the test to"))
    if args.module is not None and (not args.module.isidentifier() or keyword.iskeyword(args.module)):
        raise UsageError(f"--module {args.module!r}: a plugin module name is a Python identifier, e.g. my_falsifiers")
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
    kind = _engine_kind(args, contract.id, args.falsifier_id)
    module = args.module or _identifier(contract.id, "contract") + "_falsifiers"
    function = _identifier(args.falsifier_id.removeprefix("FALSIFY-"), "falsify")
    level = entry.level.value
    relpath = os.path.relpath(args.contract.resolve(), args.output.resolve())
    values = {
        "module": module,
        "function": function,
        "module_py": repr(module),
        "contract_id_py": repr(contract.id),
        "contract_relpath_py": repr(Path(relpath).as_posix()),
        "falsifier_id_py": repr(args.falsifier_id),
        "level_py": repr(level),
        "engine_kind_py": repr(kind),
        "rule_py": repr(_one_line(entry.rule)),
        "not_implemented_py": repr(f"{args.falsifier_id} is scaffolded but not implemented yet (reported as ERROR)"),
        "contract_id_line": _one_line(contract.id),
        "contract_file_line": _one_line(args.contract.name),
        "prediction_line": _one_line(entry.prediction),
        "live_hint": "; live: return ctx.measured(metric=value) and the runner applies the contract's thresholds"
        if level == "live"
        else "",
    }
    plugin_path, test_path = args.output / f"{module}.py", args.output / f"test_{module}.py"
    plugin_source = _checked(PLUGIN_TEMPLATE.format(**values), plugin_path)
    test_source = _checked(TEST_TEMPLATE.format(**values), test_path)
    for path in (plugin_path, test_path):
        if path.exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    _write(plugin_path, plugin_source, args.force)
    _write(test_path, test_source, args.force)
    print(f"next: implement {function}() against the {kind} engine, name a mutant {kind} engine in the test, "
          f"register '{module}' as an entry point")
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
