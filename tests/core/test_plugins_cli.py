"""`pv plugins`: grouped by distribution (the user's first), mutants hidden, a name filter, and `--where ID`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from apr_contracts import hookimpl
from apr_contracts.cli import main as pv
from apr_contracts.plugins import PluginSettings, load_plugins
from apr_contracts.registry import EngineRegistry, RegistryError
from engines.exporter.plugin import MUTANTS as EXPORTER_MUTANTS
from engines.tokenizer.plugin import MUTANTS as TOKENIZER_MUTANTS
from engines.trainer.plugin import MUTANTS as TRAINER_MUTANTS

REPO = Path(__file__).resolve().parents[2]
HIDDEN = {"exporter": len(EXPORTER_MUTANTS), "tokenizer": len(TOKENIZER_MUTANTS), "trainer": len(TRAINER_MUTANTS)}
ALL_MUTANTS = {f"{kind}={name}" for kind, names in
               (("exporter", EXPORTER_MUTANTS), ("tokenizer", TOKENIZER_MUTANTS), ("trainer", TRAINER_MUTANTS))
               for name in names}


@dataclass
class FakeEntryPoint:
    """What load_plugins reads from an importlib.metadata entry point: a name, its distribution, load()."""

    name: str
    dist: Any
    plugin: Any

    def load(self) -> Any:
        return self.plugin


class WordCount:
    """A third-party plugin: one engine kind with a real engine and a mutant, one falsifier, one declaration."""

    @hookimpl
    def apr_register_engines(self, registry: EngineRegistry) -> None:
        registry.add("wordcount", "split", dict, default=True)
        registry.add("wordcount", "off-by-one", dict, mutant=True)

    @hookimpl
    def apr_register_falsifiers(self, registry: Any) -> None:
        from apr_contracts import falsifier

        @falsifier("FALSIFY-WC-001", contract="wc-v1")
        def counts(ctx):  # type: ignore[no-untyped-def]
            return ctx.held()

        registry.add(counts)
        registry.declare_out_of_scope("FALSIFY-WC-009", "needs the [bold]other[/bold] project's [red]book[/]",
                                      contract="wc-v1")


def _entry_points(monkeypatch: pytest.MonkeyPatch, *eps: FakeEntryPoint) -> None:
    monkeypatch.delenv("PV_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setattr("apr_contracts.plugins.entry_points", lambda group: list(eps))


def _dist(name: str, version: str) -> Any:
    return SimpleNamespace(name=name, version=version)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = pv(["plugins", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = _run(capsys, *argv, "--format", "json")
    return code, json.loads(out)


@pytest.fixture()
def no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PV_DISABLE_PLUGIN_AUTOLOAD", "1")


# --- grouping -------------------------------------------------------------------------------------------


def test_the_users_distributions_come_first_then_ours(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "local_plug.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    _entry_points(monkeypatch, FakeEntryPoint("zz", _dist("zeta-plugins", "2.0"), WordCount()),
                  FakeEntryPoint("aa", _dist("acme-contracts", "1.0"), SimpleNamespace()))
    code, out, _ = _run(capsys, "-p", "local_plug")
    assert code == 0
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    groups = [h for h in headers if not re.match(r"engine kinds: |\d+ mutant engines hidden: ", h)]
    assert groups[0] == "acme-contracts 1.0"
    assert groups[1] == "zeta-plugins 2.0"
    assert groups[2] == "(command line)"
    assert re.fullmatch(r"apr-contracts \S+ \(built-in\)", groups[3]) and len(groups) == 4
    lines = out.splitlines()
    zeta = lines.index("zeta-plugins 2.0")
    assert lines[zeta + 1] == "  zz"  # the plugin sits under its distribution, with what it provides
    assert lines[zeta + 2] == "    hooks: register_engines, register_falsifiers"
    assert lines[zeta + 3] == "    engines (1, 1 mutants hidden): wordcount=split (default)"
    assert lines[zeta + 4] == "    falsifiers (1): FALSIFY-WC-001 (wc-v1)"
    builtin = lines.index(groups[3])
    assert lines.index("  falsifiers.aprender.gqa_kernel") > builtin and lines.index("  engines.tokenizer") > builtin


def test_one_id_bound_for_two_contracts_is_listed_once_per_contract(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, no_autoload: None
) -> None:
    _module(tmp_path, monkeypatch, "two_contracts", STACKED)
    code, out, _ = _run(capsys, "-p", "two_contracts", "two_contracts")
    assert code == 0
    assert "    falsifiers (2): FALSIFY-ST-001 (alpha-v1), FALSIFY-ST-001 (beta-v1)" in out.splitlines()


# --- mutants --------------------------------------------------------------------------------------------


def test_builtin_broken_engines_are_flagged_mutant_and_the_real_ones_are_not() -> None:
    engines = load_plugins(PluginSettings(autoload=False)).engines
    flagged = {f"{kind}={name}" for kind, by_name in engines.engines.items()
               for name, spec in by_name.items() if spec.mutant}
    assert flagged == ALL_MUTANTS
    assert all(name.split("=")[1].startswith("broken-") for name in flagged)
    assert not any(engines.choose(kind).mutant for kind in ("tokenizer", "trainer", "exporter"))


def test_a_mutant_cannot_be_the_default() -> None:
    registry = EngineRegistry(current_plugin="mine")
    with pytest.raises(RegistryError, match=r"wordcount=bad \(plugin 'mine'\).*drop default=True"):
        registry.add("wordcount", "bad", dict, default=True, mutant=True)


def test_mutants_are_counted_not_listed_unless_asked(capsys: pytest.CaptureFixture[str], no_autoload: None) -> None:
    code, out, _ = _run(capsys)
    assert code == 0
    assert "broken-" not in out
    per_kind = ", ".join(f"{n} {kind}" for kind, n in sorted(HIDDEN.items()))
    assert f"{sum(HIDDEN.values())} mutant engines hidden: {per_kind} (--mutants lists them)" in out.splitlines()
    assert "    engines (1, 51 mutants hidden): tokenizer=hf (default)".replace("51", str(HIDDEN["tokenizer"])) in out

    code, out, _ = _run(capsys, "--mutants")
    assert code == 0
    listed = set(re.findall(r"\b(\w+=broken-[\w-]+)", out))
    assert listed == ALL_MUTANTS
    assert "mutant engines hidden" not in out
    assert f"    mutant engines ({HIDDEN['trainer']}): trainer=broken-" in out


def test_json_lists_mutants_only_with_the_flag_and_marks_every_engine(
    capsys: pytest.CaptureFixture[str], no_autoload: None
) -> None:
    _, hidden = _json(capsys)
    engines = [e for p in hidden["plugins"] for e in p["engines"]]
    assert {f"{e['kind']}={e['name']}" for e in engines} == {"tokenizer=hf", "trainer=torch", "exporter=gguf"}
    assert all(e["mutant"] is False and e["default"] is True for e in engines)
    assert hidden["hidden_mutants"] == HIDDEN and hidden["mutants_listed"] is False
    assert hidden["engine_kinds"]["trainer"]["engines"] == ["torch"]
    assert hidden["engine_kinds"]["trainer"]["mutants"] == HIDDEN["trainer"]

    _, every = _json(capsys, "--mutants")
    engines = [e for p in every["plugins"] for e in p["engines"]]
    assert {f"{e['kind']}={e['name']}" for e in engines if e["mutant"]} == ALL_MUTANTS
    assert {e["name"] for e in engines if not e["mutant"]} == {"hf", "torch", "gguf"}
    assert every["hidden_mutants"] == {} and every["mutants_listed"] is True
    assert len(every["engine_kinds"]["exporter"]["engines"]) == HIDDEN["exporter"] + 1


# --- the name filter ------------------------------------------------------------------------------------


def test_pattern_keeps_plugins_by_name_or_distribution(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _entry_points(monkeypatch, FakeEntryPoint("wc", _dist("acme-contracts", "1.0"), WordCount()))
    _, only = _json(capsys, "GQA_KERNEL")  # substring of the plugin name, any case
    assert [p["name"] for p in only["plugins"]] == ["falsifiers.aprender.gqa_kernel"]
    assert list(only["engine_kinds"]) == []  # it registers no engine
    _, by_dist = _json(capsys, "ACME")
    assert [p["name"] for p in by_dist["plugins"]] == ["wc"]
    assert by_dist["distributions"] == [{"name": "acme-contracts", "version": "1.0", "builtin": False,
                                         "plugins": ["wc"]}]
    assert list(by_dist["engine_kinds"]) == ["wordcount"]
    _, globbed = _json(capsys, "engines.*")
    assert [p["name"] for p in globbed["plugins"]] == ["engines.tokenizer", "engines.trainer", "engines.exporter"]
    code, out, _ = _run(capsys, "engines.t*")
    assert code == 0
    assert "  engines.tokenizer" in out and "  engines.trainer" in out and "engines.exporter" not in out
    assert "gqa" not in out and "wordcount" not in out


def test_a_pattern_matching_nothing_exits_1_and_says_so(
    capsys: pytest.CaptureFixture[str], no_autoload: None
) -> None:
    code, out, err = _run(capsys, "no-such-plugin")
    assert code == 1 and out == ""
    assert "'no-such-plugin'" in err and "apr-contracts (" in err and "without a pattern" in err


# --- --where ID -----------------------------------------------------------------------------------------


STACKED = '''
import sys
from apr_contracts import falsifier, hookimpl


@falsifier(
    "FALSIFY-ST-001",
    contract="alpha-v1",
)
@falsifier("FALSIFY-ST-001", contract="beta-v1")
def one_function_two_contracts(ctx):
    return ctx.held()


@hookimpl
def apr_register_falsifiers(registry):
    registry.add_module(sys.modules[__name__])
    registry.declare_out_of_scope("FALSIFY-ST-001", "gamma's [bold]GPU[/] claim", contract="gamma-v1")
'''


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_where_points_at_the_decorator_of_a_builtin_falsifier(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_autoload: None
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = _run(capsys, "--where", "FALSIFY-GQ-003")
    assert code == 0
    (line,) = out.splitlines()
    match = re.fullmatch(r"(\S+):(\d+)  falsifiers\.aprender\.gqa_kernel:(\w+)  "
                         r"\(contract gqa-kernel-v1, plugin falsifiers\.aprender\.gqa_kernel\)", line)
    assert match, line
    assert match.group(1) == "falsifiers/aprender/gqa_kernel.py"  # relative: the current directory holds it
    source = (REPO / match.group(1)).read_text().splitlines()[int(match.group(2)) - 1]
    assert source.startswith("@falsifier(") and '"FALSIFY-GQ-003"' in source
    assert f"def {match.group(3)}(" in (REPO / match.group(1)).read_text()


def test_where_gives_absolute_paths_outside_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, no_autoload: None
) -> None:
    monkeypatch.chdir(tmp_path)
    _, payload = _json(capsys, "--where", "FALSIFY-GQ-003")
    (site,) = payload["sites"]
    assert Path(site["path"]).is_absolute() and Path(site["path"]) == REPO / "falsifiers" / "aprender" / "gqa_kernel.py"


def test_where_tells_stacked_decorators_apart_and_finds_the_out_of_scope_declaration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, no_autoload: None
) -> None:
    path = _module(tmp_path, monkeypatch, "stacked_plug", STACKED)
    monkeypatch.chdir(tmp_path)
    source = path.read_text()
    code, payload = _json(capsys, "-p", "stacked_plug", "--where", "falsify-st-001")  # any case
    assert code == 0
    by_contract = {s["contract"]: s for s in payload["sites"]}
    assert set(by_contract) == {"alpha-v1", "beta-v1", "gamma-v1"}
    assert by_contract["alpha-v1"]["line"] == _line_of(source, "@falsifier(") == 6  # the multi-line one
    assert by_contract["beta-v1"]["line"] == _line_of(source, 'contract="beta-v1"')
    assert by_contract["alpha-v1"]["qualname"] == "stacked_plug:one_function_two_contracts"
    oos = by_contract["gamma-v1"]
    assert (oos["kind"], oos["path"], oos["plugin"]) == ("out_of_scope", "stacked_plug.py", "stacked_plug")
    assert oos["line"] == _line_of(source, "declare_out_of_scope")
    assert oos["reason"] == "gamma's [bold]GPU[/] claim"
    assert all(s["kind"] == "implementation" for c, s in by_contract.items() if c != "gamma-v1")

    code, out, _ = _run(capsys, "-p", "stacked_plug", "--where", "FALSIFY-ST-001")
    assert code == 0
    assert (f"stacked_plug.py:{oos['line']}  declared out of scope  (contract gamma-v1, plugin stacked_plug): "
            "gamma's [bold]GPU[/] claim") in out.splitlines()  # markup from a plugin, printed as written
    assert "stacked_plug.py:6  stacked_plug:one_function_two_contracts  (contract alpha-v1, plugin stacked_plug)" in out


def test_where_for_an_unknown_id_exits_1_and_suggests_close_ones(
    capsys: pytest.CaptureFixture[str], no_autoload: None
) -> None:
    code, out, err = _run(capsys, "--where", "FALSIFY-GQ-03")
    assert code == 1 and out == ""
    assert "FALSIFY-GQ-03" in err and "no loaded plugin implements it" in err
    assert "did you mean FALSIFY-GQ-003" in err
    code, payload = _json(capsys, "--where", "FALSIFY-GQ-03")
    assert code == 1
    assert payload["sites"] == [] and payload["suggestions"][0] == "FALSIFY-GQ-003"
    code, _, err = _run(capsys, "--where", "NOTHING-LIKE-THIS")
    assert code == 1 and "`pv plugins` lists every falsifier id" in err


def test_where_respects_the_pattern(capsys: pytest.CaptureFixture[str], no_autoload: None) -> None:
    code, out, err = _run(capsys, "engines", "--where", "FALSIFY-GQ-003")
    assert code == 1 and out == ""
    assert "only plugins not matching 'engines' do" in err


# --- JSON and plain text --------------------------------------------------------------------------------


def test_json_shape(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _entry_points(monkeypatch, FakeEntryPoint("wc", _dist("acme-contracts", "1.0"), WordCount()))
    code, payload = _json(capsys)
    assert code == 0
    assert set(payload) == {"version", "mutants_listed", "pattern", "distributions", "plugins", "hidden_mutants",
                            "engine_kinds", "failures"}
    assert payload["version"] == 2
    assert [d["name"] for d in payload["distributions"]] == ["acme-contracts", "apr-contracts"]
    assert payload["plugins"][0]["distribution"] == "acme-contracts"  # the user's first
    (wc,) = [p for p in payload["plugins"] if p["name"] == "wc"]
    assert wc == {
        "name": "wc", "distribution": "acme-contracts", "version": "1.0", "builtin": False,
        "hooks": ["apr_register_engines", "apr_register_falsifiers"],
        "engines": [{"kind": "wordcount", "name": "split", "default": True, "mutant": False}],
        "hidden_mutants": {"wordcount": 1},
        "falsifiers": [{"id": "FALSIFY-WC-001", "contract": "wc-v1", "level": "algorithm",
                        "qualname": f"{__name__}:WordCount.apr_register_falsifiers.<locals>.counts"}],
        "out_of_scope": [{"id": "FALSIFY-WC-009", "contract": "wc-v1",
                          "reason": "needs the [bold]other[/bold] project's [red]book[/]"}],
    }
    assert payload["engine_kinds"]["wordcount"] == {"protocol": None, "engines": ["split"], "mutants": 1,
                                                    "default": "split"}


def test_markup_in_a_plugins_name_and_reason_is_printed_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _entry_points(monkeypatch, FakeEntryPoint("[bold]wc[/bold]", _dist("[red]acme[/]", "1.0"), WordCount()))
    code, out, _ = _run(capsys, "acme")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "[red]acme[/] 1.0"
    assert lines[1] == "  [bold]wc[/bold]"
    assert "      FALSIFY-WC-009 (wc-v1): needs the [bold]other[/bold] project's [red]book[/]" in lines


HEAVY = ("torch", "tokenizers", "gguf", "transformers", "numpy", "safetensors")
DRIVER = """
import io, json, sys
from contextlib import redirect_stdout
from apr_contracts.cli import main
with redirect_stdout(io.StringIO()):
    codes = [main(["plugins", "--mutants"]), main(["plugins", "--where", "FALSIFY-GQ-003", "--format", "json"])]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"codes": codes, "heavy": heavy}}))
"""


def test_pv_plugins_imports_no_heavy_module(tmp_path: Path) -> None:
    """Listing and --where load every plugin module but none of the engines' libraries (torch...)."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(heavy=set(HEAVY)))
    env = {"PATH": "/usr/bin:/bin", "PV_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"codes": [0, 0], "heavy": []}, r.stderr
