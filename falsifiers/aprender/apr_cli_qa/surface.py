"""FALSIFY-QA-001/005/007/008: the `apr` command set itself (help, version, --format json, no phantoms).

The command list is never written down here: it is enumerated from the parser `apr` builds,
so a command added tomorrow is covered without touching this file.
"""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

from apr_contracts import RunContext, Verdict, falsifier
from falsifiers.aprender.apr_cli_qa._support import (
    cli_module,
    command_tree,
    is_leaf,
    run_inproc,
    strict_json,
)

UNIMPLEMENTED = re.compile(r"not (yet )?implemented|coming soon|\bTODO\b", re.IGNORECASE)
LISTED = re.compile(r"^ {4}([a-z][a-z0-9-]*)(?: {2,}\S.*)?$")  # argparse's sub-command listing


@falsifier("FALSIFY-QA-001", level="integration", engines=[])
def every_command_answers_help(ctx: RunContext) -> Verdict:
    """Read as: `apr --help` and `apr <cmd> [<sub>] --help` for EVERY command in the parser exit 0 with
    non-empty help on stdout and no traceback (the 58 commands are the other tool's count; ours is
    whatever the parser holds)."""
    cli = cli_module(ctx)
    paths = [()] + [p for p, _ in command_tree(cli.build_parser())]
    bad = []
    for path in paths:
        rc, out, err = run_inproc(cli, [*path, "--help"])
        if rc != 0 or not out.strip() or "Traceback" in err:
            bad.append(f"apr {' '.join(path)} --help: exit {rc}, {len(out.strip())} chars of help, "
                       f"stderr {err.strip()[-200:]!r}")
    if bad:
        return ctx.falsified(f"{len(bad)} of {len(paths)} commands fail --help: " + "; ".join(bad[:3]),
                             counterexample=bad[0], measured={"commands": len(paths), "failing": len(bad)})
    return ctx.held(f"all {len(paths)} commands answer --help (exit 0, non-empty help): "
                    + ", ".join(" ".join(p) or "apr" for p in paths), measured={"commands": len(paths)})


@falsifier("FALSIFY-QA-005", level="integration", engines=[])
def version_names_checked_out_commit(ctx: RunContext) -> Verdict:
    """Read as: run from a git clone, `apr --version` prints `apr X.Y.Z (HASH)` with HASH the clone's
    `git rev-parse --short HEAD` (computed by this falsifier, not asked of apr). SKIP outside a clone."""
    cli = cli_module(ctx)
    where = Path(str(cli.__file__)).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        ctx.skip(f"git is not usable here ({exc}); the version cannot be compared with a commit")
    if head.returncode != 0:
        ctx.skip(f"{where} is not inside a git clone: there is no HEAD to compare the version with")
    full = head.stdout.strip()
    rc, out, err = run_inproc(cli, ["--version"])
    line = out.strip()
    m = re.fullmatch(r"apr (\d+\.\d+\.\d+\S*) \(([0-9a-f]{7,40})\)", line)
    if rc != 0 or m is None:
        return ctx.falsified(f"`apr --version` printed {line!r} (exit {rc}); expected 'apr X.Y.Z (HASH)'",
                             counterexample=line or err.strip()[-200:])
    if not full.startswith(m.group(2)):
        return ctx.falsified(f"`apr --version` names commit {m.group(2)}, but HEAD is {full[:12]}: a stale build",
                             counterexample={"reported": m.group(2), "head": full})
    return ctx.held(f"`apr --version` = {line!r}; HEAD = {full[:12]}")


@falsifier("FALSIFY-QA-007", level="integration", engines=[])
def json_format_changes_output(ctx: RunContext) -> Verdict:
    """Read as: for each reporting command we have (inspect, qa, run, bench --check, export), the
    `--format json` (`--json` for export) output differs from the default, parses as one JSON
    object, and the default output does not."""
    import json

    from engines.exporter.receipt import base_receipt
    from falsifiers.aprender.apr_cli_qa._support import fixtures

    cli = cli_module(ctx)
    ckpt, gguf = fixtures(ctx, gguf_beside=False)
    receipt = ctx.workspace / "receipt.json"
    receipt.write_text(json.dumps(base_receipt()), encoding="utf-8")
    out_gguf = ctx.workspace / "again.gguf"
    pairs = {
        "inspect": (["inspect", str(ckpt)], ["inspect", str(ckpt), "--format", "json"]),
        "qa": (["qa", str(gguf), "--no-progress"], ["qa", str(gguf), "--no-progress", "--format", "json"]),
        "run": (["run", str(ckpt), "def f(x):", "--max-tokens", "2"], ["run", str(ckpt), "def f(x):", "--max-tokens", "2", "--format", "json"]),
        "bench --check": (["bench", "--check", str(receipt)], ["bench", "--check", str(receipt), "--format", "json"]),
        "export": (["export", str(ckpt), "-o", str(out_gguf), "--force", "--no-progress"],
                   ["export", str(ckpt), "-o", str(out_gguf), "--force", "--no-progress", "--json"]),
    }
    bad = []
    for name, (text_argv, json_argv) in pairs.items():
        rc_t, text, err_t = run_inproc(cli, text_argv)
        rc_j, js, err_j = run_inproc(cli, json_argv)
        if rc_t != 0 or rc_j != 0:
            bad.append(f"{name}: exit {rc_t}/{rc_j}: {(err_t or err_j).strip()[-200:]}")
            continue
        if text == js:
            bad.append(f"{name}: --format json printed exactly the default output")
            continue
        try:
            parsed = strict_json(js)
        except ValueError as exc:
            bad.append(f"{name}: the json output does not parse: {exc}")
            continue
        if not isinstance(parsed, dict):
            bad.append(f"{name}: the json output is a {type(parsed).__name__}, not an object")
            continue
        try:
            strict_json(text)
            bad.append(f"{name}: the default output is JSON too (the flag changed only whitespace)")
        except ValueError:
            pass
    if bad:
        return ctx.falsified(f"{len(bad)} of {len(pairs)} commands: " + "; ".join(bad), counterexample=bad[0])
    return ctx.held(f"--format json changes the output of {', '.join(pairs)} (text vs one JSON object)")


@falsifier("FALSIFY-QA-008", level="integration", engines=[])
def no_phantom_commands(ctx: RunContext) -> Verdict:
    """Read as: the commands each `--help` lists are exactly the registered ones; every leaf has a
    handler whose code does not just raise NotImplementedError; no help says 'not yet implemented'."""
    cli = cli_module(ctx)
    tree = dict(command_tree(cli.build_parser()))
    groups = [()] + [p for p, sub in tree.items() if not is_leaf(sub)]
    problems = []
    for group in groups:
        _rc, out, _ = run_inproc(cli, [*group, "--help"])
        listed = {m.group(1) for line in out.splitlines() if (m := LISTED.match(line))}
        registered = {p[-1] for p in tree if p[:-1] == group}
        for name in sorted(listed - registered):
            problems.append(f"`apr {' '.join((*group, name))}` is listed in help but not registered")
        for name in sorted(registered - listed):
            problems.append(f"`apr {' '.join((*group, name))}` is registered but not listed in `apr {' '.join(group)} --help`")
    for path, sub in tree.items():
        label = "apr " + " ".join(path)
        _rc, out, _ = run_inproc(cli, [*path, "--help"])
        if UNIMPLEMENTED.search(out):
            problems.append(f"`{label} --help` says it is not implemented")
        if not is_leaf(sub):
            continue
        handler = sub.get_default("func")
        if not callable(handler):
            problems.append(f"`{label}` parses but has no handler")
            continue
        try:
            source = inspect.getsource(handler)
        except (OSError, TypeError):
            continue
        body = [ln.strip() for ln in source.splitlines()[1:] if ln.strip() and not ln.strip().startswith(("#", '"""', "'''"))]
        if body and body[0].startswith("raise NotImplementedError"):
            problems.append(f"`{label}`'s handler {handler.__name__} only raises NotImplementedError")
    if problems:
        return ctx.falsified(f"{len(problems)} phantom/hidden command problem(s): " + "; ".join(problems[:4]),
                             counterexample=problems[0])
    leaves = [p for p, s in tree.items() if is_leaf(s)]
    return ctx.held(f"{len(tree)} registered commands = the listed ones; all {len(leaves)} leaves have a real handler")
