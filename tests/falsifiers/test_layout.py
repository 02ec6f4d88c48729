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

import pytest

from apr_contracts.loader import load_contracts
from apr_contracts.plugins import PluginSettings, load_plugins

REPO = Path(__file__).resolve().parents[2]
FALSIFIERS = REPO / "falsifiers"


REFERENCE = REPO.parent / "shared" / "reference-contracts" / "aprender"


def family_name(contract_id: str, path: Path) -> str:
    """`chinchilla-gate-v1` -> chinchilla_gate; an id not shaped `<name>-vN` takes the file's stem."""
    name = contract_id if re.search(r"-v\d+$", contract_id) else path.stem
    return re.sub(r"-v\d+$", "", name).replace("-", "_")


def _misplaced(folder: Path, package: str, own: set[str]) -> list[str]:
    """Ids of ``folder``'s contracts bound or declared out of scope outside their family module.

    Our own contracts' families are ``falsifiers.X``; a reference contract's is ``package.X``, unless it
    shares its id with one of ours (then our family binds both).
    """
    registry = load_plugins(PluginSettings(autoload=False)).falsifiers
    misplaced = []
    for contract in load_contracts([folder], exclude=["versions"]).contracts:
        cid = str(contract.id)
        family = ("falsifiers." if cid in own else f"{package}.") + family_name(cid, contract.path)
        for entry in contract.falsifiers:
            binding = registry.lookup(cid, str(entry.id))
            where = (binding.spec.fn.__module__ if binding.spec
                     else binding.out_of_scope.plugin if binding.out_of_scope else None)
            if where is not None and where != family and not where.startswith(family + "."):
                misplaced.append(f"{entry.id} of {cid} is in {where}, not {family}")
    return misplaced


def _own_contract_ids() -> set[str]:
    return {str(c.id) for c in load_contracts([REPO / "contracts"]).contracts}


def test_every_bound_falsifier_lives_in_its_contracts_family_module() -> None:
    own = _own_contract_ids()
    assert len(own) == 7
    assert not _misplaced(REPO / "contracts", "falsifiers", own)


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"no reference contracts at {REFERENCE}")
def test_reference_contract_families_live_in_falsifiers_aprender() -> None:
    assert not _misplaced(REFERENCE, "falsifiers.aprender", _own_contract_ids())
    # Nothing in falsifiers/aprender binds one of our own contracts.
    registry = load_plugins(PluginSettings(autoload=False)).falsifiers
    own = _own_contract_ids()
    ours_in_aprender = sorted(f"{fid} of {cid}" for (cid, fid), spec in registry.bindings.items()
                              if cid in own and spec.fn.__module__.startswith("falsifiers.aprender."))
    assert not ours_in_aprender


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


def _module_level_imports(path: Path) -> set[str]:
    """What importing ``path`` imports at once: its top-level imports, not those inside functions or
    under ``if TYPE_CHECKING:`` (those cannot close an import circle)."""
    names: set[str] = set()

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                walk(node.orelse)
            elif isinstance(node, ast.If | ast.Try):
                walk(node.body)
                walk(node.orelse)
                walk(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    walk(handler.body)

    walk(ast.parse(path.read_text(encoding="utf-8")).body)
    return names


def test_no_import_circle_among_first_party_modules() -> None:
    modules = {}
    for package in ("apr_contracts", "engines", "falsifiers"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: sorted(n for n in _module_level_imports(path) if n in modules and n != name)
             for name, path in modules.items()}
    circles: list[list[str]] = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        path.append(name)
        for dep in graph[name]:
            if state.get(dep) == "open":
                circles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert len(modules) > 100 and not circles
