"""The HTML scoreboard in a real headless Chromium: the inline JS renders the table, the chart is drawn.

Needs Debian's `chromium` (CI installs it with apt-get); skips with the reason otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apr_contracts.atomic import write_text_atomic
from apr_contracts.evidence import EvidenceStore
from apr_contracts.outcomes import Outcome
from apr_contracts.report.html import render
from apr_contracts.scoreboard import build_scoreboard
from tests.core.pv_fixtures import all_held, demo_yaml, record_run, result, write_contract

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install -y chromium)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    good = write_contract(tmp / "good", demo_yaml())
    bad = write_contract(tmp / "bad", demo_yaml().replace("id: demo-adder-v1", "id: demo-broken-v1"),
                         name="demo-broken-v1.yaml")
    store = EvidenceStore(tmp / "e.sqlite")
    record_run(store, [result(good, "FALSIFY-DEMO-001", Outcome.HELD)])
    record_run(store, all_held(good))
    record_run(store, [*all_held(bad)[:2], result(bad, "FALSIFY-DEMO-003", Outcome.FALSIFIED,
                                                   measured={"seconds": 7.5}, message="seconds=7.5 > 2.0")])
    target = tmp / "scoreboard.html"
    write_text_atomic(target, render(build_scoreboard([good, bad], store, None)))
    return target


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_dom_rendered_by_inline_js(page: Path, tmp_path: Path) -> None:
    done = _chromium(page, tmp_path / "profile", "--dump-dom", "--virtual-time-budget=5000")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'data-rendered="2"' in dom  # the script ran to its end
    rows = re.findall(r'<tr class="contract-row" data-contract="([^"]+)" data-status="([^"]+)"', dom)
    assert rows == [("demo-adder-v1", "DISCHARGED"), ("demo-broken-v1", "FALSIFIED")]
    assert len(re.findall(r'<tr class="falsifier-row" data-falsifier="FALSIFY-DEMO-00\d"', dom)) == 6
    assert "seconds=7.5 (need &lt;= 2)" in dom
    history = re.findall(r'<tr class="history-row" data-contract="([^"]+)">(.*?)</tr>', dom)
    assert [name for name, _ in history] == ["demo-adder-v1", "demo-broken-v1"]
    assert all(cells.count('class="cell"') == 3 for _, cells in history)  # one cell per run
    assert '<svg id="status-chart"' in dom and dom.count('class="bar"') == 6  # 2 statuses in each of 3 runs


def test_screenshot(page: Path, tmp_path: Path) -> None:
    png = tmp_path / "scoreboard.png"
    done = _chromium(page, tmp_path / "profile", f"--screenshot={png}", "--window-size=1200,900",
                     "--hide-scrollbars", "--virtual-time-budget=5000")
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 900)
    assert len(data) > 20_000  # a blank page compresses to a few KB; tables, badges and a chart do not
    keep = Path("/tmp/pv-scoreboard-screenshot.png")
    shutil.copyfile(png, keep)  # left for people to look at after a run
