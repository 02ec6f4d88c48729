"""Read contract files safely (found by :mod:`apr_contracts.discovery`), check them against the model, and locate every issue.

``load_contracts(paths)`` never raises for a bad file: every problem becomes an
:class:`~apr_contracts.rules.base.Issue` with file, line and column. ``pv validate``
adds the semantic rules on top (:mod:`apr_contracts.validate`); ``pv run`` uses the
loaded contracts' falsifier entries directly.
"""

from __future__ import annotations

import contextlib
import gc
import math
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from yaml.nodes import Node

from apr_contracts.discovery import discover
from apr_contracts.outcomes import Level
from apr_contracts.rules.base import Issue, Severity
from apr_contracts.rules.loading import LOADER_RULES
from apr_contracts.schema.contract import Contract
from apr_contracts.schema.known_keys import unknown_keys_with_suggestions
from apr_contracts.schema.yamlsrc import (
    DEFAULT_MAX_FILE_BYTES,
    YamlRefused,
    compose_root,
    locate,
    read_yaml,
)

# Top-level keys of which at least one must be present for a mapping to be a contract.
CONTRACT_MARKERS = frozenset({
    "metadata", "falsification_tests", "falsification", "contract_id", "contract", "equations",
    "proof_obligations", "kani_harnesses", "invariants", "gates", "verification_summary",
})
THRESHOLD_OPS = ("<=", "<", ">=", ">", "==", "!=")
_SEVERITY = {rule.code: rule.severity for rule in LOADER_RULES}

PathKey = tuple[str | int, ...]

if TYPE_CHECKING:
    from apr_contracts.acceptance.load import LoadedAcceptance


@dataclass
class FalsifierEntry:
    """One falsifier of a contract, as the runner and the rules see it."""

    id: str
    rule: str | None
    prediction: str | None
    if_fails: str | None
    test: str | None
    level: Level
    thresholds: list[dict[str, Any]]  # only the well-formed ones (PV-LEVEL-003 reports the rest)
    line: int
    raw: dict[str, Any]
    section: str = "falsification_tests"  # or "falsification" (older lists)
    index: int = 0  # position in its section, for locating issues
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> PathKey:
        return (self.section, self.index)


@dataclass
class LoadedContract:
    path: Path
    id: str
    version: str | None
    declared_status: str | None
    falsifiers: list[FalsifierEntry]
    equations: dict[str, dict[str, Any]]
    raw: dict[str, Any]
    model: Contract | None  # None when the file has PV-SCHEMA-001/002 errors
    root: Node | None = field(default=None, repr=False)
    text: str = field(default="", repr=False)
    id_source: str = "file name"  # metadata.id | contract_id | contract | file name

    def line_of(self, path: PathKey, key: bool = False) -> int:
        """1-based line of the value at a key path (of the key itself when ``key``)."""
        return self.position(path, key)[0]

    def position(self, path: PathKey, key: bool = False) -> tuple[int, int]:
        if self.root is None and self.text:
            self.root = compose_root(self.text)  # released by validate_paths; rebuilt on demand
        return locate(self.root, path, key)

    def release_nodes(self) -> None:
        """Drop the YAML node tree (positions are recomputed from ``text`` if asked again).

        A node tree is several objects per YAML node; keeping a thousand of them alive
        made the garbage collector's next full pass cost a third of a validation run.
        """
        self.root = None

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, dict) else {}


@dataclass
class LoadResult:
    contracts: list[LoadedContract] = field(default_factory=list)
    acceptance: list[LoadedAcceptance] = field(default_factory=list)  # acceptance files (`pv ship`)
    issues: list[Issue] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    files: int = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading.

    Loading keeps every node tree and data structure alive, so each automatic GC
    pass re-scans everything loaded so far: on 1,000 contracts that tripled the
    time. The structures built here hold no reference cycles; collection resumes
    (and catches up) as soon as the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_contracts(paths: Sequence[str | Path], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                   exclude: Sequence[str] = ()) -> LoadResult:
    with gc_paused():
        return _load_all(paths, max_file_bytes, exclude)


def _load_all(paths: Sequence[str | Path], max_file_bytes: int, exclude: Sequence[str] = ()) -> LoadResult:
    snapshots: list[tuple[Path, str]] = []
    files, issues = discover(paths, exclude, snapshots)
    result = LoadResult(issues=issues, files=len(files), skipped=snapshots)
    for path in files:
        try:
            load_file(path, result, max_file_bytes)
        except Exception as exc:  # a bug in pv must not hide the other files' findings
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            result.issues.append(_issue(
                "PV-INTERNAL-001", path, 0, 0,
                f"pv failed while loading this file: {type(exc).__name__}: {exc} "
                f"(at {Path(tb.filename).name}:{tb.lineno})",
                "this is a bug in pv; please report it with the file",
            ))
    return result


def load_file(path: Path, result: LoadResult, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
    try:
        doc = read_yaml(path, max_file_bytes)
    except YamlRefused as refused:
        result.issues.append(_issue(refused.code, path, refused.line, refused.column, refused.message, refused.hint))
        return
    for p in doc.problems:
        result.issues.append(_issue(p.code, path, p.line, p.column, p.message, p.hint))
    data = doc.data
    if data is None:
        result.skipped.append((path, "empty YAML document"))
        return
    if not isinstance(data, dict):
        result.skipped.append((path, f"top level is a {_kind(data)}, not a mapping of contract sections"))
        return
    if not CONTRACT_MARKERS.intersection(data):
        from apr_contracts.acceptance.load import is_acceptance, load_acceptance

        if is_acceptance(data):  # a file with contract sections stays a contract
            load_acceptance(path, doc, result)
            return
        keys = ", ".join(list(map(str, data))[:6]) or "none"
        result.skipped.append((path, "no contract sections (metadata, falsification_tests, ...) and no `acceptance:` "
                                     f"header; top-level keys: {keys}"))
        return

    contract = LoadedContract(path=path, id=path.stem, version=None, declared_status=None, falsifiers=[],
                              equations={}, raw=data, model=None, root=doc.root, text=doc.text)
    try:
        contract.model = Contract.model_validate(data)
    except ValidationError as exc:
        result.issues.extend(schema_issues(contract, exc))
    for where, name, suggestion in unknown_keys_with_suggestions(data):
        line, col = contract.position((*where, name), key=True)
        dotted = ".".join(str(p) for p in where) or "top level"
        mean = f"; did you mean `{suggestion}`?" if suggestion else ""
        rename = f"rename it to `{suggestion}`" if suggestion else "rename it to a known key (see `pv schema`)"
        result.issues.append(_issue(
            "PV-SCHEMA-003", path, line, col, f"unknown key `{name}` in {dotted}{mean}",
            f"{rename} or suppress it with `# pv: ignore[PV-SCHEMA-003]`",
        ))
    _fill_identity(contract)
    contract.equations = _equations(data.get("equations"))
    contract.falsifiers = list(_falsifiers(contract))
    result.issues.extend(_entry_issues(contract))
    result.contracts.append(contract)


def _fill_identity(c: LoadedContract) -> None:
    meta = c.metadata
    # `contract:` is the id itself in book contracts, or a mapping {name, version, ...} in others.
    raw_contract = c.raw.get("contract")
    header: dict[str, Any] = raw_contract if isinstance(raw_contract, dict) else {}
    contract_name = header.get("name") if header else raw_contract
    for source, value in (("metadata.id", meta.get("id")), ("contract_id", c.raw.get("contract_id")),
                          ("contract", contract_name)):
        if isinstance(value, str) and value.strip():
            c.id, c.id_source = value.strip(), source
            break
    version = meta.get("version", c.raw.get("version", header.get("version")))
    if isinstance(version, str | int | float) and not isinstance(version, bool):
        c.version = str(version)
    status = meta.get("status", c.raw.get("status", header.get("status")))
    c.declared_status = status if isinstance(status, str) else None


def _equations(value: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if isinstance(value, dict):
        for name, eq in value.items():
            out[str(name)] = eq if isinstance(eq, dict) else {}
    elif isinstance(value, list):
        for i, eq in enumerate(value):
            if isinstance(eq, dict):
                name = eq.get("id") or eq.get("name") or f"#{i}"
                out[str(name)] = eq
    return out


def _falsifiers(c: LoadedContract) -> Iterator[FalsifierEntry]:
    for section in ("falsification_tests", "falsification"):
        entries = c.raw.get(section)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"].strip():
                continue
            yield FalsifierEntry(
                id=entry["id"].strip(),
                rule=_text(entry.get("rule")),
                prediction=_text(entry.get("prediction")),
                if_fails=_text(entry.get("if_fails")),
                test=_text(entry.get("test")),
                level=parse_level(entry)[0],
                thresholds=[t for t in entry.get("thresholds") or [] if threshold_problem(t) is None]
                if isinstance(entry.get("thresholds"), list) else [],
                line=c.line_of((section, index)),
                raw=entry,
                section=section,
                index=index,
                params=entry["params"] if isinstance(entry.get("params"), dict) else {},
            )


def _entry_issues(c: LoadedContract) -> Iterator[Issue]:
    """Levels and thresholds: what `pv run` needs to judge a falsifier, so checked at load time."""
    entries = c.raw.get("falsification_tests")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        bad = parse_level(entry)[1]
        if bad:
            line, col = c.position(("falsification_tests", i, bad.split(":")[0]))
            yield _issue("PV-LEVEL-001", c.path, line, col, f"unknown {bad}", "use level: algorithm, integration or live")
        value = entry.get("thresholds")
        if value is None:
            continue
        if not isinstance(value, list):
            line, col = c.position(("falsification_tests", i, "thresholds"))
            yield _issue("PV-LEVEL-003", c.path, line, col, "thresholds must be a list of {metric, op, value}",
                         "write thresholds: [{metric: NAME, op: '<=', value: NUMBER}]")
            continue
        for j, t in enumerate(value):
            problem = threshold_problem(t)
            if problem:
                line, col = c.position(("falsification_tests", i, "thresholds", j))
                yield _issue("PV-LEVEL-003", c.path, line, col, problem,
                             "write thresholds: [{metric: NAME, op: '<=', value: NUMBER}]")


def parse_level(entry: dict[str, Any]) -> tuple[Level, str | None]:
    """The entry's required level and, when ``level``/``test_kind`` is not understood, the bad word."""
    key = "level" if entry.get("level") is not None else "test_kind"
    word = entry.get(key)
    if word is None:
        return Level.ALGORITHM, None
    try:
        return Level.parse(str(word)), None
    except ValueError:
        return Level.ALGORITHM, f"{key}: {word}"


def threshold_problem(t: Any) -> str | None:
    """Why a threshold is malformed, or None. Shape: ``{metric: str, op: <=|<|>=|>|==|!=, value: number}``."""
    if not isinstance(t, dict):
        return f"a threshold must be a mapping {{metric, op, value}}, got a {_kind(t)}"
    metric, op, value = t.get("metric"), t.get("op"), t.get("value")
    if not isinstance(metric, str) or not metric.strip():
        return "threshold has no `metric` name"
    if op not in THRESHOLD_OPS:
        return f"threshold on {metric!r} has op {op!r}; expected one of {', '.join(THRESHOLD_OPS)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"threshold on {metric!r} has value {value!r}; expected a number"
    if not math.isfinite(value):  # `<= .inf` could never fail, `== .nan` never hold
        return f"threshold on {metric!r} has value {value!r}; expected a finite number"
    extra = sorted(set(map(str, t)) - {"metric", "op", "value", "unit", "note", "notes"})
    if extra:
        return f"threshold on {metric!r} has unknown keys: {', '.join(extra)}"
    return None


def schema_issues(c: LoadedContract | LoadedAcceptance, exc: ValidationError) -> list[Issue]:
    """PV-SCHEMA-001/002 for every place the model refused (contracts and acceptance files alike)."""
    by_path: dict[PathKey, list[str]] = {}
    for err in exc.errors(include_url=False):
        path = _raw_path(c.raw, err["loc"])
        msg = err["msg"]
        if err["type"] in ("model_type", "model_attributes_type", "dict_type") and len(path) >= 2 and isinstance(path[-1], int):
            msg = "an entry must be a mapping"
        by_path.setdefault(path, [])
        if msg not in by_path[path]:
            by_path[path].append(msg)
    issues = []
    kind = " --kind acceptance" if not isinstance(c, LoadedContract) else ""
    for path, msgs in by_path.items():
        value = _get(c.raw, path)
        dotted = ".".join(str(p) for p in path) or "top level"
        code = "PV-SCHEMA-002" if msgs == ["an entry must be a mapping"] else "PV-SCHEMA-001"
        line, col = c.position(path)
        expected = "; or ".join(m[0].lower() + m[1:] for m in msgs)
        issues.append(_issue(code, c.path, line, col, f"`{dotted}` is a {_kind(value)}: {expected}",
                             f"see `pv schema{kind}` for the shapes this section accepts"))
    return issues


def _raw_path(raw: Any, loc: tuple[int | str, ...]) -> PathKey:
    """Follow pydantic's error location through the raw data, skipping union-branch labels."""
    path: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict):
            found = part in node
        else:
            found = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if found:
            path.append(part)
            node = node[part]
    return tuple(path)


def _get(raw: Any, path: PathKey) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "text", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _issue(code: str, path: Path, line: int, column: int, message: str, hint: str) -> Issue:
    return Issue(code, _SEVERITY.get(code, Severity.ERROR), str(path), line, column, message, hint)
