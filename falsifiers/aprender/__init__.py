"""Falsifier families that bind the other project's reference contracts, not this project's own.

Each module or package here binds one contract of `../shared/reference-contracts/aprender`
(written by another project, in Rust terms; see docs/reference-contracts.md), named after the
contract id without its version, or after the file's stem where the id is not `<name>-vN`
(`chinchilla-gate-v1` -> `falsifiers/aprender/chinchilla_gate.py`). Run them with
`pv run ../shared/reference-contracts/aprender`. Families of our own contracts (contracts/) stay
one level up, even where they also bind a reference contract with the same id; shared helpers
stay in `falsifiers/_*.py`, which never import a family module.

Nothing is imported here: each family is its own plugin (apr_contracts.plugins.BUILTIN_PLUGINS).
"""
