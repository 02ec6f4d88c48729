"""The plugin manager: built-in plugins listed explicitly, third-party ones from entry points.

A plugin that fails to import, or raises inside a registration hook, is recorded
in :attr:`Plugins.failures` with its distribution name and skipped; with
``strict=True`` the error is re-raised instead. Nothing here imports torch:
engine plugins keep heavy imports inside functions.
"""

from __future__ import annotations

import copy
import importlib
import os
import traceback
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any

import pluggy

from apr_contracts import hookspecs
from apr_contracts.mutation.catalogue import MutantRegistry, MutantSpec
from apr_contracts.registry import EngineRegistry, EngineSpec, FalsifierRegistry, ReporterRegistry

# Built-in plugins, by (plugin name, module). Order matters only for display.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("engines.tokenizer", "engines.tokenizer.plugin"),
    ("engines.trainer", "engines.trainer.plugin"),
    ("engines.exporter", "engines.exporter.plugin"),
    # One falsifier plugin per contract family, named after the contract id without its version,
    # so FALSIFY-... of contract X-v1 is found in falsifiers/X, or falsifiers/aprender/X for a
    # reference contract (tests/falsifiers/test_layout.py checks this). Our own contracts' families:
    *((f"falsifiers.{family}", f"falsifiers.{family}") for family in (
        "apr_cli_tokenize_import_hf",
        "apr_cli_tokenize_encode_corpus",
        "apr_pretrain_arch_polymorphic",
        "apr_pretrain_chinchilla_gate",
        "apr_pretrain_from_init",
        "apr_export_gguf",
        "apr_lifecycle",
    )),
    # Families binding only the reference contracts of another project
    # (../shared/reference-contracts/aprender) live apart, in falsifiers/aprender/X; named after the
    # contract file's stem where the contract id is not `<name>-vN`.
    *((f"falsifiers.aprender.{family}", f"falsifiers.aprender.{family}") for family in (
        "apr_cli_model_1_ship_via_cpu",
        "apr_audit_ship_two",
        "absolute_position",
        "activation_kernel",
        "alibi_slopes",
        "apr_architecture_schema",
        "apr_bench_receipt",
        "apr_cli_qa",
        "apr_cli_tokenize_encode_corpus_parquet",
        "apr_convert_hf_arch",
        "apr_export_num_layers",
        "apr_pretrain_val_shard",
        "apr_tokenize_parallel_bpe",
        "apr_tokenize_repair_manifest",
        "chinchilla_gate",
        "cosine_lr_schedule",
        "data_feed",
        "gqa_kernel",
        "pretokenize_bin",
    )),
)

BUILTIN_DIST = "apr-contracts"
BUILTIN_FALSIFIERS_PREFIX = "falsifiers."  # the families `builtins = false` / --no-builtins leave out
AUTOLOAD_ENV = "PV_DISABLE_PLUGIN_AUTOLOAD"  # like pytest's PYTEST_DISABLE_PLUGIN_AUTOLOAD


@dataclass(frozen=True)
class PluginSettings:
    """How to assemble the plugin set. Mirrors `pv -p no:NAME`, `--plugins`, `--no-autoload`,
    `--no-builtins`, and `[tool.pv] plugins` / `builtins` (apr_contracts.project)."""

    autoload: bool = True
    allow: tuple[str, ...] | None = None  # when set, only these third-party plugins load
    block: tuple[str, ...] = ()
    strict: bool = False
    extra_modules: tuple[str, ...] = ()  # `-p module.path`: load this module as a plugin
    project_modules: tuple[str, ...] = ()  # `[tool.pv] plugins`: loaded like `-p`, labelled as such
    builtins: bool = True  # False: the built-in falsifier families are not loaded (engines still are)

    @classmethod
    def from_env(cls, **overrides: Any) -> PluginSettings:
        settings = cls(autoload=not os.environ.get(AUTOLOAD_ENV))
        return cls(**{**settings.__dict__, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return {
            "autoload": self.autoload,
            "allow": list(self.allow) if self.allow is not None else None,
            "block": list(self.block),
            "strict": self.strict,
            "extra_modules": list(self.extra_modules),
            "project_modules": list(self.project_modules),
            "builtins": self.builtins,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PluginSettings:
        allow = data.get("allow")
        return cls(
            autoload=bool(data.get("autoload", True)),
            allow=tuple(allow) if allow is not None else None,
            block=tuple(data.get("block", ())),
            strict=bool(data.get("strict", False)),
            extra_modules=tuple(data.get("extra_modules", ())),
            project_modules=tuple(data.get("project_modules", ())),
            builtins=bool(data.get("builtins", True)),
        )


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    distribution: str
    phase: str  # "import" or the hook name
    error: str
    traceback: str


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)  # "kind=name"
    falsifiers: list[str] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)  # "ID: reason" declared by this plugin


@dataclass
class Plugins:
    """The loaded plugin set and the registries it filled."""

    manager: pluggy.PluginManager
    settings: PluginSettings
    engines: EngineRegistry = field(default_factory=EngineRegistry)
    falsifiers: FalsifierRegistry = field(default_factory=FalsifierRegistry)
    reporters: ReporterRegistry = field(default_factory=ReporterRegistry)
    mutants: MutantRegistry = field(default_factory=MutantRegistry)
    failures: list[PluginFailure] = field(default_factory=list)
    info: dict[str, PluginInfo] = field(default_factory=dict)

    def register_with(self, hook_name: str, registry: Any) -> None:
        """Call ``hook_name(registry=...)`` on every plugin, one at a time, isolating failures.

        The registry must have a ``current_plugin`` attribute; a plugin that raises
        has its partial registrations rolled back.
        """
        caller = getattr(self.manager.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            snapshot = copy.copy(registry.__dict__)
            snapshot = {k: copy.copy(v) for k, v in snapshot.items()}
            registry.current_plugin = impl.plugin_name
            try:
                impl.function(registry=registry)
            except Exception as exc:
                registry.__dict__.update(snapshot)
                self._fail(impl.plugin_name, hook_name, exc)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a notification hook on every plugin; a raising plugin is reported, not fatal."""
        caller = getattr(self.manager.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:
                self._fail(impl.plugin_name, hook_name, exc)

    def _fail(self, plugin: str, phase: str, exc: BaseException) -> None:
        dist = self.info[plugin].distribution if plugin in self.info else "?"
        if self.settings.strict:
            raise PluginError(f"plugin {plugin!r} (distribution {dist}) failed in {phase}: {exc}") from exc
        self.failures.append(
            PluginFailure(plugin, dist, phase, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        )


class PluginError(Exception):
    """A plugin failed and strict mode asked for it to be fatal."""


def load_plugins(settings: PluginSettings | None = None) -> Plugins:
    """Assemble the plugin set and fill the engine, falsifier and reporter registries."""
    settings = settings or PluginSettings.from_env()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager=manager, settings=settings)
    blocked = set(settings.block)

    candidates: list[tuple[str, str, str, bool, Any]] = []  # name, dist, version, builtin, loader
    own_version = _version(BUILTIN_DIST)
    for name, module in BUILTIN_PLUGINS:
        if not settings.builtins and name.startswith(BUILTIN_FALSIFIERS_PREFIX):
            continue  # a project with its own falsifiers only; the engines stay for them to use
        candidates.append((name, BUILTIN_DIST, own_version, True, module))
    for module in settings.extra_modules:
        candidates.append((module, "(command line)", "", False, module))
    for module in settings.project_modules:
        candidates.append((module, "([tool.pv] plugins)", "", False, module))
    if settings.autoload:
        for ep in sorted(entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if settings.allow is not None and ep.name not in settings.allow:
                continue
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else ""
            candidates.append((ep.name, dist, version, False, ep))

    for name, dist, version, builtin, loader in candidates:
        if name in blocked or name in plugins.info:
            continue
        plugins.info[name] = PluginInfo(name, dist, version, builtin)
        try:
            obj = importlib.import_module(loader) if isinstance(loader, str) else loader.load()
        except ModuleNotFoundError as exc:
            if builtin and exc.name and exc.name.startswith(loader.rsplit(".", 1)[0]):
                del plugins.info[name]  # a built-in family not shipped in this build
                continue
            plugins._fail(name, "import", exc)
            continue
        except Exception as exc:
            plugins._fail(name, "import", exc)
            continue
        manager.register(obj, name=name)

    plugins.register_with("apr_register_engines", plugins.engines)
    plugins.register_with("apr_register_mutants", plugins.mutants)
    merge_mutants(plugins)
    plugins.register_with("apr_register_falsifiers", plugins.falsifiers)
    plugins.register_with("apr_register_reporters", plugins.reporters)
    _describe(plugins)
    return plugins


def merge_mutants(plugins: Plugins) -> None:
    """Make every registered mutant an engine too (so ``--engine KIND=NAME`` and the worker find
    it), and catalogue engines registered the older way (``registry.add(..., mutant=True)``)."""
    engines = plugins.engines
    for spec in plugins.mutants.specs():
        by_name = engines.engines.get(spec.kind)
        problem = ""
        if by_name is None:
            problem = (f"its engine kind {spec.kind!r} is not registered by any plugin; register the kind "
                       "in apr_register_engines (registry.add_kind) or fix the kind's name")
        elif spec.name in by_name:
            problem = f"an engine {spec.kind}={spec.name} is already registered by {by_name[spec.name].plugin!r}"
        elif spec.breaks and spec.breaks not in by_name:
            problem = f"it breaks {spec.kind}={spec.breaks}, which no plugin registers"
        if problem:
            del plugins.mutants.mutants[(spec.kind, spec.name)]
            plugins._fail(spec.plugin, "apr_register_mutants", ValueError(f"mutant {spec.kind}={spec.name}: {problem}"))
            continue
        assert by_name is not None
        if not spec.breaks:
            default = [s.name for s in by_name.values() if s.default and not s.mutant]
            spec = replace(spec, breaks=default[0] if default else "")
            plugins.mutants.mutants[(spec.kind, spec.name)] = spec
        by_name[spec.name] = EngineSpec(spec.kind, spec.name, spec.factory(), spec.plugin, mutant=True)
    for kind, by_name in engines.engines.items():
        for name, engine in by_name.items():
            if engine.mutant and plugins.mutants.get(kind, name) is None:
                default = [s.name for s in by_name.values() if s.default]
                plugins.mutants.mutants[(kind, name)] = MutantSpec(
                    name, kind, default[0] if default else "", engine.factory.__module__,
                    getattr(engine.factory, "__qualname__", name), engine.plugin, obj=engine.factory)


def _describe(plugins: Plugins) -> None:
    for name, info in plugins.info.items():
        plugin = plugins.manager.get_plugin(name)
        if plugin is None:
            continue
        info.hooks = sorted(
            caller.name for caller in plugins.manager.get_hookcallers(plugin) or []
        )
    for kind, by_name in plugins.engines.engines.items():
        for engine_name, spec in by_name.items():
            if spec.plugin in plugins.info:
                plugins.info[spec.plugin].engines.append(f"{kind}={engine_name}")
    for (contract, fid), declared in sorted(plugins.falsifiers.out_of_scope.items()):
        if declared.plugin in plugins.info:
            plugins.info[declared.plugin].out_of_scope.append(f"{fid} ({contract}): {declared.reason}")
    for fspec in plugins.falsifiers.specs():
        if fspec.plugin in plugins.info:
            plugins.info[fspec.plugin].falsifiers.append(fspec.id)
    for info in plugins.info.values():
        info.engines.sort()
        info.falsifiers.sort()


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "0+unknown"
