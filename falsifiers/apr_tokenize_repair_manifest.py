"""Falsifiers of the reference contract apr-tokenize-repair-manifest-v1 (FALSIFY-REPAIR-MANIFEST-*): rebuilding a lost shard manifest.

(Being bound: issue 11.)
"""

from __future__ import annotations

import sys
from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__])
