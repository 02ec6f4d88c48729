"""`pv schema`: print the JSON Schema of the contract model (for YAML language servers)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema of contract files",
                              description="Print the JSON Schema of the contract model, e.g. for the YAML "
                              "language server: `# yaml-language-server: $schema=contract.schema.json`.")
    p.add_argument("--format", choices=("json",), default="json", help="output format (JSON only)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from apr_contracts.schema import contract_json_schema

    text = json.dumps(contract_json_schema(), indent=2, sort_keys=True) + "\n"
    if not args.output:
        print(text, end="")
        return 0
    from apr_contracts.atomic import write_text_atomic

    write_text_atomic(Path(args.output), text)
    return 0
