"""Mutants and mutation testing of falsifiers (`pv mutants`).

A *mutant* is a deliberately broken engine: one realistic defect, otherwise working. Plugins
register theirs with the ``apr_register_mutants`` hook (:mod:`.catalogue`); `pv mutants` runs
falsifiers against them (:mod:`.matrix`) and scores how many each contract's falsifiers catch
(:mod:`.score`). Importing this package imports nothing heavy: every plugin start reads it.
"""

from __future__ import annotations

from apr_contracts.mutation.catalogue import MutantRegistry, MutantRow, MutantSpec, mutant

__all__ = ["MutantRegistry", "MutantRow", "MutantSpec", "mutant"]
