"""The backtest's HTML report in headless Chromium, opened from file:// (no network).

One real ``python -m vibe.trading_bot backtest`` over the repository's sample data
(AAPL, MSFT, SPY, 5-minute bars, 2025-06-05..2025-08-28), then one browser session that
checks what a reader does: the charts are drawn, the symbol picker switches the price
chart, a click on a trade row moves the chart to that trade, headers sort the tables,
zooming changes the candle size without losing a bar, and the console stays clean.
Screenshots land in the test's tmp folder (``screenshots/``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from vibe.tests.browser import chromium, console_errors, save_screenshot
from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import bot, user_env

SAMPLE = REPO_ROOT / "examples" / "data"
SYMBOLS = ("AAPL", "MSFT", "SPY")
START, END = "2025-06-05", "2025-08-28"
WAIT_SECONDS = 20

# Pixels of a colour the chart scripts draw with (RGB within a tolerance), per container.
INKED = """(function (selector, rgb) {
let count = 0;
for (const canvas of document.querySelectorAll(selector + ' canvas')) {
  if (!canvas.width || !canvas.height) continue;
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 200 && Math.abs(px[i] - rgb[0]) + Math.abs(px[i + 1] - rgb[1])
        + Math.abs(px[i + 2] - rgb[2]) < 60) count++;
  }
}
return count;
})(arguments[0], arguments[1])"""
# Where a marker (by id) is drawn in the price chart, in pixels from its top left.
MARKER_XY = """
const p = vibeReport.price;
const m = p.markers.markers().find((marker) => marker.id === arguments[0]);
return [p.chart.timeScale().timeToCoordinate(m.time), p.candles.priceToCoordinate(m.price)];
"""
STRATEGY, BENCHMARK, DRAWDOWN = (31, 78, 156), (224, 138, 0), (215, 48, 39)
UP, DOWN = (38, 166, 154), (239, 83, 80)


def bars(symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE / f"{symbol}_5m.csv")
    return frame[frame["timestamp"].str[:10].between(START, END)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("report")
    out = folder / "bt.json"
    args = ["backtest", "--start", START, "--end", END, "--data", str(SAMPLE)]
    args += ["--symbols", ",".join(SYMBOLS), "--param", "trend_filter=false"]
    env = user_env(folder, PYTHONPATH=str(REPO_ROOT), TZ="UTC")
    done = bot(folder, *args, "--output", str(out), env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"chart:  {out.with_suffix('.html')}" in done.stdout
    return out.with_suffix(".html"), json.loads(out.read_text(encoding="utf-8"))


def until(driver: Any, script: str, *args: Any) -> Any:
    """Wait until ``script`` returns a truthy value (the page draws on animation frames)."""
    return WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.execute_script(script, *args))


def column_keys(driver: Any, table: str, column: int) -> list[float]:
    cells = driver.find_elements(By.CSS_SELECTOR, f"{table} tbody tr td:nth-child({column})")
    return [float(cell.get_attribute("data-v")) for cell in cells]


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def check_charts_drawn(driver: Any) -> None:
    for selector, colour in (
        ("#equity-chart", STRATEGY),
        ("#equity-chart", BENCHMARK),
        ("#drawdown-chart", DRAWDOWN),
        ("#price-chart", UP),
        ("#price-chart", DOWN),
    ):
        assert until(driver, f"return {INKED} > 50", selector, colour), (selector, colour)


def check_symbol_switch(driver: Any) -> None:
    assert driver.execute_script("return vibeReport.price.symbol") == "AAPL"  # the first
    Select(driver.find_element(By.ID, "symbol")).select_by_visible_text("MSFT")
    until(driver, "return vibeReport.price.symbol === 'MSFT'")
    msft = bars("MSFT")
    drawn = driver.execute_script("return vibeReport.price.candles.data()")
    assert drawn[0]["open"] == pytest.approx(msft["open"].iloc[0])
    assert drawn[-1]["close"] == pytest.approx(msft["close"].iloc[-1])
    assert max(c["high"] for c in drawn) == pytest.approx(msft["high"].max())
    info = driver.find_element(By.ID, "price-info").text
    assert info.startswith(f"MSFT: {len(msft):,} bars of 5 min; drawn as ")


def check_every_level_holds_every_bar(driver: Any) -> None:
    """Coarser candles merge bars, none is dropped: volume, high and low are kept."""
    levels = driver.execute_script(
        "return vibeReport.price.cache.get('MSFT').levels.map(l => [l.label, "
        "l.time.length, l.volume.reduce((a, b) => a + b, 0), Math.max(...l.high), "
        "Math.min(...l.low)])"
    )
    msft = bars("MSFT")
    labels = [level[0] for level in levels]
    assert labels == ["5 min", "15 min", "30 min", "1 hour", "1 session"]
    sessions = msft["timestamp"].str[:10].nunique()
    assert levels[0][1] == len(msft) and levels[-1][1] == sessions
    for _, _, volume, high, low in levels:
        assert (volume, high, low) == (msft["volume"].sum(), msft["high"].max(), msft["low"].min())


def check_trade_row_click(driver: Any, data: dict[str, Any], shots: Path) -> int:
    """Click the first SPY trade's row (AAPL is drawn); returns its entry time."""
    index = next(i for i, t in enumerate(data["trades"]) if t["symbol"] == "SPY")
    trade = data["trades"][index]
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-trade="{index}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    until(driver, "return vibeReport.price.symbol === 'SPY'")
    assert Select(driver.find_element(By.ID, "symbol")).first_selected_option.text == "SPY"
    entry, exit_ = epoch(trade["entry_time"]), epoch(trade["exit_time"])
    shown = until(driver, "return vibeReport.price.visibleRange()")
    assert shown["from"] <= entry and exit_ - 300 <= shown["to"]
    bars_shown = driver.execute_script(
        "const r = vibeReport.price.chart.timeScale().getVisibleLogicalRange(); "
        "return r.to - r.from"
    )
    assert bars_shown <= 79  # the trade's session (78 bars of 5 min), not the quarter
    assert driver.execute_script("return vibeReport.price.level.label") == "5 min"
    markers = driver.execute_script("return vibeReport.price.markers.markers()")
    by_id = {m["id"]: m for m in markers}
    assert by_id[f"entry-{index}"]["price"] == pytest.approx(trade["entry_price"])
    assert by_id[f"exit-{index}"]["price"] == pytest.approx(trade["exit_price"])
    assert by_id[f"exit-{index}"]["text"].startswith(trade["exit_reason"])
    assert "selected" in row.get_attribute("class")
    check_hover_shows_the_trade(driver, index, trade)
    save_screenshot(driver, shots / "report-trade.png")
    return entry


def check_hover_shows_the_trade(driver: Any, index: int, trade: dict[str, Any]) -> None:
    """The mouse on the entry marker shows the trade's side, quantity and price."""
    chart = driver.find_element(By.ID, "price-chart")
    x, y = driver.execute_script(MARKER_XY, f"entry-{index}")
    box = chart.rect
    ActionChains(driver).move_to_element_with_offset(
        chart, round(x - box["width"] / 2), round(y - box["height"] / 2)
    ).perform()
    tip = until(driver, "return document.getElementById('price-tooltip').textContent")
    assert tip.startswith(f"#{index + 1} {trade['side']} entry {trade['quantity']} @ ")


def check_zoom_out_draws_coarser_candles(driver: Any, entry: int) -> None:
    """Mouse-wheel zoom out from the trade's session until coarser candles are drawn."""
    chart = driver.find_element(By.ID, "price-chart")

    def zoomed_out(d: Any) -> bool:
        wheel = ActionChains(d)
        for _ in range(5):
            wheel.scroll_from_origin(ScrollOrigin.from_element(chart), 0, 600)
        wheel.perform()
        return bool(d.execute_script("return vibeReport.price.level.index > 0"))

    WebDriverWait(driver, WAIT_SECONDS * 3, poll_frequency=0.05).until(zoomed_out)
    assert "zoom in for finer candles" in driver.find_element(By.ID, "price-info").text
    shown = driver.execute_script("return vibeReport.price.visibleRange()")
    assert shown["from"] <= entry <= shown["to"]  # the same place, in coarser candles


def check_sorting(driver: Any, shots: Path) -> None:
    header = driver.find_element(By.CSS_SELECTOR, "#trades thead th:nth-child(8)")  # P&L
    assert header.text == "P&L"
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", header)
    header.click()
    pnls = column_keys(driver, "#trades", 8)
    assert pnls == sorted(pnls) and pnls[0] < pnls[-1]
    header.click()
    assert column_keys(driver, "#trades", 8) == sorted(pnls, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    save_screenshot(driver, shots / "report-sorted.png")
    month = driver.find_elements(By.CSS_SELECTOR, "table.sortable")[1]
    month.find_element(By.CSS_SELECTOR, "thead th:nth-child(4)").click()  # Net P&L
    cells = month.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(4)")
    keys = [float(cell.get_attribute("data-v")) for cell in cells]
    assert keys == sorted(keys)


@pytest.mark.slow
def test_the_report_from_file_url_draws_navigates_and_sorts(report, tmp_path):
    html_path, data = report
    shots = tmp_path / "screenshots"
    assert any(t["symbol"] == "SPY" for t in data["trades"])
    with chromium(1400, 1000) as driver:
        driver.get(html_path.as_uri())
        until(driver, "return window.vibeReport && window.vibeReport.ready")
        check_charts_drawn(driver)
        save_screenshot(driver, shots / "report-top.png")
        check_symbol_switch(driver)
        check_every_level_holds_every_bar(driver)
        entry = check_trade_row_click(driver, data, shots)
        check_zoom_out_draws_coarser_candles(driver, entry)
        check_sorting(driver, shots)
        assert console_errors(driver) == []
