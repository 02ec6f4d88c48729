"""What a falsifier's `test:` field is: a command, a reference to a test, or prose.

A runner must never count prose as evidence, and `pv run` never executes commands
found in other projects' contracts; this classifier only labels the text. For this
project's own contracts a pytest node id (``tests/x/test_y.py::test_name``) is also
checked to exist, cheaply: the file is parsed with :mod:`ast`, pytest is not imported.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class TestKind(StrEnum):
    __test__ = False  # not a pytest test class
    NONE = "none"
    COMMAND = "command"  # something a shell could run (cargo test ..., pv validate ..., a script)
    REFERENCE = "reference"  # names a test: pytest node id, Rust path, file::tests::fn
    PENDING = "pending"  # LIVE-PENDING / TODO: declared not yet runnable
    PROSE = "prose"  # a description of a test, which nothing can run


_COMMANDS = frozenset(["cargo", "pv", "apr", "python", "python3", "pytest", "bash", "sh", "zsh", "make", "uv", "uvx", "nox", "tox", "pip", "grep", "egrep", "rg", "jq", "test", "diff", "awk", "sed", "cat", "ls", "echo", "env", "timeout", "set", "for", "if", "while", "cd", "npm", "npx", "node", "go", "rustc", "just", "docker", "git", "curl", "wc", "head", "tail", "find", "xargs", "sort", "printf", "true", "false"])
PYTEST_NODE = re.compile(r"^(?P<file>[\w./-]+\.py)(?P<names>(?:::[A-Za-z_]\w*)+)(?:\[[^\]]*\])?$")
_RUST_REF = re.compile(r"^(?:[\w./-]+\.rs|[A-Za-z_]\w*)(?:::[A-Za-z_]\w*)+\b")
_FILE_REF = re.compile(r"^[\w./-]+\.(?:rs|py|sh|toml|yaml|yml)\b")
_PENDING = re.compile(r"^(?:LIVE[-_ ]PENDING|PENDING|TODO|TBD)\b", re.I)
_BRACKETS = {"[": "]", "[[": "]]"}  # test / [[ ]] conditionals: opening word -> the word that closes it
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


@dataclass(frozen=True)
class TestField:
    __test__ = False
    kind: TestKind
    pytest_file: str | None = None
    pytest_names: tuple[str, ...] = ()


def classify(text: str | None) -> TestField:
    if text is None or not str(text).strip():
        return TestField(TestKind.NONE)
    lines = [ln.strip() for ln in str(text).strip().splitlines()]
    first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    if not first:
        return TestField(TestKind.PROSE)
    node = PYTEST_NODE.match(first) if len(lines) == 1 else None
    if node:
        return TestField(TestKind.REFERENCE, node.group("file"), tuple(node.group("names").split("::")[1:]))
    if _PENDING.match(first):
        return TestField(TestKind.PENDING)
    words = first.split()
    while words and _ENV.match(words[0]):
        words = words[1:]
    head = words[0] if words else ""
    if head in _COMMANDS or head.startswith(("./", "!", "$(")) or head.endswith(".sh"):
        return TestField(TestKind.COMMAND)
    if head in _BRACKETS and any(w.rstrip(";&|") == _BRACKETS[head] for w in words[1:]):
        # `[ -f out/model.gguf ] && apr qa ...`: the shell's test builtin, closed by its own `]`
        # (prose in brackets, "[manual] check it", has no bracket standing alone as a word).
        return TestField(TestKind.COMMAND)
    if _RUST_REF.match(first) or _FILE_REF.match(first):
        return TestField(TestKind.REFERENCE)
    return TestField(TestKind.PROSE)


def _defined(tree: ast.Module) -> dict[str, set[str]]:
    """Top-level test functions and classes, with the methods of each class ("" = module level)."""
    out: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out[""].add(node.name)
        elif isinstance(node, ast.ClassDef):
            out[""].add(node.name)
            out[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return out


def node_problem(root: Path, file: str, names: tuple[str, ...], cache: dict[str, object]) -> str | None:
    """Why ``file::names`` is not a test defined under ``root``, or None when it exists."""
    path = root / file
    key = str(path)
    if key not in cache:
        try:
            cache[key] = _defined(ast.parse(path.read_text(encoding="utf-8"), filename=key))
        except FileNotFoundError:
            cache[key] = "missing"
        except (OSError, SyntaxError, ValueError) as exc:
            cache[key] = f"unreadable: {exc}"
    defined = cache[key]
    if defined == "missing":
        return f"test file {file} does not exist (looked under {root})"
    if isinstance(defined, str):
        return f"test file {file} cannot be parsed ({defined})"
    assert isinstance(defined, dict)
    scope = ""
    for name in names[:-1]:
        if name not in defined:
            return f"{file} defines no class {name}"
        scope = name
    last = names[-1]
    if last not in defined.get(scope, set()):
        close = difflib.get_close_matches(last, sorted(defined.get(scope, set())), n=1)
        where = f"class {scope}" if scope else file
        return f"{where} defines no test {last}" + (f" (did you mean {close[0]}?)" if close else "")
    return None
