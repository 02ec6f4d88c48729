"""The built-in rule set, registered explicitly (plugins add theirs via `apr_register_rules`)."""

from __future__ import annotations

from apr_contracts.rules import (
    acceptance,
    counts,
    falsifiers,
    identity,
    references,
    status,
    versions,
)
from apr_contracts.rules.base import Rule, RuleRegistry
from apr_contracts.rules.loading import LOADER_RULES

BUILTIN_RULES: tuple[Rule, ...] = (
    *LOADER_RULES,
    *identity.RULES,
    *versions.RULES,
    *counts.RULES,
    *status.RULES,
    *references.RULES,
    *falsifiers.RULES,
    *acceptance.RULES,
)


def builtin_registry() -> RuleRegistry:
    registry = RuleRegistry()
    for rule in BUILTIN_RULES:
        registry.add(rule)
    return registry
