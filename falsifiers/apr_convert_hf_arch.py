"""Falsifiers of the reference contract apr-convert-hf-arch-v1 (FALSIFY-CONVERT-HF-ARCH-*): the HF architecture class through import and export.

(Being bound: issue 11.)
"""

from __future__ import annotations

import sys
from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__])
