"""Falsifiers of the reference contract apr-tokenize-parallel-bpe-v1 (FALSIFY-APR-TOK-PAR-001..014):
`apr tokenize encode-corpus` with several workers, its `[progress]` lines and `--estimate-only`.

``workers`` holds 001-006 (byte-identical output across --workers, speedup, high counts, the flag,
its default, 0 refused), ``progress`` 007-010 (OR-cadence, quiet, line format) and ``estimate``
011-014 (the extrapolation kernel, nothing written, the estimate on a small corpus).
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from falsifiers.aprender.apr_tokenize_parallel_bpe import estimate, progress, workers

CONTRACT = "apr-tokenize-parallel-bpe-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(workers, contract=CONTRACT)
    registry.add_module(progress, contract=CONTRACT)
    registry.add_module(estimate, contract=CONTRACT)
