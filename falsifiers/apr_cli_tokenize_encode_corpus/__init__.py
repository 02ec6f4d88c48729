"""Falsifiers of apr-cli-tokenize-encode-corpus-v1: `apr tokenize encode-corpus` and `verify-shards`.

``cli`` holds the integration falsifiers (001-010: the real command in a subprocess on small
corpora); ``live`` holds FALSIFY-TOK-ENCODE-CORPUS-LIVE-001 (the whole standard library with the
Qwen2 vocabulary: exact ids, and wall time against peer pipelines timed in the same run).
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from falsifiers.apr_cli_tokenize_encode_corpus import cli, live

CONTRACT = "apr-cli-tokenize-encode-corpus-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(cli, contract=CONTRACT)
    registry.add_module(live, contract=CONTRACT)
