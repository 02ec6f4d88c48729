"""Falsifiers of the reference contract apr-pretrain-val-shard-v1 (FALSIFY-PRETRAIN-VAL-SHARD-*): the held-out validation shard.

(Being bound: issue 11.)
"""

from __future__ import annotations

import sys
from typing import Any

from apr_contracts import hookimpl


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__])
