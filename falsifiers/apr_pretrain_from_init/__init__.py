"""Falsifiers of apr-pretrain-from-init-v1: fine-tuning with `apr pretrain --init`.

Two contracts share the name: ours (FALSIFY-APR-PRETRAIN-FROM-INIT-*, live SmolLM2 losses) in
``own``, and the reference contract's FALSIFY-APR-PRETRAIN-INIT-* ids: the flag, the regression-
free path without it and the fail-fast refusals of a bad init in ``surface``; what a load carries
(loss far below scratch, fresh optimizer state, a deterministic load) in ``weights``.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from falsifiers.apr_pretrain_from_init import own, surface, weights

CONTRACT = "apr-pretrain-from-init-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(own, contract=CONTRACT)
    registry.add_module(surface, contract=CONTRACT)
    registry.add_module(weights, contract=CONTRACT)
    for falsifier_id, reason in surface.OUT_OF_SCOPE.items():
        registry.declare_out_of_scope(falsifier_id, reason, contract=CONTRACT)
