"""Falsifiers of the reference contract apr-audit-ship-two-v1 (C-APR-AUDIT-SHIP-TWO): the other
project's own `apr audit-ship-two` tool over its own specification.

All three are about that tool and that specification, so they are declared out of scope here.
The structural checks they describe (a hand-typed `count` that differs from its `ids`, a `count`
above `of`) are what `pv validate` checks on acceptance files (PV-ACCEPT-002 and -003), and
`pv ship` derives the counts from evidence instead of trusting them.
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl

OUT_OF_SCOPE = {
    "FALSIFY-AUDIT-SHIP-TWO-001":
        "tests the other project's `apr audit-ship-two` on its own spec format; our equivalent check "
        "on acceptance files is pv validate PV-ACCEPT-002 (count != len(ids))",
    "FALSIFY-AUDIT-SHIP-TWO-002":
        "tests the other project's `apr audit-ship-two` on its own spec format; our equivalent check "
        "on acceptance files is pv validate PV-ACCEPT-003 (count > of)",
    "FALSIFY-AUDIT-SHIP-TWO-003":
        "runs `apr audit-ship-two` against the other project's own on-branch specification",
}


CONTRACT = "C-APR-AUDIT-SHIP-TWO"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    for falsifier_id, reason in OUT_OF_SCOPE.items():
        registry.declare_out_of_scope(falsifier_id, reason, contract=CONTRACT)
