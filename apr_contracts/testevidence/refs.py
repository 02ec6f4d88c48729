"""What a falsifier's ``test:`` field names, as references a test case can be matched against.

* a pytest node id ``tests/test_lib.py::TestX::test_y`` (or a file / class: every test under it);
* a Rust test path ``crate::module::tests::fn`` (the crate prefix optional, as libtest omits it);
* a ``cargo test`` command: its filters (``cargo test -p X falsify_a`` runs every test whose name
  *contains* ``falsify_a``; ``--exact`` makes it whole-name; no filter: every test of the package);
* a ``pytest`` command: its node-id / file arguments.

Commands joined with ``&&`` give one reference each, and all of them must match. A command with
other shell syntax, a ``pytest -k`` expression, or prose names no test this module can read:
:func:`references` returns None, and linking falls back to the naming convention.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from apr_contracts.rules.testfield import PYTEST_NODE, TestKind, classify
from apr_contracts.testevidence.cases import TestCase

_RUST_PATH = re.compile(r"^(?:[\w./-]+\.rs::)?(?P<path>[A-Za-z_]\w*(?:::[A-Za-z_]\w*)+)$")
_SHELL = re.compile(r"[|;<>`$()]|\|\|")
# cargo options that take a value (so the value is not mistaken for the test filter)
_CARGO_VALUED = frozenset({"-p", "--package", "-F", "--features", "--target", "--test", "--bin", "--example",
                           "--bench", "--manifest-path", "-j", "--jobs", "--profile", "--target-dir", "--color",
                           "--message-format", "-Z", "--config", "--exclude"})
_LIBTEST_VALUED = frozenset({"--test-threads", "--format", "--skip", "-Z", "--logfile", "--color", "--shuffle-seed",
                             "--report-time"})


@dataclass(frozen=True)
class TestRef:
    __test__ = False
    kind: str  # "pytest" (parts: path parts, module, names), "rust" (path segments), "filter"
    text: str
    parts: tuple[str, ...] = ()
    module_index: int = -1  # pytest: the position of the module name in parts
    exact: bool = False  # filter: whole-name match (libtest --exact)
    skip: tuple[str, ...] = ()  # filter: libtest --skip patterns
    package: str | None = None  # cargo -p

    @property
    def language(self) -> str:
        return "python" if self.kind == "pytest" else "rust"

    def matches(self, case: TestCase) -> bool:
        if case.kind and case.kind != self.language:
            return False
        if self.kind == "pytest":
            return _pytest_matches(self, _case_parts_python(case))
        name = _rust_name(case)
        if self.kind == "rust":
            segments = name.split("::")
            want = list(self.parts)
            return segments[-len(want):] == want or want[-len(segments):] == segments
        if self.package and case.classname:
            crate = case.classname.split("::")[0].replace("-", "_")
            if crate != self.package.replace("-", "_"):
                return False
        if any(s in name for s in self.skip):
            return False
        if not self.parts:
            return True
        return any((name == f) if self.exact else (f in name) for f in self.parts)


def _rust_name(case: TestCase) -> str:
    """The test's path inside its crate, as libtest filters see it."""
    return case.name


def _case_parts_python(case: TestCase) -> list[str]:
    name = case.name.split("[", 1)[0]
    classname = case.classname
    if not classname and case.file:
        classname = case.file.removesuffix(".py").replace("/", ".")
    return [*filter(None, classname.split(".")), name]


def _pytest_matches(ref: TestRef, case: list[str]) -> bool:
    parts, m = list(ref.parts), ref.module_index
    module = parts[m]
    for i, piece in enumerate(case):
        if piece != module:
            continue
        # the folders before the module agree as far as both spell them (the report's rootdir may differ)
        if any(case[i - d] != parts[m - d] for d in range(1, min(i, m) + 1)):
            continue
        rest = parts[m + 1:]
        if case[i + 1:i + 1 + len(rest)] == rest:
            return True
    return False


def _pytest_ref(text: str) -> TestRef | None:
    node = PYTEST_NODE.match(text)
    if node is None:
        file, names = (text, "") if text.endswith(".py") else ("", "")
        if not file:
            return None
    else:
        file, names = node.group("file"), node.group("names")
    path = [p for p in file.removesuffix(".py").split("/") if p and p != "."]
    extra = [n for n in names.split("::") if n]
    return TestRef("pytest", text, tuple(path + extra), len(path) - 1)


def _cargo_refs(words: list[str], text: str) -> TestRef | None:
    package, filters, skip, exact = None, [], [], False
    i, after_dashdash = 2, False
    while i < len(words):
        word = words[i]
        if word == "--" and not after_dashdash:
            after_dashdash = True
        elif after_dashdash and word == "--exact":
            exact = True
        elif after_dashdash and word == "--skip" and i + 1 < len(words):
            skip.append(words[i + 1])
            i += 1
        elif word in (_LIBTEST_VALUED if after_dashdash else _CARGO_VALUED):
            if word in ("-p", "--package") and i + 1 < len(words):
                package = words[i + 1]
            i += 1
        elif word.startswith("-"):
            if word.startswith(("--package=", "-p=")):
                package = word.split("=", 1)[1]
        else:
            filters.append(word)
        i += 1
    return TestRef("filter", text, tuple(filters), exact=exact, skip=tuple(skip), package=package)


def _command_ref(segment: str) -> TestRef | None:
    try:
        words = shlex.split(segment)
    except ValueError:
        return None
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words = words[1:]
    if len(words) >= 2 and words[0] == "cargo" and words[1] in ("test", "nextest"):
        if words[1] == "nextest":
            words = ["cargo", "test", *words[3:]] if len(words) > 2 and words[2] == "run" else words
        return _cargo_refs(words, segment)
    if words[:1] == ["pytest"] or words[:3] in (["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        args = words[1:] if words[0] == "pytest" else words[3:]
        if "-k" in args or any(a.startswith("-k") for a in args):
            return None
        targets = [a for a in args if not a.startswith("-")]
        refs = [_pytest_ref(t) for t in targets]
        if len(refs) != 1 or refs[0] is None:
            return None  # several targets: one reference per target is not expressible here
        return refs[0]
    return None


def references(test: str | None) -> list[TestRef] | None:
    """The references ``test`` makes, or None when it names no test this module can read."""
    if test is None or not str(test).strip():
        return None
    text = str(test).strip()
    field = classify(text)
    if field.kind is TestKind.REFERENCE:
        if field.pytest_file is not None:
            ref = _pytest_ref(text)
            return [ref] if ref else None
        rust = _RUST_PATH.match(text)
        return [TestRef("rust", text, tuple(rust.group("path").split("::")))] if rust else None
    if field.kind is not TestKind.COMMAND or "\n" in text:
        return None
    refs: list[TestRef] = []
    for segment in text.split("&&"):
        if _SHELL.search(segment):
            return None
        ref = _command_ref(segment.strip())
        if ref is None:
            return None
        refs.append(ref)
    return refs or None
