"""The layout of falsifiers/: a falsifier id's code is found in one guess, and helpers never import back.

Each contract family has one module or package named after the contract id without its version
(`apr-export-gguf-v1` -> `falsifiers/apr_export_gguf`); shared code lives in `falsifiers/_*.py`
modules, which import no family module (so there are no import circles). Every id is written in
full where it is bound (`@falsifier("FALSIFY-GQ-003", ...)`, never `GQ + "003"`), so grepping
for an id finds its code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from apr_contracts.loader import load_contracts
from apr_contracts.plugins import PluginSettings, load_plugins

REPO = Path(__file__).resolve().parents[2]
FALSIFIERS = REPO / "falsifiers"


def family_module(contract_id: str) -> str:
    return "falsifiers." + re.sub(r"-v\d+$", "", contract_id).replace("-", "_")


def test_every_bound_falsifier_lives_in_its_contracts_family_module() -> None:
    registry = load_plugins(PluginSettings(autoload=False)).falsifiers
    misplaced = []
    for contract in load_contracts([REPO / "contracts"]).contracts:
        for entry in contract.falsifiers:
            spec = registry.get(str(contract.id), str(entry.id))
            if spec is not None and not spec.fn.__module__.startswith(family_module(str(contract.id))):
                misplaced.append(f"{entry.id} of {contract.id} is in {spec.fn.__module__}")
    assert not misplaced


def test_every_registered_id_is_written_in_full_where_it_is_bound() -> None:
    registry = load_plugins(PluginSettings(autoload=False)).falsifiers
    sources = "\n".join(p.read_text(encoding="utf-8") for p in sorted(FALSIFIERS.rglob("*.py")))
    not_found = [f"{spec.id} ({spec.fn.__module__})" for spec in registry.specs()
                 if f'@falsifier("{spec.id}"' not in sources]
    # Out-of-scope declarations come from a table keyed by the full id (OUT_OF_SCOPE = {"FALSIFY-...": why}).
    not_found += [f"{declared.falsifier_id} (out of scope, {declared.plugin})"
                  for declared in registry.out_of_scope.values() if f'"{declared.falsifier_id}":' not in sources]
    assert registry.specs() and registry.out_of_scope
    assert not not_found


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_helper_modules_import_no_family_module() -> None:
    families = {p.stem for p in FALSIFIERS.iterdir() if not p.name.startswith(("_", "."))}
    offenders = {
        helper.name: sorted(n for n in _imported(helper) if n.split(".")[1:2] and n.split(".")[1] in families
                            and n.startswith("falsifiers."))
        for helper in FALSIFIERS.glob("_*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}
