"""Safe YAML reading that remembers where every value came from.

Why not ``yaml.safe_load``: it forgets line numbers, silently keeps the last of two
duplicate keys, turns a key written ``on:`` into ``True``, and hands back an
alias-shared structure that explodes when anything walks it (billion laughs).

Here the document is *composed* by libyaml (``CSafeLoader`` when available) into a
node tree, which keeps marks, never runs a constructor for ``!!python/*`` tags and
is linear in the file size even for alias bombs. The tree is then turned into
plain Python data by :func:`_Builder`, which counts the nodes that aliases make it
re-expand and stops at a budget. The node tree is kept so that an issue can be
located later by key path (:func:`locate`), without building a position map for
every node up front (that would double the cost of a clean file).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml makes composing ~10x faster; fall back to the pure-Python parser
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
ALIAS_BUDGET = 100_000  # nodes that aliases may re-expand; real contracts use a handful
# Text that aliases may repeat: one 1 MB anchored string aliased 500 times is 500 MB for every
# later reader (claim hashes, reports) while only a few nodes; so repeated text is counted too.
ALIAS_TEXT_BUDGET = DEFAULT_MAX_FILE_BYTES
SHORT_SCALAR = 256  # scalars up to this length take the fast path; longer ones are checked for repeats
MAX_DEPTH = 200  # nesting beyond this is not a contract; it only risks a RecursionError

_Y = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _TS = (_Y + t for t in ("str", "null", "bool", "int", "float", "timestamp"))
_MAP, _SEQ, _MERGE = _Y + "map", _Y + "seq", _Y + "merge"

# libyaml's composer (Cython) recurses on the C stack and segfaults on ~100k-deep nesting
# such as `[[[[...` or `- - - - ...`; such text goes to the pure-Python composer, whose
# recursion ends in a clean RecursionError. Real contracts never come near these depths.
_GUARD_DEPTH = 64
_DEEP_BLOCK = re.compile(rf"(?:[-?][ \t]+){{{_GUARD_DEPTH},}}|^[ \t]{{128,}}\S", re.M)
_FLOW = re.compile(r"[\[\]{}]")

# one constructor instance for scalars: these methods only read node.value
_SCALARS = yaml.SafeLoader("")


class YamlRefused(Exception):
    """The file cannot be used at all. Carries a stable code and where the problem is."""

    def __init__(self, code: str, message: str, hint: str = "", line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.line, self.column = code, message, hint, line, column


@dataclass(frozen=True)
class Problem:
    """A problem found while building the data that does not stop the load."""

    code: str
    message: str
    hint: str
    line: int
    column: int


@dataclass
class SourceDoc:
    data: Any
    root: Node | None
    text: str
    problems: list[Problem] = field(default_factory=list)


def read_yaml(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SourceDoc:
    """Read, compose and build one YAML file; raise :class:`YamlRefused` when unusable."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise YamlRefused("PV-YAML-006", f"cannot read the file: {exc.strerror or exc}",
                          "check the path and its permissions") from exc
    if not stat.S_ISREG(st.st_mode):
        raise YamlRefused("PV-YAML-006", "not a regular file (a device, pipe or socket)",
                          "pass contract files or folders only")
    if st.st_size > max_bytes:
        raise YamlRefused(
            "PV-YAML-002",
            f"file is {st.st_size:,} bytes, over the limit of {max_bytes:,} bytes; not read",
            "contracts are small; raise `max_file_bytes` in [tool.pv] or --max-file-bytes if this one is real",
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)  # bounded even if the file grew since stat()
    except OSError as exc:
        raise YamlRefused("PV-YAML-006", f"cannot read the file: {exc.strerror or exc}",
                          "check the path and its permissions") from exc
    if len(raw) > max_bytes:
        raise YamlRefused("PV-YAML-002", f"file is over the limit of {max_bytes:,} bytes; not read",
                          "raise `max_file_bytes` in [tool.pv] if this file is real")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlRefused("PV-YAML-006", f"not UTF-8 text (byte {exc.start}: {exc.reason})",
                          "save the contract as UTF-8", line, 1) from exc
    return parse_yaml(text)


def compose_root(text: str) -> Node | None:
    """The node tree of text that :func:`parse_yaml` already accepted (to locate issues later)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader if _maybe_deep(text) else _Loader)
    except (yaml.YAMLError, RecursionError):
        return None


def parse_yaml(text: str) -> SourceDoc:
    """Compose and build YAML text (see the module docstring)."""
    loader: Any = yaml.SafeLoader if _maybe_deep(text) else _Loader
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        hint = "fix the YAML syntax at that position"
        if "single document" in what:
            hint = "put one contract per file (remove the `---` separator)"
        raise YamlRefused("PV-YAML-001", f"not valid YAML: {what}", hint,
                          mark.line + 1 if mark else 0, mark.column + 1 if mark else 0) from exc
    except yaml.YAMLError as exc:
        raise YamlRefused("PV-YAML-001", f"not valid YAML: {exc}", "fix the YAML syntax") from exc
    except RecursionError as exc:
        raise YamlRefused("PV-YAML-001", "YAML nested too deeply to read", "a contract is a few levels deep") from exc
    if root is None:
        return SourceDoc(None, None, text)
    builder = _Builder()
    data = builder.build(root, 0, False)
    return SourceDoc(data, root, text, builder.problems)


def _maybe_deep(text: str) -> bool:
    if text.count("[") + text.count("{") > _GUARD_DEPTH:
        depth = 0
        for m in _FLOW.finditer(text):
            depth += 1 if m.group() in "[{" else -1
            if depth > _GUARD_DEPTH:
                return True
    # cheap substring probes first: the regex alone cost half a bare yaml.load
    if "- - " not in text and "? ? " not in text and " " * 128 not in text and "\t" * 128 not in text:
        return False
    return _DEEP_BLOCK.search(text) is not None


class _Builder:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.budget = ALIAS_BUDGET
        self.text_budget = ALIAS_TEXT_BUDGET
        self.long_scalars: set[int] = set()

    def _problem(self, code: str, node: Node, message: str, hint: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(code, message, hint, mark.line + 1, mark.column + 1))

    def build(self, node: Node, depth: int, in_alias: bool) -> Any:
        if in_alias:
            self.budget -= 1
            if self.budget < 0:
                mark = node.start_mark
                raise YamlRefused(
                    "PV-YAML-003",
                    f"YAML aliases expand to more than {ALIAS_BUDGET:,} nodes (an alias bomb, 'billion laughs'); refused",
                    "contracts do not need deeply nested anchors/aliases; write the values out",
                    mark.line + 1, mark.column + 1,
                )
        if isinstance(node, ScalarNode):
            if len(node.value) > SHORT_SCALAR or in_alias:
                self._count_text(node, in_alias)
            return self._scalar(node)
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise YamlRefused("PV-YAML-001", f"YAML nested more than {MAX_DEPTH} levels deep",
                              "a contract is a few levels deep", mark.line + 1, mark.column + 1)
        key = id(node)
        if key in self.seen:
            in_alias = True  # the same node again: an alias being expanded
        else:
            self.seen.add(key)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self._tag(node)
            build = self.build
            return [item.value if item.tag == _STR and not in_alias and type(item) is ScalarNode
                    and len(item.value) <= SHORT_SCALAR else build(item, depth + 1, in_alias) for item in node.value]
        assert isinstance(node, MappingNode)
        if node.tag != _MAP:
            self._tag(node)
        return self._mapping(node, depth, in_alias)

    def _count_text(self, node: ScalarNode, in_alias: bool) -> None:
        """Charge a scalar's text to the alias text budget when an alias repeats it."""
        if not in_alias:
            key = id(node)
            if key not in self.long_scalars:
                self.long_scalars.add(key)  # its first appearance is the file's own text
                return
        self.text_budget -= len(node.value)
        if self.text_budget < 0:
            mark = node.start_mark
            raise YamlRefused(
                "PV-YAML-003",
                f"YAML aliases repeat more than {ALIAS_TEXT_BUDGET:,} characters of text (an alias bomb); refused",
                "contracts do not need to repeat long anchored text; write it once",
                mark.line + 1, mark.column + 1,
            )

    def _mapping(self, node: MappingNode, depth: int, in_alias: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                value = self.build(value_node, depth + 1, in_alias)
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, dict):
                        for k, v in part.items():
                            merged.setdefault(k, v)
                    else:
                        self._problem("PV-YAML-007", value_node, "`<<` merge expects a mapping or a list of mappings",
                                      "merge only mappings")
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem("PV-YAML-007", key_node, "a mapping key is itself a list or mapping; ignored",
                              "use plain text keys")
                continue
            # keys are kept as written: `on:` stays "on" (YAML 1.1 would make it True)
            name = key_node.value
            if name in out:
                self._problem("PV-YAML-005", key_node, f"duplicate key {name!r} in the same mapping",
                              "YAML readers disagree on which value wins; keep exactly one")
            if (value_node.tag == _STR and not in_alias and type(value_node) is ScalarNode
                    and len(value_node.value) <= SHORT_SCALAR):
                out[name] = value_node.value  # the common case, without a call
            else:
                out[name] = self.build(value_node, depth + 1, in_alias)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        try:
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return _SCALARS.construct_yaml_bool(node)
            if tag == _INT:
                return _SCALARS.construct_yaml_int(node)
            if tag == _FLOAT:
                return _SCALARS.construct_yaml_float(node)
            if tag == _TS:
                return _SCALARS.construct_yaml_timestamp(node)
        except (ValueError, TypeError, yaml.YAMLError):
            self._problem("PV-YAML-004", node, f"value {node.value!r} does not fit its type {tag}",
                          "quote the value to keep it as text")
            return node.value
        self._tag(node)
        return node.value

    def _tag(self, node: Node) -> None:
        tag = node.tag
        unsafe = tag.startswith(_Y + "python/") or tag.startswith("!!python")
        why = "an unsafe Python tag, never constructed" if unsafe else "an unsupported YAML tag"
        self._problem("PV-YAML-004", node, f"{tag!r} is {why}; the value is read as plain data",
                      "remove the tag: contracts are plain mappings, lists, text and numbers")


def _key_index(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    """The mapping's scalar keys -> (key node, value node), the first of duplicates, built once per node.

    Every issue is located by walking from the root; scanning a mapping's keys each time made
    `pv validate` quadratic in the number of issues (11k unknown keys: 6.9 s)."""
    index: dict[str, tuple[Node, Node]] | None = getattr(node, "_pv_key_index", None)
    if index is None:
        index = {}
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                index.setdefault(k.value, (k, v))
        node._pv_key_index = index  # type: ignore[attr-defined]
    return index


def locate(root: Node | None, path: tuple[str | int, ...], key: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the value at ``path`` (of its key when ``key``).

    Walks as far as the path exists and returns the deepest node found, so an issue
    about a missing key points at the mapping that should hold it.
    """
    if root is None:
        return (1, 1)
    node: Node = root
    key_node: Node | None = None
    for part in path:
        nxt: Node | None = None
        if isinstance(node, MappingNode):
            hit = _key_index(node).get(str(part))
            if hit is not None:
                key_node, nxt = hit
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            key_node, nxt = None, node.value[part]
        if nxt is None:
            break
        node = nxt
    else:
        if key and key_node is not None:
            node = key_node
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


def span_starting_at(root: Node | None, line: int) -> tuple[int, int] | None:
    """Lines (first, last; 1-based) covered by the mapping entries or list items that start
    on ``line``; used by inline suppression comments placed on a key."""
    if root is None:
        return None
    best: int | None = None
    stack: list[Node] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases can share nodes
            continue
        seen.add(id(node))
        starts: list[tuple[Node, Node]] = []
        if isinstance(node, MappingNode):
            starts = [(k, v) for k, v in node.value]
        elif isinstance(node, SequenceNode):
            starts = [(v, v) for v in node.value]
        for head, value in starts:
            if head.start_mark.line + 1 == line:
                end = _last_line(value)
                best = end if best is None else max(best, end)
            if not isinstance(value, ScalarNode) and value.start_mark.line + 1 <= line <= _last_line(value):
                stack.append(value)
    return (line, best) if best is not None else None


def _last_line(node: Node) -> int:
    end = node.end_mark
    # a block collection ends at column 0 of the line after its last entry
    if end.column == 0 and end.line > node.start_mark.line:
        return end.line
    return end.line + 1
