"""The acceptance layer: products, criteria and ship-%, derived from the same evidence as contract status.

``load`` reads acceptance files, ``bind`` connects criteria to falsifiers (both directions),
``derive`` is the pure status/ship-% function, ``board`` reads the evidence store for `pv ship`.
"""
