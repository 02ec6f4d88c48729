"""pytest plugin for falsifier authors (registered through the ``pytest11`` entry point).

Fixtures:

* ``run_falsifier`` — run one registered falsifier id in-process against chosen
  engines and get its :class:`apr_contracts.execute.Execution` back::

      def test_my_falsifier_catches_the_mutant(run_falsifier):
          assert run_falsifier("FALSIFY-X-001", engines={"tokenizer": "broken-x"}).outcome is Outcome.FALSIFIED
          assert run_falsifier("FALSIFY-X-001").outcome is Outcome.HELD

* ``pv_plugins`` — the loaded :class:`apr_contracts.plugins.Plugins` (built-ins + entry points).
* ``fake_engine`` — build a stand-in engine from keyword arguments, to exercise a falsifier
  without a real engine::

      def test_catches_an_empty_vocab(run_falsifier, fake_engine):
          engine = fake_engine(import_hf=lambda src, out, **kw: {"vocab_count": 0})
          assert run_falsifier("FALSIFY-X-002", engines={"tokenizer": engine}).outcome is Outcome.FALSIFIED
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from apr_contracts.execute import Execution, execute
from apr_contracts.outcomes import Level
from apr_contracts.plugins import Plugins, PluginSettings, load_plugins


@functools.lru_cache(maxsize=4)
def cached_plugins(settings: PluginSettings | None = None) -> Plugins:
    return load_plugins(settings or PluginSettings.from_env())


def engine_factories(
    plugins: Plugins, kinds: Sequence[str], choices: Mapping[str, Any] | None = None
) -> dict[str, Callable[[], Any]]:
    """Factories for ``kinds``: a name picks a registered engine, an object is used as is."""
    choices = dict(choices or {})
    factories: dict[str, Callable[[], Any]] = {}
    for kind in {*kinds, *choices}:
        choice = choices.get(kind)
        if choice is None or isinstance(choice, str):
            factories[kind] = plugins.engines.choose(kind, choice).create
        else:
            factories[kind] = functools.partial(lambda obj: obj, choice)
    return factories


def run_falsifier(
    falsifier_id: str,
    *,
    engines: Mapping[str, Any] | None = None,
    workspace: Path | None = None,
    seed: int = 0,
    thresholds: Sequence[Mapping[str, Any]] = (),
    params: Mapping[str, Any] | None = None,
    level: Level | None = None,
    plugins: Plugins | None = None,
    contract_file: Path | None = None,
    contract: str | None = None,
) -> Execution:
    """Run one falsifier in this process, the same way `pv run` does inside its worker.

    With ``contract_file`` and no ``thresholds``, a live falsifier is judged against the
    thresholds that contract declares for it (so a test never holds a stale copy of them), and
    the implementation bound for that contract's entry is the one run. ``contract`` names the
    contract id instead; with neither, ``falsifier_id`` must be implemented for one contract only.
    """
    plugins = plugins or cached_plugins()
    if contract_file is not None and not thresholds:
        thresholds = declared_thresholds(contract_file, falsifier_id)
    if contract is None and contract_file is not None:
        contract = declaring_contract(contract_file, falsifier_id)
    if contract is not None:
        spec = plugins.falsifiers.get(contract, falsifier_id)
        if spec is None:
            raise LookupError(plugins.falsifiers.lookup(contract, falsifier_id).reason
                              or f"{falsifier_id} of {contract} is declared out of scope, not implemented")
    else:
        spec = plugins.falsifiers.only(falsifier_id)  # LookupError when none, or several contracts
    factories = engine_factories(plugins, spec.engines, engines)
    if workspace is None:
        # No workspace asked for: a temporary one, removed afterwards like `pv run`'s.
        with tempfile.TemporaryDirectory(prefix=f"pv-{falsifier_id}-") as temporary:
            return run_falsifier(
                falsifier_id,
                engines=engines,
                workspace=Path(temporary),
                seed=seed,
                thresholds=thresholds,
                params=params,
                level=level,
                plugins=plugins,
                contract_file=contract_file,
                contract=contract,
            )
    return execute(
        spec,
        engines=factories,
        workspace=workspace,
        seed=seed,
        level=level,
        params=params,
        thresholds=thresholds,
        contract_file=contract_file,
    )


def declared_thresholds(contract_file: Path, falsifier_id: str) -> list[dict[str, Any]]:
    """The thresholds ``contract_file`` declares for ``falsifier_id`` (LookupError if it has no such entry)."""
    from apr_contracts.loader import load_contracts

    for contract in load_contracts([contract_file]).contracts:
        for entry in contract.falsifiers:
            if entry.id == falsifier_id:
                return list(entry.thresholds)
    raise LookupError(f"{contract_file}: declares no falsifier {falsifier_id}")


def declaring_contract(contract_file: Path, falsifier_id: str) -> str:
    """The id of the contract in ``contract_file`` that declares ``falsifier_id``."""
    from apr_contracts.loader import load_contracts

    for loaded in load_contracts([contract_file]).contracts:
        if any(entry.id == falsifier_id for entry in loaded.falsifiers):
            return loaded.id
    raise LookupError(f"{contract_file}: declares no falsifier {falsifier_id}")


class FakeEngine:
    """An engine made of the attributes and callables it is given (``name`` defaults to "fake")."""

    def __init__(self, name: str = "fake", **members: Any) -> None:
        self.name = name
        for key, value in members.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"FakeEngine({self.name!r})"


@pytest.fixture
def fake_engine() -> Callable[..., FakeEngine]:
    return FakeEngine


@pytest.fixture
def pv_plugins() -> Plugins:
    return cached_plugins()


@pytest.fixture(name="run_falsifier")
def run_falsifier_fixture(tmp_path: Path) -> Callable[..., Execution]:
    """``run_falsifier(id, engines={...}, ...)`` with a workspace under ``tmp_path``."""

    def run(falsifier_id: str, **kwargs: Any) -> Execution:
        workspace = kwargs.setdefault("workspace", tmp_path / falsifier_id)
        workspace.mkdir(parents=True, exist_ok=True)
        return run_falsifier(falsifier_id, **kwargs)

    return run


# -- tests as evidence (issue 17): @pytest.mark.falsifies, pv_measure, --pv-evidence ---------------

FALSIFIES_MARKER = "falsifies"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pv", "apr-contracts evidence")
    group.addoption(
        "--pv-evidence", nargs="?", const="", default=None, metavar="DB",
        help="record the outcomes of tests marked @pytest.mark.falsifies(ID, contract=...) (and those linked "
        "by a contract's test: field or falsify_* name) as evidence in DB (default: the project's "
        ".pv/evidence.sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "falsifies(ID, ..., contract=None): this test is evidence for falsifier ID "
        "(of contract CONTRACT): `pv evidence import` and `pytest --pv-evidence` link it")
    if config.getoption("--pv-evidence", default=None) is not None:
        from apr_contracts.testevidence.pytest_evidence import EvidenceRecorder

        config.pluginmanager.register(EvidenceRecorder(config), "pv-evidence-recorder")


def _link_values(ids: Sequence[str], contract: str | None) -> list[str]:
    return [f"{contract}::{fid}" if contract else str(fid) for fid in ids]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The link goes into user_properties, which --junitxml writes as <property name="falsifies">,
    # so an imported report carries it and `pv evidence import` needs no guess.
    for item in items:
        for mark in item.iter_markers(FALSIFIES_MARKER):
            if not mark.args:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.falsifies needs the falsifier id, "
                                        "e.g. @pytest.mark.falsifies('FALSIFY-X-001', contract='x-v1')")
            for value in _link_values([str(a) for a in mark.args], mark.kwargs.get("contract")):
                item.user_properties.append(("falsifies", value))


@pytest.fixture
def pv_measure(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``pv_measure(ID, contract=..., metric=value, ...)``: record measured values for a falsifier.

    They are judged against that falsifier's thresholds in its contract, as `pv run` judges a
    plugin's measurements: a live falsifier whose thresholds they meet is HELD at live level.
    """

    def measure(falsifier_id: str, contract: str | None = None, **metrics: float) -> None:
        node = request.node
        for value in _link_values([falsifier_id], contract):
            if ("falsifies", value) not in node.user_properties:
                node.user_properties.append(("falsifies", value))
        for metric, number in metrics.items():
            node.user_properties.append((f"pv-measured:{metric}", float(number)))

    return measure
