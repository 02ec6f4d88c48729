"""`pv validate`, `pv explain`, `pv schema` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apr_contracts.cli import main
from tests.core._shared import FIXTURES, REPO, reference_dir

HEAVY = ("torch", "tokenizers", "gguf", "transformers", "numpy", "safetensors")


def _pv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apr_contracts.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=120)


def test_json_shape_and_exit_code_one(capsys):
    code = main(["validate", "--no-strict", "--format", "json", str(FIXTURES / "invalid-schema.yaml")])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert set(data) == {"version", "issues", "summary"} and data["version"] == 1
    assert all(set(i) == {"code", "severity", "file", "line", "column", "message", "hint"} for i in data["issues"])
    assert data["summary"]["errors"] == 2 and data["summary"]["warnings"] == 2 and data["summary"]["contracts"] == 1


def test_exit_zero_with_only_warnings_and_skips(capsys):
    code = main(["validate", "--no-strict", str(FIXTURES / "suppressed.yaml"), str(FIXTURES / "not-a-contract.yaml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "PV-TEST-003" in out and "3 suppressed" in out and "skipped" in out and "not-a-contract.yaml" in out


def test_usage_errors_exit_two(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert main(["validate", "--select", "PV-NOPE", str(FIXTURES)]) == 2
    bad = tmp_path / "pv.toml"
    bad.write_text("[tool.pv]\nstrict = 'yes'\n")
    assert main(["validate", "--config", str(bad), str(FIXTURES)]) == 2
    assert "strict must be a bool" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 0  # nothing wrong, but said out loud
    assert "no contracts found" in capsys.readouterr().err


def test_config_from_pyproject_strict_select_and_paths(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "c.yaml").write_text((FIXTURES / "suppressed.yaml").read_text())
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\nstrict = true\npaths = ["contracts"]\nignore = ["PV-ID-008", "PV-LEVEL-004", "PV-TEST-007"]\n')
    r = _pv("validate", "--format", "json", cwd=tmp_path)
    data = json.loads(r.stdout)
    assert r.returncode == 1, r.stderr
    assert [(i["code"], i["severity"]) for i in data["issues"]] == [("PV-TEST-003", "error")]
    assert data["summary"]["strict"] is True and data["summary"]["config"].endswith("pyproject.toml")
    r = _pv("validate", "--no-strict", "contracts", cwd=tmp_path)
    assert r.returncode == 0, r.stdout


def test_github_annotations(capsys):
    main(["validate", "--no-strict", "--format", "github", str(FIXTURES / "invalid-schema.yaml")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("::error file=") and ",line=6,col=3,title=PV-SCHEMA-001::" in lines[2]
    assert lines[1].startswith("::warning file=") and "%0A" in lines[2]  # the hint is on the annotation's second line


def test_explain(capsys):
    assert main(["explain", "PV-TEST-003"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PV-TEST-003: falsifier whose only test is prose") and "error under --strict" in out
    assert main(["explain", "PV-NOPE-999"]) == 2
    assert main(["explain", "--list", "--format", "json", "--no-plugins"]) == 0
    codes = [r["code"] for r in json.loads(capsys.readouterr().out)["rules"]]
    assert {"PV-YAML-003", "PV-SCHEMA-003", "PV-ID-004", "PV-REF-002", "PV-DRIFT-002", "PV-LEVEL-003"} <= set(codes)


def test_docs_list_every_builtin_code():
    from apr_contracts.rules.builtin import BUILTIN_RULES

    doc = (REPO / "docs" / "rules.md").read_text()
    missing = [r.code for r in BUILTIN_RULES if f"`{r.code}`" not in doc]
    assert missing == []


def test_reference_corpus_via_cli_has_no_narrowness_error():
    ref = reference_dir()
    r = _pv("validate", "--no-strict", "--format", "json", str(ref))
    data = json.loads(r.stdout)
    assert r.returncode in (0, 1), r.stderr
    assert data["summary"]["contracts"] == 26  # versions/ holds 2 archived revisions, skipped
    assert [Path(s["file"]).parent.name for s in data["summary"]["skipped"]] == ["versions", "versions"]
    codes = {i["code"] for i in data["issues"]}
    assert not {c for c in codes if c.startswith(("PV-SCHEMA-001", "PV-SCHEMA-002", "PV-YAML", "PV-INTERNAL"))}


DRIVER = textwrap.dedent("""
    import json, sys
    from apr_contracts.cli import main
    code = main(["validate", "--format", "json", *sys.argv[1:]])
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
    print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
""")


@pytest.mark.parametrize("plugins", [True, False], ids=["with-plugins", "no-plugins"])
def test_validate_imports_no_heavy_module(plugins, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(heavy=set(HEAVY)))
    args = [str(FIXTURES / "valid-minimal.yaml")] + ([] if plugins else ["--no-plugins"])
    r = subprocess.run([sys.executable, str(driver), *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    report = json.loads(r.stderr.strip().splitlines()[-1])
    assert report["heavy"] == [] and report["code"] == 0, r.stderr


def test_config_file_with_plain_keys(tmp_path, capsys):
    cfg = tmp_path / "pv.toml"
    cfg.write_text('select = ["PV-SCHEMA-003"]\nmax_file_bytes = 100000\n')
    assert main(["validate", "--config", str(cfg), "--format", "json", str(FIXTURES / "invalid-schema.yaml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["code"] for i in data["issues"]] == ["PV-SCHEMA-003"] and data["summary"]["config"] == str(cfg)
    # command-line options override the file: select and size limit both replaced
    assert main(["validate", "--config", str(cfg), "--select", "PV-YAML", "--max-file-bytes", "10",
                 str(FIXTURES / "invalid-schema.yaml")]) == 1
    assert "PV-YAML-002" in capsys.readouterr().out
    cfg.write_text("max_file_bytes = 10\n")  # too small for the file: PV-YAML-002, an error
    assert main(["validate", "--config", str(cfg), str(FIXTURES / "invalid-schema.yaml")]) == 1
    assert "PV-YAML-002" in capsys.readouterr().out


def test_changed_files_are_checked_against_the_projects_other_contracts(tmp_path):
    """pre-commit passes only the changed files: an id they reuse from an unchanged contract is still an
    error (reported on the changed file only); --no-context compares the given files only with each other."""
    def contract(cid: str, fid: str, extra: str = "") -> str:
        return textwrap.dedent(f"""\
            metadata:
              id: {cid}
              version: 1.0.0
              description: d
            falsification_tests:
            - id: {fid}
              rule: r
              prediction: p
              if_fails: f
            {extra}""")

    (tmp_path / "contracts").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\npaths = ["contracts"]\n')
    (tmp_path / "contracts" / "old.yaml").write_text(contract("old-v1", "FALSIFY-OLD-001", "unknown_key: 1\n"))
    (tmp_path / "contracts" / "new.yaml").write_text(contract("old-v1", "FALSIFY-OLD-001"))
    r = _pv("validate", "--format", "json", "contracts/new.yaml", cwd=tmp_path)
    issues = json.loads(r.stdout)["issues"]
    assert r.returncode == 1, r.stdout
    assert sorted(i["code"] for i in issues if i["severity"] == "error") == ["PV-ID-007"]
    # The same falsifier id in two contracts is allowed (ids are scoped per contract) and only noted.
    assert [i["severity"] for i in issues if i["code"] == "PV-ID-004"] == ["info"]
    assert {Path(i["file"]).name for i in issues} == {"new.yaml"}  # old.yaml's own warnings are not reported
    assert all("old.yaml" in i["message"] for i in issues if i["code"] in ("PV-ID-004", "PV-ID-007"))
    r = _pv("validate", "--format", "json", "--no-context", "contracts/new.yaml", cwd=tmp_path)
    assert r.returncode == 0 and not [i for i in json.loads(r.stdout)["issues"] if i["severity"] == "error"], r.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
@pytest.mark.parametrize("broken, line", [
    ("metadata:\n  id: x-v1\nfalsification_tests: [\n  - id: A\n", 4),  # unclosed bracket
    ("metadata:\n  id: x-v1\n   version: 1.0.0\nfalsification_tests: []\n", 3),  # bad indentation
])
def test_a_yaml_syntax_error_is_not_reported_as_no_contracts(tmp_path, capsys, fmt, broken, line):
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "bad.yaml").write_text(broken, encoding="utf-8")
    code = main(["validate", "--no-strict", "--format", fmt, str(folder)])
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert code == 1
    assert "no contracts found" not in said
    bad = str(folder / "bad.yaml")
    if fmt == "json":
        data = json.loads(captured.out)
        (issue,) = data["issues"]
        assert (issue["code"], issue["file"], issue["line"]) == ("PV-YAML-001", bad, line) and issue["hint"]
        assert data["summary"]["errors"] == 1 and data["summary"]["files_with_errors"] == [bad]
    elif fmt == "github":
        assert f"::error file={bad.replace(':', '%3A')},line={line}," in captured.out
        assert f"1 errors (in {bad})" in captured.out
    else:
        assert captured.out.startswith(f"{bad}:{line}:") and "PV-YAML-001 not valid YAML" in captured.out
        assert "hint: " in captured.out and f"1 errors (in {bad})" in captured.out


def test_a_folder_without_contracts_still_warns(tmp_path, capsys):
    (tmp_path / "notes.yaml").write_text("just: data\n", encoding="utf-8")
    assert main(["validate", "--no-strict", str(tmp_path)]) == 0
    assert "no contracts found" in capsys.readouterr().err
