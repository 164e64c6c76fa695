"""The whole daemon on real recorded bars, in-process: replay, backtest, calendar edge cases.

Every run goes through the real orchestrator (start-up phases, SQLite stores in
tmp_path, mock exchange, executor, strategy) on a simulated clock.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from vibe.common.models import Bar
from vibe.common.strategies.base import BarContext
from vibe.common.strategies.orb import OrbStrategy
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.health_reporter import HealthState
from vibe.trading_bot.core.orchestrator import Orchestrator, RunOutcome
from vibe.trading_bot.core.run_plan import RunMode, RunPlan

SAMPLE = "bars_5m/yfinance_2025-06_2025-08"
GAPS = "bars_5m/yfinance_2025-12_2026-03"


def settings_for(data_dir: Path, symbols: list[str], **extra: Any) -> AppSettings:
    return load_settings(
        None, {"data_dir": data_dir, "symbols": symbols, "timeframe": "5m", **extra}
    )


async def replay(
    settings: AppSettings, folder: Path, start: date, end: date, **kw: Any
) -> RunOutcome:
    plan = RunPlan(
        RunMode.REPLAY,
        settings.storage.data_dir,
        tuple(settings.trading.symbols),
        "5m",
        replay_dir=folder,
        start=start,
        end=end,
        serve_health=False,
    )
    return await Orchestrator(settings, plan, handle_signals=False, **kw).run()


def stored_trades(data_dir: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "trades.db") as conn:
        rows = conn.execute(
            "SELECT symbol, side, quantity, entry_time, entry_price, exit_time,"
            " exit_price, exit_reason, fees, status FROM trades ORDER BY entry_time, symbol"
        ).fetchall()
    return [
        (
            *r[:4],
            round(r[4], 6),
            r[5],
            None if r[6] is None else round(r[6], 6),
            r[7],
            round(r[8], 2),
            r[9],
        )
        for r in rows
    ]


def open_quantities(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "trades.db") as conn:
        rows = conn.execute(
            "SELECT symbol, sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END)"
            " FROM fills GROUP BY symbol"
        ).fetchall()
    return {symbol: qty for symbol, qty in rows if qty}


def daily_sessions(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "metrics.db") as conn:
        rows = conn.execute("SELECT DISTINCT dimensions FROM metrics WHERE metric_type='daily'")
        return {row[0].split('"session":"')[1][:10] for row in rows}


@pytest.mark.asyncio
async def test_replay_trades_equal_backtest_trades(shared_data: Path, tmp_path: Path) -> None:
    symbols = ["AAPL", "AMZN", "GOOGL", "MSFT", "QQQ", "SPY", "TSLA"]
    start, end = date(2025, 6, 5), date(2025, 7, 18)
    settings = settings_for(tmp_path / "live", symbols)
    await replay(settings, shared_data / SAMPLE, start, end)
    replayed = stored_trades(tmp_path / "live")

    request = BacktestRequest(start, end, tuple(symbols), "5m", shared_data / SAMPLE, {})
    result = await run_backtest(settings_for(tmp_path / "unused", symbols), request)
    backtested = [
        (
            t.symbol,
            t.side.value,
            t.quantity,
            t.entry_time.astimezone(UTC).isoformat(timespec="microseconds"),
            round(t.entry_price, 6),
            t.exit_time.astimezone(UTC).isoformat(timespec="microseconds") if t.exit_time else None,
            round(t.exit_price, 6) if t.exit_price else None,
            t.exit_reason.value if t.exit_reason else None,
            round(t.fees, 2),
            "closed",
        )
        for t in result.trades
    ]
    assert len(replayed) >= 10  # enough trades for the comparison to mean something
    assert replayed == backtested
    assert not (tmp_path / "unused" / "trades.db").exists()  # backtests never use DATA_DIR
    assert result.metrics.num_trades == len(replayed)
    stamps: set[pd.Timestamp] = set()
    for symbol in symbols:
        frame = pd.read_csv(shared_data / SAMPLE / f"{symbol}_5m.csv", parse_dates=["timestamp"])
        days = frame["timestamp"].map(lambda ts: ts.date())
        stamps.update(frame.loc[(days >= start) & (days <= end), "timestamp"])
    assert len(result.equity_curve) == len(stamps)  # one point per bar close
    assert result.equity_curve[-1][1] == pytest.approx(result.metrics.final_equity)


@pytest.mark.asyncio
async def test_hand_checked_aapl_short_stopped_out(shared_data: Path, tmp_path: Path) -> None:
    # AAPL 2025-06-05 (5m, ET): opening range 09:30-09:45 from the bars
    #   09:30 H 203.595 L 202.66 / 09:35 H 203.57 L 202.98 / 09:40 H 203.84 L 202.94
    #   -> range high 203.84, low 202.66.
    # 09:45 bar closes 202.495 < 202.66: short breakout; stop = range high 203.84.
    # Entry: market order at the 09:50 bar's open 202.51, 1 bp slippage against a sell:
    #   202.51 * (1 - 0.0001) = 202.489749.
    # Size: 1 % risk = 1,000 USD / (203.84 - 202.495) = 743 shares, capped by 25 % of
    #   equity: 25,000 / 202.495 = 123.46 -> 123 shares.
    # Exit: the 11:20 bar (open 203.745, high 204.27) trades through the stop 203.84:
    #   203.84 * (1 + 0.0001) = 203.860384 (the 11:15 bar's high 203.7866 did not reach it).
    # Fees: 123 x 0.005 = 0.615 < 1.00 minimum -> 1.00 per order, 2.00 in total.
    # Net P&L: (202.489749 - 203.860384) x 123 - 2.00 = -170.588105.
    settings = settings_for(tmp_path, ["AAPL"])
    outcome = await replay(settings, shared_data / SAMPLE, date(2025, 6, 5), date(2025, 6, 5))
    assert stored_trades(tmp_path) == [
        (
            "AAPL",
            "short",
            123,
            "2025-06-05T13:50:00.000000+00:00",
            202.489749,
            "2025-06-05T15:20:00.000000+00:00",
            203.860384,
            "stop_loss",
            2.0,
            "closed",
        )
    ]
    with sqlite3.connect(tmp_path / "trades.db") as conn:
        (pnl,) = conn.execute("SELECT pnl FROM trades").fetchone()
    assert pnl == pytest.approx((202.489749 - 203.860384) * 123 - 2.0, abs=1e-6)
    metrics = outcome.daemon.metrics
    assert metrics is not None  # a replay serves /metrics
    scrape = metrics.render().decode()  # what /metrics serves
    assert 'vibe_bars_processed_total{symbol="AAPL"} 78.0' in scrape
    assert 'vibe_fills_total{side="sell",symbol="AAPL"} 1.0' in scrape
    assert 'vibe_trades_total{outcome="loss",symbol="AAPL"} 1.0' in scrape


@pytest.mark.asyncio
async def test_early_close_flattens_before_13_00_holiday_and_weekend_skipped(
    shared_data: Path, tmp_path: Path
) -> None:
    # 2025-07-03 closes at 13:00 ET; SPY lacks its 12:50 and 12:55 bars (real provider gap).
    settings = settings_for(tmp_path, ["AAPL", "AMZN", "MSFT", "QQQ", "SPY", "TSLA"])
    await replay(settings, shared_data / SAMPLE, date(2025, 7, 2), date(2025, 7, 8))
    trades = stored_trades(tmp_path)
    on_the_3rd = [t for t in trades if t[3].startswith("2025-07-03")]
    assert on_the_3rd, "expected trades on the early-close day"
    for trade in on_the_3rd:
        assert trade[5] <= "2025-07-03T17:00:00.000000+00:00"  # out by 13:00 ET
        assert trade[7] in {"end_of_day", "stop_loss", "take_profit"}
    assert all(t[9] == "closed" for t in trades)
    assert open_quantities(tmp_path) == {}
    # 07-04 (Independence Day) and 07-05/06 (weekend) are not sessions: nothing happens there
    assert daily_sessions(tmp_path) == {"2025-07-02", "2025-07-03", "2025-07-07", "2025-07-08"}
    assert not [t for t in trades if t[3][:10] in {"2025-07-04", "2025-07-05", "2025-07-06"}]


@pytest.mark.asyncio
async def test_data_gap_days_are_handled(shared_data: Path, tmp_path: Path) -> None:
    # 2026-01-30 stops around 10:15-10:30 ET; 2026-02-02 starts only at ~13:45 ET.
    settings = settings_for(tmp_path, ["AAPL", "MSFT", "NVDA", "QQQ", "SPY", "TSLA"])
    outcome = await replay(settings, shared_data / GAPS, date(2026, 1, 28), date(2026, 2, 4))
    assert outcome.sessions == 6
    assert daily_sessions(tmp_path) == {
        "2026-01-28",
        "2026-01-29",
        "2026-01-30",
        "2026-02-02",
        "2026-02-03",
        "2026-02-04",
    }
    assert open_quantities(tmp_path) == {}  # nothing carried over a gap
    for trade in stored_trades(tmp_path):
        assert trade[5][:10] == trade[3][:10]  # every trade closed the day it opened
        if trade[3].startswith("2026-01-30"):
            assert trade[5] <= "2026-01-30T15:35:00.000000+00:00"  # by the last bar (10:35 ET)
        assert not trade[3].startswith("2026-02-02")  # no opening range that day: no entry


class BrokenForTsla(OrbStrategy):
    """The ORB strategy with a defect that raises on every TSLA bar."""

    def on_bar(self, bar: Bar, context: BarContext) -> list[Any]:
        if bar.symbol == "TSLA":
            raise ZeroDivisionError("defect for TSLA")
        return super().on_bar(bar, context)


@pytest.mark.asyncio
async def test_a_component_failing_for_one_symbol_does_not_stop_the_others(
    shared_data: Path, tmp_path: Path
) -> None:
    start, end = date(2025, 6, 5), date(2025, 6, 27)
    others = ["AAPL", "QQQ", "SPY"]
    baseline = settings_for(tmp_path / "baseline", others)
    await replay(baseline, shared_data / SAMPLE, start, end)

    settings = settings_for(tmp_path / "broken", [*others, "TSLA"])
    outcome = await replay(settings, shared_data / SAMPLE, start, end, strategy=BrokenForTsla())

    expected = stored_trades(tmp_path / "baseline")
    assert expected
    assert stored_trades(tmp_path / "broken") == expected
    processor = outcome.daemon.processor
    assert processor is not None
    assert set(processor.errors) == {"TSLA"}
    assert processor.errors["TSLA"] == 17 * 78  # every TSLA bar: 16 sessions + 1 of warm-up
    loop = {c.name: c for c in outcome.daemon.monitor.components()}["trading_loop"]
    assert loop.state is HealthState.DEGRADED
    assert loop.errors.count > 0


@pytest.mark.asyncio
async def test_restarted_replay_resumes_after_the_last_bar(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = shared_data / SAMPLE
    symbols = ["AAPL", "QQQ", "SPY"]
    whole = settings_for(tmp_path / "whole", symbols)
    await replay(whole, folder, date(2025, 6, 5), date(2025, 6, 20))

    split = settings_for(tmp_path / "split", symbols)
    await replay(split, folder, date(2025, 6, 5), date(2025, 6, 11))
    first_part = stored_trades(tmp_path / "split")
    # the same command again over the whole range: the sessions done are not traded again
    await replay(split, folder, date(2025, 6, 5), date(2025, 6, 20))
    assert stored_trades(tmp_path / "split")[: len(first_part)] == first_part
    assert stored_trades(tmp_path / "split") == stored_trades(tmp_path / "whole")
