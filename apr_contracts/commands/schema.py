"""`pv schema [--kind contract|acceptance]`: print the JSON Schema of contract or acceptance files
(for YAML language servers)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema of contract (or acceptance) files",
                              description="Print the JSON Schema of the contract model (or, with --kind acceptance, "
                              "of acceptance files), e.g. for the YAML language server: "
                              "`# yaml-language-server: $schema=contract.schema.json`.")
    p.add_argument("--kind", choices=("contract", "acceptance"), default="contract",
                   help="which file model: contract (default) or acceptance (`pv ship`)")
    p.add_argument("--format", choices=("json",), default="json", help="output format (JSON only)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from apr_contracts.schema import contract_json_schema
    from apr_contracts.schema.acceptance import acceptance_json_schema

    schema = acceptance_json_schema() if args.kind == "acceptance" else contract_json_schema()
    text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if not args.output:
        print(text, end="")
        return 0
    from apr_contracts.atomic import write_text_atomic

    write_text_atomic(Path(args.output), text)
    return 0
