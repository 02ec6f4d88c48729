"""Plugin modules of the exporter import without numpy, gguf, torch or tokenizers (pv validate stays light)."""

from __future__ import annotations

import subprocess
import sys


def test_plugins_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import engines.exporter.plugin, falsifiers.exporter, falsifiers.exporter_oracle, engines.exporter.cli\n"
        "from apr_contracts.plugins import load_plugins\n"
        "p = load_plugins()\n"
        "assert 'gguf' in p.engines.names('exporter') and 'broken-drops-pre' in p.engines.names('exporter')\n"
        "heavy = sorted(m for m in ('numpy', 'torch', 'gguf', 'tokenizers', 'safetensors', 'llama_cpp') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"heavy modules imported: {proc.stdout}"


def test_every_mutant_conforms_to_the_protocol() -> None:
    from apr_contracts.plugins import load_plugins

    plugins = load_plugins()
    for name in plugins.engines.names("exporter"):
        engine = plugins.engines.choose("exporter", name).factory()
        assert engine.name == name
        assert plugins.engines.conforms("exporter", engine) == []
