"""Falsifiers of the reference contract pretokenize-bin-v1 (FALSIFY-PRETOK-*): the pre-tokenized uint32 shard format.

(Being bound: issue 11.)
"""

from __future__ import annotations

import sys
from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__])
