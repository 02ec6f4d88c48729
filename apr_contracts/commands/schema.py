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
    import os
    import tempfile
    from pathlib import Path

    from apr_contracts.schema import contract_json_schema

    text = json.dumps(contract_json_schema(), indent=2, sort_keys=True) + "\n"
    if not args.output:
        print(text, end="")
        return 0
    target = Path(args.output)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return 0
