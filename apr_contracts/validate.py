"""`pv validate` without the command line: load, run every rule, suppress, filter, summarize.

Severity policy (DESIGN.md): ERROR only for what makes a contract unusable or
ambiguous; conventions and drift are warnings, and errors under ``--strict``.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apr_contracts.config import ValidateConfig
from apr_contracts.loader import LoadedContract, LoadResult, gc_paused, load_contracts
from apr_contracts.rules import suppress
from apr_contracts.rules.base import CheckContext, Finding, Issue, Rule, RuleRegistry, Severity
from apr_contracts.rules.builtin import builtin_registry

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance
    from apr_contracts.plugins import Plugins, PluginSettings

    Document = LoadedContract | LoadedAcceptance

JSON_VERSION = 1
UNUSED_SUPPRESSION = "PV-SUPPRESS-001"


@dataclass
class ValidationReport:
    issues: list[Issue]
    contracts: list[LoadedContract]
    skipped: list[tuple[Path, str]]
    summary: dict[str, Any]
    suppressed: list[Issue] = field(default_factory=list)
    acceptance: list[LoadedAcceptance] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity is Severity.ERROR)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"version": JSON_VERSION, "issues": [i.to_dict() for i in self.issues], "summary": self.summary}


def build_registry(with_plugins: bool = True, settings: PluginSettings | None = None,
                   plugins: Plugins | None = None) -> RuleRegistry:
    """Built-in rules, plus plugin rules from the ``apr_register_rules`` hook when asked (of
    ``plugins`` when already loaded, else of the plugins ``settings`` selects)."""
    registry = builtin_registry()
    if with_plugins or plugins is not None:
        from apr_contracts.plugins import load_plugins

        plugins = plugins or load_plugins(settings)
        registry.current_plugin = "?"
        plugins.register_with("apr_register_rules", registry)
        registry.current_plugin = "apr-contracts"
        registry.plugin_failures = [f"{f.plugin} ({f.distribution}) failed in {f.phase}: {f.error}" for f in plugins.failures]
    return registry


def admit(loaded: LoadResult, paths: Sequence[str | Path], config: ValidateConfig,
          registry: RuleRegistry) -> tuple[list[LoadedContract], list[Issue]]:
    """What `pv run` may execute: the loaded contracts of files `pv validate` finds no error in,
    and the errors (same codes, file:line) that refuse the others.

    A contract with a duplicate falsifier id, an unknown level or a schema error is ambiguous or
    unusable: running it would record evidence for a claim nobody can name.
    """
    report = validate_paths(paths, config, registry, loaded=loaded)
    errors = [i for i in report.issues if i.severity is Severity.ERROR]
    refused = {i.file for i in errors}
    return [c for c in loaded.contracts if str(c.path) not in refused], errors


def unknown_selectors(registry: RuleRegistry, selectors: Iterable[str]) -> list[str]:
    return [s for s in selectors if s.strip() and not registry.matching(s)]


def validate_paths(
    paths: Sequence[str | Path],
    config: ValidateConfig | None = None,
    registry: RuleRegistry | None = None,
    context: Sequence[str | Path] = (),
    *,
    loaded: LoadResult | None = None,
) -> ValidationReport:
    """Validate the contracts under ``paths`` (already loaded as ``loaded``, when given: `pv run`
    validates exactly the files it is about to run).

    ``context``: more contracts that cross-contract rules (duplicate ids, references) compare
    ``paths`` with, without reporting anything about them. Under pre-commit ``paths`` are the
    changed files only, so a new contract that reuses an id of an unchanged one would
    otherwise pass.
    """
    config = config or ValidateConfig()
    registry = registry or builtin_registry()
    with gc_paused():  # see loader.gc_paused: rules also allocate while everything stays alive
        return _validate(paths, config, registry, context, loaded)


def _context_contracts(context: Sequence[str | Path], loaded: Sequence[Document],
                       config: ValidateConfig) -> tuple[list[LoadedContract], list[LoadedAcceptance]]:
    """The contracts and acceptance files of ``context`` that are not among ``loaded``."""
    if not context:
        return [], []
    mine = {c.path.resolve() for c in loaded}
    others = load_contracts(context, max_file_bytes=config.max_file_bytes, exclude=config.exclude)
    return ([c for c in others.contracts if c.path.resolve() not in mine],
            [a for a in others.acceptance if a.path.resolve() not in mine])


def _validate(paths: Sequence[str | Path], config: ValidateConfig, registry: RuleRegistry,
              context: Sequence[str | Path] = (), loaded: LoadResult | None = None) -> ValidationReport:
    if loaded is None:
        loaded = load_contracts(paths, max_file_bytes=config.max_file_bytes, exclude=config.exclude)
    documents: list[Document] = [*loaded.contracts, *loaded.acceptance]
    # Context first: rules that report "every occurrence after the first" then point at ``paths``.
    other_contracts, other_acceptance = _context_contracts(context, documents, config)
    corpus = [*other_contracts, *loaded.contracts]
    reported = {id(c) for c in documents}
    ctx = CheckContext(config=config, contracts=corpus, acceptance=[*other_acceptance, *loaded.acceptance])
    raw_issues = list(loaded.issues)
    by_path: dict[str, Document] = {str(c.path): c for c in documents}
    active = [r for r in registry if r.active(config)]

    for contract in loaded.contracts:
        for rule in active:
            if rule.check is not None:
                raw_issues.extend(_run(rule, contract, lambda r=rule, c=contract: r.check(c, ctx)))
    for rule in active:
        if rule.corpus_check is None:
            continue
        try:
            for contract, finding in rule.corpus_check(corpus, ctx):
                if id(contract) in reported:
                    raw_issues.append(_to_issue(rule, contract, finding))
        except Exception as exc:
            raw_issues.append(_internal(rule, Path(paths[0]) if paths else Path("."), exc))

    issues, suppressed = _apply_policy(raw_issues, registry, config, by_path)
    summary = _summary(loaded, issues, suppressed, config)
    for doc in documents:
        doc.release_nodes()  # every issue is located by now
    return ValidationReport(issues, loaded.contracts, loaded.skipped, summary, suppressed, loaded.acceptance)


def _run(rule: Rule, contract: LoadedContract, produce: Any) -> list[Issue]:
    try:
        return [_to_issue(rule, contract, f) for f in produce()]
    except Exception as exc:  # one broken rule (built-in or plugin) must not stop validation
        return [_internal(rule, contract.path, exc)]


def _to_issue(rule: Rule, contract: Document, finding: Finding) -> Issue:
    line, column = contract.position(finding.path, finding.key)
    hint = rule.hint if finding.hint is None else finding.hint
    return Issue(rule.code, rule.severity, str(contract.path), line, column, finding.message, hint)


def _internal(rule: Rule, path: Path, exc: Exception) -> Issue:
    tb = traceback.extract_tb(exc.__traceback__)[-1]
    return Issue("PV-INTERNAL-001", Severity.ERROR, str(path), 0, 0,
                 f"rule {rule.code} failed: {type(exc).__name__}: {exc} (at {Path(tb.filename).name}:{tb.lineno})",
                 "a bug in pv or in the plugin that registered this rule; please report it")


def _selected(code: str, selectors: tuple[str, ...], registry: RuleRegistry) -> bool:
    return any(code in registry.matching(s) or code == s.strip().upper() for s in selectors)


def _apply_policy(
    issues: list[Issue], registry: RuleRegistry, config: ValidateConfig, contracts: dict[str, Document]
) -> tuple[list[Issue], list[Issue]]:
    """Severity under --strict, inline suppressions, then --select/--ignore. Suppressions are
    matched before select/ignore so that a suppression is judged "used" independently of them."""
    kept: list[Issue] = []
    suppressed: list[Issue] = []
    sups = {name: suppress.parse(c.text, c.root) for name, c in contracts.items() if "pv:" in c.text}
    used: set[tuple[str, int, str]] = set()  # (file, comment line, selector)
    for issue in issues:
        rule = registry.get(issue.code)
        if rule is not None:
            issue.severity = rule.effective_severity(config.strict)
        hits = [(s.line, sel) for s in sups.get(issue.file, ()) if issue.code != "PV-INTERNAL-001"
                for sel in suppress.matched_selectors(s, issue.code, issue.line)]
        used.update((issue.file, line, sel) for line, sel in hits)
        (suppressed if hits else kept).append(issue)
    kept += _unused_suppressions(sups, used, registry, config)
    kept = [i for i in kept if _wanted(i.code, config, registry)]
    suppressed = [i for i in suppressed if _wanted(i.code, config, registry)]
    kept.sort(key=Issue.sort_key)
    return kept, suppressed


def _wanted(code: str, config: ValidateConfig, registry: RuleRegistry) -> bool:
    if config.select and not _selected(code, config.select, registry):
        return False
    return not (config.ignore and _selected(code, config.ignore, registry))


def _unused_suppressions(
    sups: dict[str, list[suppress.Suppression]], used: set[tuple[str, int, str]], registry: RuleRegistry,
    config: ValidateConfig,
) -> list[Issue]:
    rule = registry.get(UNUSED_SUPPRESSION)
    if rule is None:
        return []
    out = []
    for file, entries in sups.items():
        for sup in entries:
            for sel in sorted(sup.codes):
                if (file, sup.line, sel) in used:
                    continue
                codes = registry.matching(sel)
                if codes and not all(registry.rules[c].active(config) for c in codes):
                    continue  # silences a rule that did not run in this mode (e.g. strict-only)
                why = "matches no finding" if codes else "names no known rule code"
                out.append(Issue(rule.code, rule.effective_severity(config.strict), file, sup.line, sup.column,
                                 f"suppression `pv: ignore[{sel}]` {why}", rule.hint))
    return out


def _summary(loaded: Any, issues: list[Issue], suppressed: list[Issue], config: ValidateConfig) -> dict[str, Any]:
    sev = Counter(i.severity.value for i in issues)
    return {
        "files": loaded.files,
        "contracts": len(loaded.contracts),
        "acceptance_files": len(loaded.acceptance),
        "skipped": [{"file": str(p), "reason": r} for p, r in loaded.skipped],
        "errors": sev.get("error", 0),
        # A file that could not be read as a contract (a YAML syntax error) counts here, not as "no contract".
        "files_with_errors": sorted({i.file for i in issues if i.severity.value == "error"}),
        "warnings": sev.get("warning", 0),
        "infos": sev.get("info", 0),
        "suppressed": len(suppressed),
        "by_code": dict(sorted(Counter(i.code for i in issues).items())),
        "strict": config.strict,
        "config": config.source,
    }
