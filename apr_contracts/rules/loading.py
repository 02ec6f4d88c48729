"""Codes of the findings the loader itself emits (reading YAML, checking the model).

They have no check function: the loader produces them while reading. They are
registered like any rule so that ``pv explain``, ``--select``/``--ignore``, inline
suppression and ``docs/rules.md`` cover them too.
"""

from __future__ import annotations

from apr_contracts.rules.base import Rule, Severity

E, W = Severity.ERROR, Severity.WARNING

LOADER_RULES: tuple[Rule, ...] = (
    Rule("PV-INTERNAL-001", "pv failed on this file", E,
         "An unexpected exception inside pv while validating one file. The file is reported "
         "so the rest of the run goes on; this is a bug in pv (or in a plugin rule), never in "
         "the contract.", "report it with the file attached"),
    Rule("PV-YAML-001", "not valid YAML", E,
         "The file cannot be parsed: a syntax error, several documents in one file, or "
         "nesting too deep to be a contract.", "fix the YAML at the reported position"),
    Rule("PV-YAML-002", "file too large", E,
         "Files over `max_file_bytes` (default 10 MB) are refused without being read: real "
         "contracts are a few kB, and a huge file is a mistake or an attack.",
         "raise `max_file_bytes` in [tool.pv] if the file is genuine"),
    Rule("PV-YAML-003", "alias bomb", E,
         "YAML anchors/aliases that expand to more than 100,000 nodes (the 'billion laughs' "
         "pattern). Refused before anything walks the expanded data.",
         "write the values out; contracts do not need nested aliases"),
    Rule("PV-YAML-004", "unsupported or unsafe tag", E,
         "An explicit YAML tag (`!!python/object`, a custom `!tag`, `!!binary`...) or a value "
         "that does not fit its tag. Tags are never constructed; the value is kept as plain "
         "data and reported.", "remove the tag"),
    Rule("PV-YAML-005", "duplicate key", E,
         "The same key twice in one mapping. YAML readers disagree on which value wins, so the "
         "contract is ambiguous.", "keep exactly one of the two keys"),
    Rule("PV-YAML-006", "file cannot be read", E,
         "The path does not exist, is not a regular file, cannot be opened, or is not UTF-8.",
         "check the path, its permissions and its encoding"),
    Rule("PV-YAML-007", "malformed mapping key", E,
         "A mapping key that is itself a list or mapping, or a `<<` merge of something that is "
         "not a mapping.", "use plain text keys"),
    Rule("PV-SCHEMA-001", "wrong type", E,
         "A section or field has a type the contract model does not accept (for example "
         "`falsification_tests` written as a mapping instead of a list). The models accept every "
         "shape seen in real contracts; anything else makes the contract unusable.",
         "see `pv schema` for the accepted shapes"),
    Rule("PV-SCHEMA-002", "not a contract mapping", E,
         "An entry of a list section (a falsifier, an obligation, a harness) is not a mapping.",
         "write the entry as `- key: value` lines"),
    Rule("PV-LEVEL-001", "unknown level", E,
         "`level` (or `test_kind`) must be algorithm, integration or live (unit/property mean algorithm, e2e "
         "integration). Checked while loading, so `pv run` refuses the contract too.",
         "use level: algorithm, integration or live"),
    Rule("PV-LEVEL-003", "malformed threshold", E,
         "Each threshold is {metric: text, op: one of <= < >= > == !=, value: number}. Checked while loading: "
         "the runner judges live falsifiers by these thresholds, so a malformed one makes the contract unusable.",
         "write thresholds: [{metric: NAME, op: '<=', value: NUMBER}]"),
    Rule("PV-SUPPRESS-001", "unused or unknown suppression", W,
         "An inline `# pv: ignore[CODE]` that silenced nothing in this run, or names a code no rule has. Stale "
         "suppressions hide the next real finding on that line. Suppressions of rules that did not run (strict-only "
         "rules outside --strict) are not reported.", "remove the code from the comment, or fix its spelling"),
    Rule("PV-SCHEMA-003", "unknown key", W,
         "A key the contract model does not know. It is kept (never dropped) and reported, "
         "since a typo (`if_fail:`) silently loses a field. Error under --strict.",
         "rename it to a known key (see `pv schema`) or suppress with `# pv: ignore[PV-SCHEMA-003]`"),
)
