"""Which engine modules a falsifier may import (issue 20, part 3: independent oracles).

A falsifier that computes its expectation with the engine's own implementation (its layout
table, its writer, its model code) cannot falsify a defect the engine and the oracle share, and
judges `--engine KIND=OTHER` against our internals. Allowed: the engines' public Protocols, CLI
entry points, error type and fixtures (inputs, not answers). The exporter's layout table and GGUF
writer are never allowed; every other import of an engine's implementation must be listed in
BORROWED below, so a NEW borrowed oracle fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FALSIFIERS = REPO / "falsifiers"
ENGINES = REPO / "engines"

PUBLIC_SUFFIXES = ("protocol", "fixtures", "cli")  # engines.<kind>.<suffix>
PUBLIC = {"engines", "engines.cli", "engines.errors"}
NEVER = {"engines.exporter.layout", "engines.exporter.gguf_writer"}

# falsifier module -> engine modules it still imports. Borrowed oracle, to replace: each entry is
# an engine implementation a falsifier leans on; remove it when the falsifier gets its own reference.
BORROWED: dict[str, set[str]] = {
    "falsifiers.apr_export_gguf.export": {"engines.exporter.tokmeta"},
    "falsifiers.apr_export_gguf.llama": {"engines.exporter.parity"},
    "falsifiers.aprender.apr_cli_qa._support": {"engines.exporter.engine"},
    "falsifiers.aprender.apr_cli_qa.parity": {"engines.exporter.format_parity"},
    "falsifiers.aprender.apr_cli_qa.commands": {"engines.exporter.receipt"},
    "falsifiers.aprender.apr_cli_qa.surface": {"engines.exporter.receipt"},
    "falsifiers.aprender.apr_convert_hf_arch": {"engines.exporter.engine", "engines.trainer.checkpoint"},
    "falsifiers.aprender.apr_tokenize_parallel_bpe.workers": {"engines.tokenizer.backends"},
    "falsifiers.aprender.data_feed": {"engines.tokenizer.shards"},
    "falsifiers.apr_cli_tokenize_encode_corpus.live": {"engines.tokenizer.peers"},
    "falsifiers.apr_pretrain_from_init.own": {"engines.tokenizer.load", "engines.trainer.checkpoint",
                                              "engines.trainer.model"},
    "falsifiers.apr_pretrain_from_init.weights": {"engines.trainer.state"},
    "falsifiers.apr_pretrain_from_init.surface": {"engines.trainer.synthetic"},
    "falsifiers.apr_pretrain_arch_polymorphic": {"engines.trainer.checkpoint", "engines.trainer.config",
                                                 "engines.trainer.model"},
    "falsifiers.apr_pretrain_chinchilla_gate": {"engines.trainer.config", "engines.trainer.model"},
    "falsifiers.aprender.activation_kernel": {"engines.trainer.config"},
}


def _is_module(name: str) -> bool:
    path = REPO / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def engine_imports(path: Path) -> set[str]:
    """Engine modules ``path`` imports (``from engines.x import y`` counts as engines.x.y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "engines"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "engines":
            subs = {f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")}
            found |= subs or {node.module}
    return found


def is_public(module: str) -> bool:
    """engines, engines.cli, engines.errors, a kind's package itself, or its protocol/fixtures/cli module."""
    parts = module.split(".")
    kind_package = len(parts) == 2 and (ENGINES / parts[1] / "__init__.py").is_file()
    return module in PUBLIC or kind_package or (len(parts) == 3 and parts[2] in PUBLIC_SUFFIXES)


def violations() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted(FALSIFIERS.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        bad = {m for m in engine_imports(path) if not is_public(m)}
        if bad:
            out[module] = bad
    return out


def test_no_falsifier_imports_the_exporters_layout_table_or_writer() -> None:
    offenders = {m: sorted(b & NEVER) for m, b in violations().items() if b & NEVER}
    assert not offenders, f"falsifiers that borrow the exporter's own table/writer as their oracle: {offenders}"


def test_every_other_borrowed_oracle_is_listed() -> None:
    new = {m: sorted(b - BORROWED.get(m, set())) for m, b in violations().items() if b - BORROWED.get(m, set())}
    assert not new, ("falsifiers importing engine implementation modules (not Protocol/CLI/fixtures): "
                     f"{new}; write an independent reference in falsifiers/ (or use an external oracle)")


def test_the_allowlist_only_shrinks() -> None:
    """An entry no longer needed must be removed, so the list stays an honest to-do list."""
    found = violations()
    stale = {m: sorted(b - found.get(m, set())) for m, b in BORROWED.items() if b - found.get(m, set())}
    assert not stale, f"BORROWED lists imports that are gone (remove them): {stale}"
    assert not any(b & NEVER for b in BORROWED.values())


def test_the_rule_sees_a_borrowed_layout(tmp_path: Path) -> None:
    """The resolver catches both spellings of a layout import (so the tests above can fail)."""
    probe = tmp_path / "probe.py"
    probe.write_text("from engines.exporter import layout\nimport engines.exporter.gguf_writer\n"
                     "from engines.exporter.fixtures import tiny_checkpoint\n", encoding="utf-8")
    found = engine_imports(probe)
    assert found == {"engines.exporter.layout", "engines.exporter.gguf_writer", "engines.exporter.fixtures"}
    assert {m for m in found if not is_public(m)} == NEVER
