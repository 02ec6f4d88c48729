"""Declared optional dependencies: missing -> SKIPPED with the install command, never ERROR."""

from __future__ import annotations

from pathlib import Path

from apr_contracts.api import Requirement, falsifier
from apr_contracts.execute import execute
from apr_contracts.outcomes import Outcome
from apr_contracts.registry import specs_in_function

MISSING = Requirement("apr_no_such_module_xyz", "python -m pip install apr-no-such-module-xyz", why="the oracle")


def _spec(fn):  # type: ignore[no-untyped-def]
    return specs_in_function(fn)[0]


@falsifier("FALSIFY-REQ-DECLARED", requires=[MISSING])
def _declared(ctx):  # type: ignore[no-untyped-def]
    raise AssertionError("a falsifier whose requirement is missing must not run")


@falsifier("FALSIFY-REQ-LAZY", requires=[Requirement("json", "builtin"), MISSING])
def _lazy(ctx):  # type: ignore[no-untyped-def]
    return ctx.held()


@falsifier("FALSIFY-REQ-UNDECLARED")
def _undeclared(ctx):  # type: ignore[no-untyped-def]
    import apr_no_such_module_xyz  # noqa: F401

    return ctx.held()


@falsifier("FALSIFY-REQ-VANISHES", requires=[Requirement("json", "python -m pip install vanished")])
def _vanishes(ctx):  # type: ignore[no-untyped-def]
    # Found when checked, failing when imported (a broken optional install deep inside an engine).
    raise ModuleNotFoundError("No module named 'json.missing_part'", name="json.missing_part")


def test_missing_declared_requirement_is_skipped_with_the_install_command(tmp_path: Path) -> None:
    run = execute(_spec(_declared), engines={}, workspace=tmp_path)
    assert run.outcome is Outcome.SKIPPED
    assert "apr_no_such_module_xyz" in run.message and "the oracle" in run.message
    assert "python -m pip install apr-no-such-module-xyz" in run.message
    assert execute(_spec(_lazy), engines={}, workspace=tmp_path).outcome is Outcome.SKIPPED


def test_present_requirements_let_it_run(tmp_path: Path) -> None:
    ok = falsifier("FALSIFY-REQ-OK", requires=["json"])(lambda ctx: ctx.held())
    assert execute(_spec(ok), engines={}, workspace=tmp_path).outcome is Outcome.HELD


def test_declared_module_missing_at_import_time_is_skipped(tmp_path: Path) -> None:
    run = execute(_spec(_vanishes), engines={}, workspace=tmp_path)
    assert run.outcome is Outcome.SKIPPED and "python -m pip install vanished" in run.message


def test_undeclared_missing_module_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    run = execute(_spec(_undeclared), engines={}, workspace=tmp_path)
    assert run.outcome is Outcome.ERROR
    assert "not installed and not declared" in run.message
    assert "requires=[Requirement('apr_no_such_module_xyz'" in run.message
    assert "ModuleNotFoundError" in run.traceback


def test_a_bare_module_name_gets_a_pip_command() -> None:
    spec = _spec(falsifier("FALSIFY-REQ-BARE", requires=["some_pkg"])(lambda ctx: ctx.held()))
    assert spec.requires[0].install == "python -m pip install some-pkg"
