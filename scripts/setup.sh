#!/usr/bin/env bash
# Create .venv and install apr-contracts with the given extras (default: engines).
# torch comes first and pinned: 2.13.0 is the CPU build this project is tested with; an
# unpinned request can pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-engines}"
python3 -m venv .venv
py=.venv/bin/python
$py -m pip install --quiet --upgrade pip setuptools wheel
$py -c "import torch" 2>/dev/null || $py -m pip install --quiet torch==2.13.0
$py -m pip install --quiet -e ".[${extras}]"
