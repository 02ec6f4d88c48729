"""Falsifiers of the reference contract apr-export-num-layers-v1 (FALSIFY-EXPORT-NUM-LAYERS-*, FALSIFY-EXPORT-INFER-METADATA-001): layer count and metadata inferred at export.

(Being bound: issue 11.)
"""

from __future__ import annotations

import sys
from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__])
