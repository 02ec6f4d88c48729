"""The built-in engine plugins: every mutant registered by name exists, and loading stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("kind", ["tokenizer", "trainer", "exporter"])
def test_every_mutant_of_the_table_resolves_to_a_described_class_of_its_kind(kind: str) -> None:
    """Each table row names a class that exists, breaks the kind's default engine, and says what
    its defect is (its docstring's first line); its caught_by falsifiers are bound for its kind."""
    import importlib

    from apr_contracts.plugins import load_plugins

    plugins = load_plugins()
    table = importlib.import_module(f"engines.{kind}.plugin").MUTANTS
    default = plugins.engines.choose(kind)
    specs = plugins.mutants.of_kind(kind)
    assert sorted(s.name for s in specs) == sorted(table)
    for spec in specs:
        assert spec.breaks == default.name
        assert issubclass(spec.load(), type(default.create())), spec.name
        assert not spec.description().startswith("("), (spec.name, spec.description())
        unbound = [pair for pair in spec.caught_by
                   if kind not in getattr(plugins.falsifiers.get(*pair), "engines", ())]
        assert unbound == [], (spec.name, unbound)


@pytest.mark.parametrize("kind", ["tokenizer", "trainer", "exporter"])
def test_every_registered_engine_builds_under_its_name(kind: str) -> None:
    from apr_contracts.plugins import load_plugins

    plugins = load_plugins()
    for name in plugins.engines.names(kind):
        assert plugins.engines.choose(kind, name).create().name == name


def test_loading_plugins_and_commands_imports_no_engine_and_no_heavy_library() -> None:
    """`apr` and `pv` load every plugin on each start (pv validate must stay light): registering
    the engines, the falsifier modules and the `apr` subcommands imports no engine implementation."""
    code = (
        "import sys\n"
        "import importlib\n"
        "from apr_contracts.plugins import BUILTIN_PLUGINS\n"
        "for _, module in BUILTIN_PLUGINS: importlib.import_module(module)\n"
        "import engines.tokenizer.cli, engines.trainer.cli, engines.exporter.cli\n"
        "from apr_contracts.plugins import load_plugins\n"
        "p = load_plugins()\n"
        "assert {'tokenizer', 'trainer', 'exporter'} <= set(p.engines.kinds)\n"
        "assert 'gguf' in p.engines.names('exporter') and 'broken-drops-pre' in p.engines.names('exporter')\n"
        "loaded = sorted(m for m in ('engines.trainer.engine', 'engines.trainer.config', 'engines.exporter.engine',"
        " 'engines.tokenizer.engine', 'numpy', 'torch', 'gguf', 'tokenizers', 'safetensors', 'llama_cpp',"
        " 'gigatoken', 'tiktoken') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported while loading: {proc.stdout}"
