"""The real ``backtest`` process without ``--data``: bars from Yahoo, then from the cache.

``YAHOO_BASE_URL`` points at the chart-v8 stand-in on 127.0.0.1, serving the
real 5-minute bars of QQQ and SPY for 2025-07-14..16 (and the warm-up session
before) moved by whole weeks to the latest regular sessions before today's
real date, inside Yahoo's 60-day retention of 5-minute bars
(:mod:`..data.shifted_bars`). The backtest runs on its simulated clock while
what Yahoo has is judged on the real wall clock: it fetches each symbol once,
trades exactly as a ``backtest --data`` over the same moved bars, and a second
run is served from the ``DATA_DIR`` cache without asking Yahoo again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from vibe.tests.support import bot, user_env
from vibe.tests.trading_bot.data.shifted_bars import RecentBars, recent_bars
from vibe.tests.trading_bot.data.yahoo_chart_standin import YahooChartStandIn

pytestmark = pytest.mark.slow

SYMBOLS = ("QQQ", "SPY")
RECORDED = (date(2025, 7, 14), date(2025, 7, 16))  # Mon-Wed, regular sessions
FIVE_MIN = "bars_5m/yfinance_2025-06_2025-08"
LOOSE = ["--param", "trend_filter=false", "--param", "volume_filter=false"]  # more trades


@pytest.fixture(scope="module")
def recent(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RecentBars:
    recorded = (shared_data / FIVE_MIN, SYMBOLS, "5m")
    return recent_bars(recorded, RECORDED, tmp_path_factory.mktemp("recent_bars"))


def _backtest(
    tmp_path: Path, recent: RecentBars, env: dict[str, str], name: str, *extra: str
) -> dict[str, Any]:
    output = tmp_path / f"{name}.json"
    window = ["--start", recent.start.isoformat(), "--end", recent.end.isoformat()]
    done = bot(
        tmp_path, "backtest", *window, "--symbols", ",".join(SYMBOLS), "--timeframe", "5m",
        *LOOSE, *extra, "--output", str(output), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr  # yfinance's pandas warnings are not ours
    report: dict[str, Any] = json.loads(output.read_text())
    return report


def test_backtest_without_data_fetches_from_yahoo_once_then_serves_the_cache(tmp_path, recent):
    with YahooChartStandIn(recent.folder) as yahoo:
        env = user_env(tmp_path, YAHOO_BASE_URL=yahoo.url, XDG_CACHE_HOME=str(tmp_path / "xdg"))
        fetched = _backtest(tmp_path, recent, env, "yahoo")
        assert sorted(yahoo.chart_symbols()) == sorted(SYMBOLS)  # one ranged request each
        cached = _backtest(tmp_path, recent, env, "cached")
        assert sorted(yahoo.chart_symbols()) == sorted(SYMBOLS)  # none more: the cache served
        assert (tmp_path / "data" / "cache" / "bars" / "SPY_5m.parquet").is_file()
    from_files = _backtest(tmp_path, recent, env, "files", "--data", str(recent.folder))
    assert from_files["trades"], "the window must trade for the comparison to mean anything"
    for report in (fetched, cached):
        assert report["trades"] == from_files["trades"]  # entries, exits, P&L
        assert report["metrics"] == from_files["metrics"]
        assert report["config"]["start"] == recent.start.isoformat()
