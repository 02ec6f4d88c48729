"""Model-card facts (licence, author, name, source links) carried through every conversion.

A GGUF holds them as ``general.*`` strings; a Hugging Face directory in the YAML front
matter of its README.md (``license: apache-2.0``); a checkpoint we write keeps them in
``apr_checkpoint.json`` under ``"general"``, keyed like GGUF. `apr import`, `apr pretrain
--init` and `apr export` pass them on, so a model's licence is not silently dropped on
its way from one format to another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CARRIED_KEYS = (
    "general.name", "general.author", "general.organization", "general.version", "general.basename",
    "general.finetune", "general.description", "general.size_label", "general.license", "general.license.name",
    "general.license.link", "general.url", "general.doi", "general.repo_url", "general.source.url",
    "general.source.repo_url",
)
_README_KEYS = {"license": "general.license", "license_name": "general.license.name",
                "license_link": "general.license.link"}


def from_gguf_values(values: Mapping[str, Any]) -> dict[str, str]:
    """The carried ``general.*`` strings of a GGUF's key/values."""
    return {k: values[k] for k in CARRIED_KEYS if isinstance(values.get(k), str) and values[k]}


def from_directory(directory: Path) -> dict[str, str]:
    """From a checkpoint we wrote (apr_checkpoint.json), else an HF directory's README.md front matter."""
    meta_path = Path(directory) / "apr_checkpoint.json"
    if meta_path.is_file():
        try:
            general = json.loads(meta_path.read_text(encoding="utf-8")).get("general")
        except (OSError, ValueError, AttributeError):
            general = None
        if isinstance(general, dict):
            return {k: v for k, v in general.items() if k in CARRIED_KEYS and isinstance(v, str) and v}
    return _readme_front_matter(Path(directory) / "README.md")


def _readme_front_matter(readme: Path) -> dict[str, str]:
    if not readme.is_file():
        return {}
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    import yaml

    try:
        front = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}  # a broken model card must not stop a conversion; there is just nothing to carry
    if not isinstance(front, dict):
        return {}
    return {ours: front[theirs] for theirs, ours in _README_KEYS.items()
            if isinstance(front.get(theirs), str) and front[theirs]}
