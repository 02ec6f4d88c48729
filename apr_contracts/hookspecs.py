"""The hooks apr-contracts calls on plugins.

A plugin is any module or object with functions marked ``@hookimpl``; third-party
plugins are found through the entry-point group ``apr_contracts``. Registration is
*by id* through the registries handed to the hooks, never "first result wins".
Each hook below is documented in ``docs/hooks.md`` (checked by a meta-test).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

PROJECT = "apr_contracts"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    from apr_contracts.mutation.catalogue import MutantRegistry
    from apr_contracts.registry import EngineRegistry, FalsifierRegistry, ReporterRegistry
    from apr_contracts.results import Result, RunSummary
    from apr_contracts.rules.base import RuleRegistry


@hookspec
def apr_register_engines(registry: EngineRegistry) -> None:
    """Register engine kinds and engine implementations.

    Called once when the plugin manager is set up, before any falsifier runs.

    :param registry: call ``registry.add_kind(kind, protocol)`` to declare a new
        kind with its :class:`typing.Protocol`, and ``registry.add(kind, name,
        factory, default=False)`` to provide an implementation; ``factory()`` is
        called lazily, only when a falsifier asks for that kind.

    Example::

        @hookimpl
        def apr_register_engines(registry):
            registry.add("tokenizer", "my-fast-bpe", MyTokenizer)
    """


@hookspec
def apr_register_mutants(registry: MutantRegistry) -> None:
    """Register mutants: deliberately broken engines, each with one realistic defect.

    Called once at set-up, after ``apr_register_engines`` (a mutant's kind must be registered
    by then). Each mutant also becomes an engine (``pv run --engine KIND=NAME``), hidden from
    ``pv plugins`` unless ``--mutants``; ``pv mutants`` runs falsifiers against them.

    :param registry: ``registry.add_table(kind, package, table)`` with a table of
        ``name -> mutant("module:Class" or ".sub:Class", *caught_by, equivalent=None,
        description=None)``; or ``registry.add(name, kind, target, breaks=None, caught_by=(),
        equivalent=None, description=None)`` for one. ``caught_by`` entries are
        ``(contract id, falsifier id)`` or ``"CONTRACT::FALSIFIER"``; ``equivalent`` is the
        reason no falsifier can tell the mutant from the real engine; ``breaks`` defaults to
        the kind's default engine; the description defaults to the class docstring's first
        line. Classes are imported only when a mutant is built or described.

    Example::

        MUTANTS = {"broken-off-by-one": mutant(".mutants:OffByOne", "wordcount-v1::FALSIFY-WC-001")}

        @hookimpl
        def apr_register_mutants(registry):
            registry.add_table("wordcount", "my_plugin", MUTANTS)
    """


@hookspec
def apr_register_falsifiers(registry: FalsifierRegistry) -> None:
    """Register falsifier implementations by id.

    Called once at set-up. Registering an id that another plugin already
    registered is an error naming both plugins.

    :param registry: ``registry.add_module(module)`` adds every function of the
        module decorated with :func:`apr_contracts.falsifier`; ``registry.add(fn)``
        adds one.

    Example::

        @hookimpl
        def apr_register_falsifiers(registry):
            registry.add_module(sys.modules[__name__])
    """


@hookspec
def apr_register_rules(registry: RuleRegistry) -> None:
    """Register extra validation rules for ``pv validate``.

    Called when ``pv validate`` builds its rule set.

    :param registry: ``registry.add(rule)`` with a :class:`apr_contracts.rules.base.Rule`
        whose ``code`` is unique (``PV-<AREA>-<NNN>``, or a plugin prefix).

    Example::

        @hookimpl
        def apr_register_rules(registry):
            registry.add(Rule(code="ACME-001", ...))
    """


@hookspec
def apr_register_reporters(registry: ReporterRegistry) -> None:
    """Register extra scoreboard output formats.

    Called when ``pv scoreboard`` resolves ``--format``.

    :param registry: ``registry.add(name, render)`` where ``render(board) -> str``
        receives the computed :class:`apr_contracts.scoreboard.Scoreboard`.

    Example::

        @hookimpl
        def apr_register_reporters(registry):
            registry.add("csv", lambda board: ...)
    """


@hookspec
def apr_result(result: Result) -> None:
    """Notification: one falsifier finished (any outcome) during ``pv run``.

    Called in the ``pv run`` process, in completion order, after the result is
    stored in the evidence database.

    :param result: the :class:`apr_contracts.results.Result` (id, outcome, measured
        values, message, duration).

    Example::

        @hookimpl
        def apr_result(result):
            print(result.falsifier_id, result.outcome.value)
    """


@hookspec
def apr_session_finish(summary: RunSummary, exit_code: int) -> None:
    """Notification: ``pv run`` finished.

    :param summary: every result of the run, counts per outcome, the run id.
    :param exit_code: the exit code ``pv run`` is about to return.

    Example::

        @hookimpl
        def apr_session_finish(summary, exit_code):
            notify_chat(summary.counts)
    """


def all_hook_names() -> list[str]:
    return sorted(name for name, value in globals().items() if name.startswith("apr_") and callable(value))


