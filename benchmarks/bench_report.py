"""HTML report of a backtest: writing time, file size and time to interactive in Chromium.

Run with ``.venv/bin/python benchmarks/bench_report.py``. The workload is the real SPY
1-minute year (``../shared/data/bars_1m/alpaca_spy_2024-03_2025-04``, sessions
2024-03-27..2025-04-01, ~98,500 bars, default settings), backtested once in process
(``run_backtest``, its time printed for scale). Then, best and median of
``BENCH_REPEAT`` (default 5) runs each, every run on a fresh copy of the result (the
equity curve's columns, cached on a result, are built again each time):

* the report phase of the ``backtest`` command (``commands.backtest._write``: JSON
  report, console summary to a null device, HTML report), wall and CPU time;
* ``curve_columns``: the equity curve's times and values as columns (one pass);
* ``chart_payload``: the charts' data (every bar and equity point, packed columns);
* ``render_html``: the whole page (tables, payload, inlined chart library and scripts),
  given the JSON payload the command already built for the JSON report;
* ``write_html``: the same written to a file (atomic write);
* for comparison, ``result_to_dict`` and ``write_json`` (the JSON report).

And the HTML file's size (target < 10 MB), and, when Debian's Chromium is installed,
the time from navigation start to ``vibeReport.ready`` (payload decoded, every chart
built and first drawn) when the file is opened from ``file://`` in headless Chromium
(best of 3 page loads).

Target (issue 18): writing the report costs well under a second of the backtest's
time for this year, and the file stays under 10 MB. No threshold is enforced here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_1M = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
PAGE_LOADS = 3
READY = "return window.vibeReport && window.vibeReport.ready"


def timed(label: str, action: Callable[[], Any]) -> None:
    """Print the best and the median wall and CPU time of ``REPEAT`` calls of ``action``."""
    walls, cpus = [], []
    for _ in range(REPEAT):
        t0, c0 = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(
        f"  {label:34s} best {min(walls):6.3f} s  median {statistics.median(walls):6.3f} s"
        f"  (CPU best {min(cpus):6.3f} s  median {statistics.median(cpus):6.3f} s)"
    )


def report_phase(result: Any, out: Path) -> None:
    """The ``backtest`` command's report phase, its console summary to a null device."""
    from vibe.trading_bot.commands.backtest import _write

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        _write(dataclasses.replace(result), out / "phase.json", out)


def page_ready_seconds(page: Path) -> list[float]:
    """Seconds from navigation start to ``vibeReport.ready`` for each of PAGE_LOADS loads."""
    sys.path.insert(0, str(ROOT))
    from selenium.webdriver.support.ui import WebDriverWait

    from vibe.tests.browser import chromium, console_errors

    seconds = []
    with chromium() as driver:
        for _ in range(PAGE_LOADS):
            driver.get(page.as_uri())
            WebDriverWait(driver, 120).until(lambda d: d.execute_script(READY))
            seconds.append(driver.execute_script("return vibeReport.readyMs") / 1000)
        errors = console_errors(driver)
    if errors:
        print(f"  browser console errors: {errors}")
    return seconds


def main() -> None:
    from vibe.trading_bot.backtest.chart_payload import chart_payload
    from vibe.trading_bot.backtest.curve_columns import curve_columns
    from vibe.trading_bot.backtest.html_report import render_html, write_html
    from vibe.trading_bot.backtest.report import result_to_dict, write_json
    from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
    from vibe.trading_bot.config.loader import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        out = Path(folder)
        settings = load_settings(None, {"symbols": ["SPY"], "timeframe": "1m", "data_dir": out})
        request = BacktestRequest(
            date(2024, 3, 27), date(2025, 4, 1), ("SPY",), "1m", SPY_1M, params={}
        )
        t0 = time.perf_counter()
        result = asyncio.run(run_backtest(settings, request))
        elapsed = time.perf_counter() - t0
        assert result.prices is not None, "the run kept no bars"
        bars = sum(len(f) for f in result.prices.bars.values() if f is not None)
        print(
            f"SPY 1m year: {bars:,} bars, {len(result.equity_curve):,} equity points, "
            f"{len(result.trades)} trades; run_backtest {elapsed:.2f} s (cold, once)"
        )
        payload = result_to_dict(result)

        def fresh() -> Any:
            return dataclasses.replace(result)  # without the cached curve columns

        timed("report phase (backtest command)", lambda: report_phase(result, out))
        timed("curve_columns (equity curve)", lambda: curve_columns(result.equity_curve))
        timed("chart_payload (charts' data)", lambda: chart_payload(fresh()))
        timed("render_html (given the JSON dict)", lambda: render_html(fresh(), payload))
        timed("write_html (file)", lambda: write_html(fresh(), out / "r.html", payload))
        timed("result_to_dict (JSON report dict)", lambda: result_to_dict(fresh()))
        timed("write_json (file)", lambda: write_json(fresh(), out / "r.json", payload))
        size = (out / "r.html").stat().st_size
        print(
            f"  HTML report size: {size / 1e6:.2f} MB ({size:,} bytes); "
            f"JSON report: {(out / 'r.json').stat().st_size / 1e6:.2f} MB"
        )
        if shutil.which("/usr/bin/chromium") and shutil.which("/usr/bin/chromedriver"):
            ready = page_ready_seconds(out / "r.html")
            print(
                f"  Chromium, file:// to charts drawn: best {min(ready):.2f} s "
                f"(loads: {', '.join(f'{s:.2f}' for s in ready)})"
            )
        else:
            print("  Chromium not installed: page load not measured")


if __name__ == "__main__":
    main()
