"""The plugin manager: built-ins, entry points, isolation of broken plugins, switches, and every hook."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts import falsifier, hookimpl, hookspecs
from apr_contracts.mutation import MutantRegistry, mutant
from apr_contracts.plugins import PluginError, PluginSettings, load_plugins, merge_mutants
from apr_contracts.registry import EngineRegistry, FalsifierRegistry, RegistryError

REPO = Path(__file__).resolve().parents[2]


def _plugin(tmp_path: Path, name: str, body: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


ONE = """
    import sys
    from apr_contracts import falsifier, hookimpl
    @falsifier("FALSIFY-DUP-001")
    def f(ctx):
        return ctx.held()
    @hookimpl
    def apr_register_falsifiers(registry):
        registry.add_module(sys.modules[__name__], contract="dup-v1")
"""

RAISING = """
    from apr_contracts import hookimpl
    @hookimpl
    def apr_register_engines(registry):
        registry.add("tokenizer", "half-registered", object)
        raise RuntimeError("boom in a hook")
"""


def settings(*modules: str, **kw: object) -> PluginSettings:
    return PluginSettings(autoload=False, extra_modules=modules, **kw)  # type: ignore[arg-type]


def test_duplicate_falsifier_id_names_both_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _plugin(tmp_path, "dup_a", ONE, monkeypatch)
    b = _plugin(tmp_path, "dup_b", ONE, monkeypatch)
    plugins = load_plugins(settings(a, b))
    (failure,) = plugins.failures
    assert "FALSIFY-DUP-001" in failure.error and "dup_a" in failure.error and "dup_b" in failure.error
    with pytest.raises(PluginError, match="dup_a"):
        load_plugins(settings(a, b, strict=True))


def test_raising_hook_is_rolled_back_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _plugin(tmp_path, "raising_plug", RAISING, monkeypatch)
    plugins = load_plugins(settings(name))
    assert [f.phase for f in plugins.failures] == ["apr_register_engines"]
    assert "half-registered" not in plugins.engines.names("tokenizer")


def test_block_switch_removes_a_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _plugin(tmp_path, "dup_a", ONE, monkeypatch)
    b = _plugin(tmp_path, "dup_b", ONE, monkeypatch)
    plugins = load_plugins(settings(a, b, block=("dup_b",)))
    assert not plugins.failures
    assert plugins.falsifiers.get("dup-v1", "FALSIFY-DUP-001").plugin == "dup_a"  # type: ignore[union-attr]


def test_registries_reject_inconsistent_registrations() -> None:
    engines = EngineRegistry(current_plugin="p1")
    engines.add("tokenizer", "hf", object, default=True)
    engines.current_plugin = "p2"
    with pytest.raises(RegistryError, match=r"p1.*p2"):
        engines.add("tokenizer", "hf", object)
    with pytest.raises(LookupError, match="no tokenizer engine named 'x'"):
        engines.choose("tokenizer", "x")
    registry = FalsifierRegistry()
    with pytest.raises(RegistryError, match="not decorated"):
        registry.add(lambda ctx: None)  # type: ignore[arg-type,return-value]


def test_engine_learns_its_registered_name() -> None:
    class Engine:
        pass

    engines = EngineRegistry()
    engines.add("tokenizer", "mine", Engine)
    assert engines.choose("tokenizer").create().name == "mine"


# --- one test per hook (the meta-test below checks that each hook has one) ------------------------


def test_hook_apr_register_engines() -> None:
    class Proto:
        pass

    class Plug:
        @hookimpl
        def apr_register_engines(self, registry: EngineRegistry) -> None:
            registry.add_kind("scorer", Proto)
            registry.add("scorer", "s1", dict, default=True)

    plugins = _with(Plug())
    assert plugins.engines.kinds["scorer"] is Proto
    assert plugins.engines.choose("scorer").name == "s1"


def test_hook_apr_register_mutants() -> None:
    class Proto:
        pass

    class Real:
        """The real scorer."""

    class OffByOne(Real):
        """Scores one too many."""

    class Plug:
        @hookimpl
        def apr_register_engines(self, registry: EngineRegistry) -> None:
            registry.add_kind("scorer", Proto)
            registry.add("scorer", "s1", Real, default=True)

        @hookimpl
        def apr_register_mutants(self, registry: MutantRegistry) -> None:
            registry.add_table("scorer", "unused", {"broken-off-by-one": mutant(OffByOne, "hook-v1::FALSIFY-HOOK-001")})

    plugins = _with(Plug())
    spec = plugins.mutants.get("scorer", "broken-off-by-one")
    assert spec is not None
    assert (spec.breaks, spec.caught_by, spec.description()) == ("s1", (("hook-v1", "FALSIFY-HOOK-001"),),
                                                                 "Scores one too many.")
    engine = plugins.engines.choose("scorer", "broken-off-by-one")
    assert engine.mutant and isinstance(engine.create(), OffByOne)


def test_hook_apr_register_falsifiers() -> None:
    @falsifier("FALSIFY-HOOK-001", contract="hook-v1", level="integration", engines=["x"])
    def impl(ctx):  # type: ignore[no-untyped-def]
        return ctx.held()

    class Plug:
        @hookimpl
        def apr_register_falsifiers(self, registry: FalsifierRegistry) -> None:
            registry.add(impl)

    spec = _with(Plug()).falsifiers.get("hook-v1", "FALSIFY-HOOK-001")
    assert spec is not None and spec.level.value == "integration" and spec.engines == ("x",)


def test_hook_apr_register_rules() -> None:
    seen: list[object] = []

    class Recorder:
        current_plugin = "?"

        def add(self, rule: object) -> None:
            seen.append(rule)

    class Plug:
        @hookimpl
        def apr_register_rules(self, registry: Recorder) -> None:
            registry.add("ACME-001")

    _with(Plug()).register_with("apr_register_rules", Recorder())
    assert seen == ["ACME-001"]


def test_hook_apr_register_reporters() -> None:
    class Plug:
        @hookimpl
        def apr_register_reporters(self, registry) -> None:  # type: ignore[no-untyped-def]
            registry.add("count", lambda board: str(len(board)))

    assert _with(Plug()).reporters.renderers["count"]([1, 2, 3]) == "3"


def test_hook_apr_result() -> None:
    got: list[object] = []

    class Plug:
        @hookimpl
        def apr_result(self, result: object) -> None:
            got.append(result)

    _with(Plug()).notify("apr_result", result="R")
    assert got == ["R"]


def test_hook_apr_session_finish() -> None:
    got: list[object] = []

    class Plug:
        @hookimpl
        def apr_session_finish(self, summary: object, exit_code: int) -> None:
            got.append((summary, exit_code))
            raise RuntimeError("a notification that raises is reported, not fatal")

    plugins = _with(Plug())
    plugins.notify("apr_session_finish", summary="S", exit_code=1)
    assert got == [("S", 1)]
    assert plugins.failures[-1].phase == "apr_session_finish"


def _with(plugin: object):  # type: ignore[no-untyped-def]
    plugins = load_plugins(PluginSettings(autoload=False))
    plugins.manager.register(plugin, name="test-plugin")
    plugins.register_with("apr_register_engines", plugins.engines)
    plugins.register_with("apr_register_mutants", plugins.mutants)
    merge_mutants(plugins)
    plugins.register_with("apr_register_falsifiers", plugins.falsifiers)
    plugins.register_with("apr_register_reporters", plugins.reporters)
    return plugins


def test_every_hook_is_documented_and_tested() -> None:
    docs = (REPO / "docs" / "hooks.md").read_text()
    tests = {name for name, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    for hook in hookspecs.all_hook_names():
        section = re.search(rf"^## `{hook}\(.*?(?=^## |\Z)", docs, re.S | re.M)
        assert section, f"docs/hooks.md has no section for {hook}"
        for word in ("When", "Arguments", "Example"):
            assert word in section.group(0), f"docs/hooks.md: {hook} lacks '{word}'"
        assert f"test_hook_{hook}" in tests, f"{hook} has no test_hook_{hook}"
        assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"


def test_example_plugin_is_discovered_through_its_entry_point(tmp_path: Path) -> None:
    """Install examples/ into a scratch folder and let a fresh `pv` find it by entry point."""
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO / "examples" / "apr-contracts-example-plugin")],
        capture_output=True, text=True, check=False,
    )
    assert build.returncode == 0, build.stderr
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "PV_EVIDENCE": str(tmp_path / "ev.sqlite")}
    listing = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "plugins", "--format", "json"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert '"apr-contracts-example-plugin"' in listing.stdout, listing.stderr
    assert "FALSIFY-EXAMPLE-WC-001" in listing.stdout
    contracts = str(REPO / "examples" / "apr-contracts-example-plugin" / "contracts")
    run = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "run", contracts, "--format", "json"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outcomes = [r["outcome"] for r in json.loads(run.stdout)["results"]]
    assert outcomes == ["HELD", "HELD"]
    broken = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "run", contracts, "--format", "json",
         "--engine", "wordcount=broken-off-by-one"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert broken.returncode == 1
    assert "FALSIFIED" in [r["outcome"] for r in json.loads(broken.stdout)["results"]]
    blocked = subprocess.run(
        [sys.executable, "-m", "apr_contracts.cli", "plugins", "--format", "json", "-p", "no:example"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert "FALSIFY-EXAMPLE-WC-001" not in blocked.stdout
