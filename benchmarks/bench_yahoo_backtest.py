"""``backtest`` without ``--data``: Yahoo fetch, then the ``DATA_DIR`` cache, against ``--data``.

Run with ``.venv/bin/python benchmarks/bench_yahoo_backtest.py``. The seven symbols
of the 5-minute sample (``../shared/data/bars_5m/yfinance_2025-06_2025-08``,
sessions 2025-07-08..2025-08-01 and the warm-up session 07-07) are moved by whole
weeks to regular sessions inside Yahoo's 60 days before today's real date
(``vibe/tests/trading_bot/data/shifted_bars.py``) and served by the chart-v8
stand-in on 127.0.0.1 (``YAHOO_BASE_URL``). Prints the in-process wall time of
``await run_backtest(settings, request)`` (the whole daemon path on a simulated
clock, report writing excluded) for:

* without ``--data``, cold: yfinance requests to the stand-in (one per symbol),
  validation, Parquet cache write;
* without ``--data``, cached: the same request answered from ``DATA_DIR/cache/bars``
  (the stand-in sees no request; checked);
* ``--data`` over the moved CSV files (the reference; same trades, checked).

No threshold is enforced; the figures compare the three paths on one machine.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import yfinance as yf

from vibe.tests.trading_bot.data.shifted_bars import recent_bars
from vibe.tests.trading_bot.data.yahoo_chart_standin import YahooChartStandIn
from vibe.trading_bot.backtest.report import BacktestResult
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
from vibe.trading_bot.config.loader import load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
FIVE_MIN = DATA / "bars_5m" / "yfinance_2025-06_2025-08"
SYMBOLS = ("AAPL", "AMZN", "GOOGL", "MSFT", "QQQ", "SPY", "TSLA")
RECORDED = (date(2025, 7, 8), date(2025, 8, 1))  # regular sessions, warm-up 07-07


async def _timed(
    settings_dir: Path, url: str, request: BacktestRequest
) -> tuple[float, BacktestResult]:
    settings = load_settings(
        None,
        {
            "data_dir": str(settings_dir / "data"),
            "results_dir": str(settings_dir / "results"),
            "yahoo_base_url": url,
            "yahoo_rate_limit": 1000,
            "log_level": "WARNING",
            "symbols": list(SYMBOLS),
            "timeframe": "5m",
        },
    )
    start = time.perf_counter()
    result = await run_backtest(settings, request, handle_signals=False)
    return time.perf_counter() - start, result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-yahoo-") as tmp:
        work = Path(tmp)
        yf.set_tz_cache_location(str(work / "yf_tz"))
        recent = recent_bars((FIVE_MIN, SYMBOLS, "5m"), RECORDED, work / "bars")
        request = BacktestRequest(recent.start, recent.end, SYMBOLS, "5m", None, {})
        with YahooChartStandIn(recent.folder) as yahoo:
            cold, fetched = asyncio.run(_timed(work, yahoo.url, request))
            asked = len(yahoo.chart_symbols())
            cached, again = asyncio.run(_timed(work, yahoo.url, request))
            assert len(yahoo.chart_symbols()) == asked == len(SYMBOLS)
            files = BacktestRequest(recent.start, recent.end, SYMBOLS, "5m", recent.folder, {})
            local, reference = asyncio.run(_timed(work, yahoo.url, files))
    assert fetched.trades == again.trades == reference.trades
    window = f"{recent.start}..{recent.end}"
    print(f"backtest {len(SYMBOLS)} symbols 5m {window} ({len(fetched.trades)} trades)")
    print(f"  without --data, from Yahoo (stand-in, {asked} requests): {cold:.2f} s")
    print(f"  without --data, from the DATA_DIR cache (0 requests): {cached:.2f} s")
    print(f"  --data CSV folder (reference): {local:.2f} s")


if __name__ == "__main__":
    main()
