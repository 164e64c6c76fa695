"""The vendored chart library: the pinned version, licensed, drawing in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

from vibe.tests.browser import chromium, console_errors, save_screenshot
from vibe.trading_bot.web import CHART_LIBRARY, chart_library_js

REPO = Path(__file__).resolve().parents[4]


def test_the_vendored_library_is_the_version_package_json_pins_with_its_licence():
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]
    header = re.search(r"Lightweight Charts\S* v(\S+)", chart_library_js()[:400])
    assert header is not None and header.group(1) == pinned["lightweight-charts"]
    folder = CHART_LIBRARY.parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert pinned["lightweight-charts"] in (folder / "NOTICE").read_text()


def test_an_inlined_candlestick_chart_draws_from_file_url_offline(tmp_path: Path):
    bars = [  # SPY 2024-07-03, 13:30-13:34 UTC (../shared/data alpaca_chunks_2022-2024)
        {"time": 1720013400 + 60 * i, "open": o, "high": h, "low": lo, "close": c}
        for i, (o, h, lo, c) in enumerate(
            [(547.66, 548.04, 547.5, 547.93), (547.93, 548.21, 547.86, 548.08),
             (548.08, 548.32, 548.02, 548.27), (548.27, 548.3, 548.04, 548.1),
             (548.1, 548.28, 548.05, 548.25)]
        )
    ]  # fmt: skip
    page = tmp_path / "chart.html"
    page.write_text(
        "<!doctype html><html><body><div id='c' style='width:600px;height:300px'></div>"
        f"<script>{chart_library_js()}</script><script>"
        "const chart = LightweightCharts.createChart(document.getElementById('c'));"
        "const s = chart.addSeries(LightweightCharts.CandlestickSeries);"
        f"s.setData({json.dumps(bars)}); window.drawn = s.data().length;"
        "</script></body></html>"
    )
    with chromium() as driver:
        driver.get(page.as_uri())
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.drawn") == 5)
        canvases = driver.find_elements("css selector", "#c canvas")
        assert canvases and canvases[0].size["width"] > 100
        assert console_errors(driver) == []
        save_screenshot(driver, tmp_path / "chart.png")
