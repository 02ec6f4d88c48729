"""The built-in engine plugins: every mutant registered by name exists, and loading stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_trainer_and_exporter_name_tables_match_their_mutant_classes() -> None:
    from engines.exporter import mutants as exporter_mutants
    from engines.exporter import plugin as exporter_plugin
    from engines.trainer import mutants as trainer_mutants
    from engines.trainer import plugin as trainer_plugin

    assert {cls.name: cls.__name__ for cls in trainer_mutants.MUTANTS} == trainer_plugin.MUTANTS
    assert {cls.name: cls.__name__ for cls in exporter_mutants.MUTANTS} == exporter_plugin.MUTANTS


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
