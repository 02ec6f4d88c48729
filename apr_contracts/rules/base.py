"""The vocabulary of `pv validate`: severities, issues, rules and the rule registry.

Every finding `pv validate` can emit has a stable code (``PV-<AREA>-<NNN>``) and a
:class:`Rule` registered under it, even the findings produced by the loader itself
(``PV-YAML-*``, ``PV-SCHEMA-*``): the registry is the single catalogue that
``pv explain``, ``--select``/``--ignore`` and ``docs/rules.md`` are built from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance
    from apr_contracts.config import ValidateConfig
    from apr_contracts.loader import LoadedContract


class Severity(StrEnum):
    """How bad a finding is. A ``str`` enum so that ``issue.severity == "error"`` holds."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass
class Issue:
    """One finding, located in a file (1-based line and column; 0 when unknown)."""

    code: str
    severity: Severity
    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.code)


@dataclass(frozen=True)
class Finding:
    """What a rule check yields: a message at a key path of the contract.

    The validator turns it into an :class:`Issue` (file, line and column from the
    path, severity from the rule and the ``--strict`` policy).
    """

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None  # None: use the rule's default hint
    key: bool = False  # locate the key itself rather than its value


@dataclass
class CheckContext:
    """What a rule check may consult besides the contract itself."""

    config: ValidateConfig
    contracts: Sequence[LoadedContract] = ()
    acceptance: Sequence[LoadedAcceptance] = ()  # acceptance files validated with the contracts
    # free slots for rules that cache work across contracts (e.g. parsed test files)
    cache: dict[str, Any] = field(default_factory=dict)


ContractCheck = Callable[["LoadedContract", CheckContext], Iterable[Finding]]
# Yields (where the finding is, finding): a LoadedContract, or a LoadedAcceptance for acceptance rules.
CorpusCheck = Callable[[Sequence["LoadedContract"], CheckContext], Iterable[tuple[Any, Finding]]]


@dataclass(frozen=True)
class Rule:
    """A rule with one stable code.

    ``check`` runs once per loaded contract; ``corpus_check`` once over all of them
    (cross-contract rules). A rule with neither documents a finding the loader
    emits. ``strict_only`` rules run only under ``--strict`` (or when the config key
    named by ``enabled_by`` is true): they encode this project's own conventions.
    """

    code: str
    title: str
    severity: Severity
    explanation: str
    hint: str = ""
    check: ContractCheck | None = None
    corpus_check: CorpusCheck | None = None
    strict_only: bool = False
    enabled_by: str | None = None  # a boolean config key that also turns on a strict-only rule

    def active(self, config: ValidateConfig) -> bool:
        if not self.strict_only or config.strict:
            return True
        return bool(self.enabled_by and getattr(config, self.enabled_by, False))

    def effective_severity(self, strict: bool) -> Severity:
        """Conventions and drift are warnings by default and errors under ``--strict``."""
        if strict and self.severity is Severity.WARNING:
            return Severity.ERROR
        return self.severity


class RuleError(Exception):
    """A rule was registered inconsistently (duplicate or malformed code)."""


@dataclass
class RuleRegistry:
    """Rules by code. Built-in rules are added explicitly; plugins add theirs through
    the ``apr_register_rules`` hook (``registry.add(rule)``)."""

    rules: dict[str, Rule] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    current_plugin: str = "apr-contracts"
    plugin_failures: list[str] = field(default_factory=list)  # plugins that failed to load, for the report

    def add(self, rule: Rule) -> None:
        if not isinstance(rule, Rule):
            raise RuleError(f"{self.current_plugin}: registry.add() expects a Rule, got {type(rule).__name__}")
        if not rule.code or rule.code != rule.code.strip().upper() or " " in rule.code:
            raise RuleError(f"{self.current_plugin}: rule code {rule.code!r} must be upper-case, e.g. ACME-001")
        if rule.code in self.rules:
            raise RuleError(
                f"rule {rule.code} is registered by both {self.owners[rule.code]!r} and {self.current_plugin!r}"
            )
        self.rules[rule.code] = rule
        self.owners[rule.code] = self.current_plugin

    def get(self, code: str) -> Rule | None:
        return self.rules.get(code.strip().upper())

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self.rules.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.strip().upper() in self.rules

    def matching(self, selector: str) -> list[str]:
        """Codes matched by a selector: an exact code or a prefix (``PV-SCHEMA``, ``PV-SCHEMA-``)."""
        sel = selector.strip().upper()
        if sel in self.rules:
            return [sel]
        prefix = sel if sel.endswith("-") else sel + "-"
        return sorted(code for code in self.rules if code.startswith(prefix))
