"""apr-contracts: YAML contracts about an ML pipeline, turned into executed evidence.

The public authoring API for plugin writers lives here; see ``docs/plugins.md``.
"""

from __future__ import annotations

from apr_contracts.api import FalsifierSpec, Requirement, RunContext, Skip, Verdict, falsifier
from apr_contracts.hookspecs import hookimpl
from apr_contracts.outcomes import Level, Outcome

__version__ = "0.1.0"

__all__ = [
    "FalsifierSpec",
    "Level",
    "Outcome",
    "Requirement",
    "RunContext",
    "Skip",
    "Verdict",
    "__version__",
    "falsifier",
    "hookimpl",
]
