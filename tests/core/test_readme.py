"""The README's code is run, not just read.

* Every ```python block compiles; the "Writing a falsifier plugin" block is written into a
  module and run for real: `pv run CONTRACT -p MODULE` must report its falsifier HELD (it
  once lacked ``import sys`` and failed as written).
* Every `pv ...` / `apr ...` command shown in the README is parsed by the real parser (never
  executed). Where commands are taken from, and the rule for placeholders:
  - lines of ```bash blocks that start with ``pv `` or ``apr ``;
  - transcript lines (``$ pv ...``, ``$ apr ...``) in blocks of any language;
  - ``- run: .venv/bin/pv ...`` steps of ```yaml blocks (CI examples).
  Shell around the command is cut off first: a trailing ``# comment``, and everything from the
  first ``;``, ``&&``, ``||``, ``|`` or ``>`` on. GitHub expressions ``${{ ... }}`` become
  ``1``. Upper-case placeholders (PATH, ID, DB) stay as written: argparse accepts any word as
  a value or positional, so a placeholder is only refused where a real value would be too
  (a choice list, an int), and then the README is wrong. A synopsis line with ``[...]`` or
  ``a|b`` alternatives is not a command and is not taken.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts import cli as pv_cli
from engines import cli as apr_cli

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
PLUGIN_HEADING = "## Writing a falsifier plugin"


def blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, body, line number of the opening fence) of every fenced block."""
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def shown_commands(text: str) -> list[tuple[int, str]]:
    """(README line, command) of every pv/apr command the README shows, by the rule above."""
    found = []
    for lang, body, start in blocks(text):
        for offset, raw in enumerate(body.splitlines(), start=1):
            line = raw.strip()
            if line.startswith("$ "):
                line = line[2:]
            elif lang == "yaml" and line.startswith("- run: .venv/bin/"):
                line = line[len("- run: .venv/bin/"):]
            elif lang != "bash":
                continue
            if line.startswith(("pv ", "apr ")) or line in ("pv", "apr"):
                found.append((start + offset, line))
    return found


def strip_shell(line: str) -> list[str]:
    line = re.sub(r"\$\{\{.*?\}\}", "1", line)
    line = re.split(r"\s#", line, maxsplit=1)[0]
    line = re.split(r";|&&|\|\||\||>", line, maxsplit=1)[0]
    return shlex.split(line)


def python_blocks(text: str) -> list[tuple[str, int]]:
    return [(body, start) for lang, body, start in blocks(text) if lang == "python"]


def plugin_snippet(text: str) -> str:
    section = text[text.index(PLUGIN_HEADING):]
    lang, body, _ = blocks(section)[0]
    assert lang == "python", f"the first block under {PLUGIN_HEADING!r} is {lang!r}, not the python plugin"
    return body


def test_the_rules_find_what_they_should() -> None:
    # Guards the extraction: a rule that found nothing would make the parse test vacuous.
    text = README.read_text(encoding="utf-8")
    commands = [c for _, c in shown_commands(text)]
    assert any(c.startswith("apr tokenize encode-corpus") for c in commands)
    assert any(c.startswith("pv evidence merge") for c in commands)  # from the CI yaml
    assert any(c.startswith("pv ship contracts/ acceptance/ --fail-on") for c in commands)  # a transcript
    assert strip_shell('pv ship a --fail-on below:80; echo $?') == ["pv", "ship", "a", "--fail-on", "below:80"]
    assert strip_shell('pv run c/ --shard ${{ matrix.shard }}/3  # note') == ["pv", "run", "c/", "--shard", "1/3"]
    assert strip_shell('pv scoreboard c/ --format md >> "$GITHUB_STEP_SUMMARY"') == ["pv", "scoreboard", "c/",
                                                                                      "--format", "md"]


@pytest.mark.parametrize("line, command", shown_commands(README.read_text(encoding="utf-8")),
                         ids=lambda v: str(v))
def test_every_shown_command_parses(line: int, command: str) -> None:
    argv = strip_shell(command)
    build = pv_cli.build_parser if argv[0] == "pv" else apr_cli.build_parser
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build().parse_args(argv[1:])
        except SystemExit as exc:
            assert exc.code == 0, f"README.md:{line}: `{command}` does not parse: {err.getvalue().strip()}"


def test_every_python_block_compiles() -> None:
    text = README.read_text(encoding="utf-8")
    found = python_blocks(text)
    assert found, "README.md has no ```python block any more; update this test"
    for body, start in found:
        compile(body, f"README.md:{start}", "exec")


def test_the_plugin_snippet_runs_and_holds(tmp_path: Path) -> None:
    snippet = plugin_snippet(README.read_text(encoding="utf-8"))
    ids = re.findall(r'@falsifier\("([^"]+)", contract="([^"]+)"', snippet)
    assert len(ids) == 1, "the snippet's @falsifier must name its id and contract= literally"
    (falsifier_id, contract_id), = ids
    (tmp_path / "readme_plugin.py").write_text(snippet, encoding="utf-8")
    (tmp_path / "wordcount.yaml").write_text(textwrap.dedent(f"""\
        metadata:
          id: {contract_id}
          version: 1.0.0
          description: Word counts, for the README's plugin snippet.
        falsification_tests:
        - id: {falsifier_id}
          rule: Texts without words count zero.
          prediction: count('') = 0.
          level: algorithm
          if_fails: Empty documents are counted as containing words.
        """), encoding="utf-8")
    repo = str(README.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), repo])}
    proc = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "run", "wordcount.yaml", "-p", "readme_plugin",
         "--evidence", str(tmp_path / "ev.sqlite"), "--format", "json", "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["plugin_failures"] == [] and report["contract_errors"] == []
    [result] = report["results"]
    assert (result["falsifier_id"], result["outcome"]) == (falsifier_id, "HELD"), result
    assert result["engines"] == {"wordcount": "split"}


def test_the_pre_commit_snippet_names_a_real_hook_with_real_options() -> None:
    import yaml

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Validate contracts on every commit (pre-commit)"):]
    lang, body, _ = blocks(section)[0]
    assert lang == "yaml"
    [repo] = yaml.safe_load(body)["repos"]
    assert repo["rev"] and repo["repo"].endswith("/apr-contracts")
    hooks = {h["id"]: h for h in yaml.safe_load((README.parent / ".pre-commit-hooks.yaml").read_text())}
    for hook in repo["hooks"]:
        assert hook["id"] in hooks, f"README's pre-commit snippet names hook {hook['id']!r}; defined: {sorted(hooks)}"
        entry = shlex.split(hooks[hook["id"]]["entry"])
        assert entry[0] == "pv"
        pv_cli.build_parser().parse_args([*entry[1:], *hook.get("args", []), "contracts/x.yaml"])
