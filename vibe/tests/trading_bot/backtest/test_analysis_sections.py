"""The report's analysis sections on a real backtest, each checked by an independent route.

One backtest of four symbols over the real 5-minute bars of June-August 2025
(``../shared/data/bars_5m/yfinance_2025-06_2025-08``). The buy-and-hold benchmark is
recomputed from the CSV files with pandas; the per-symbol, monthly and weekday tables,
best/worst trade and day, durations, streaks and R-multiples from the trades and the
equity curve with plain Python (``zoneinfo`` for New York time), not with the code
under test.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from vibe.common.models import ExitReason, PositionSide, Trade
from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import bot
from vibe.tests.trading_bot.e2e.test_replay_daemon import SAMPLE
from vibe.trading_bot.backtest.breakdown import months_between
from vibe.trading_bot.backtest.console import print_summary
from vibe.trading_bot.backtest.curve_columns import CurveColumns, curve_columns
from vibe.trading_bot.backtest.html_report import render_html
from vibe.trading_bot.backtest.json_values import finite_or_none
from vibe.trading_bot.backtest.metrics import metrics_from_arrays
from vibe.trading_bot.backtest.report import format_number, result_to_dict
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
from vibe.trading_bot.backtest.trade_stats import closed_trades, longest_run, trade_stats
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import setting_names
from vibe.trading_bot.data.bar_table import BarTable

NY = ZoneInfo("America/New_York")
SYMBOLS = ("AAPL", "MSFT", "SPY", "TSLA")
START, END = date(2025, 6, 5), date(2025, 8, 28)
CAPITAL = 100_000.0
BAR = timedelta(minutes=5)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _clean_env() -> None:
    names = {name.upper() for name in setting_names()}
    for key in list(os.environ):
        if key.upper() in names:
            del os.environ[key]


@pytest.fixture(scope="module")
def run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    saved = dict(os.environ)
    _clean_env()
    try:
        settings = load_settings(
            None,
            {
                "data_dir": tmp_path_factory.mktemp("data"),
                "symbols": list(SYMBOLS),
                "timeframe": "5m",
                "trend_filter": False,
                "max_open_positions": 4,
            },
        )
        request = BacktestRequest(START, END, SYMBOLS, "5m", shared_data / SAMPLE, {})
        result = asyncio.run(run_backtest(settings, request))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    payload = json.loads(json.dumps(result_to_dict(result), allow_nan=False))
    return result, payload


def csv_bars(shared_data: Path, symbol: str) -> pd.DataFrame:
    """The symbol's bars of the traded sessions, straight from the CSV (RTH-only file)."""
    frame = pd.read_csv(shared_data / SAMPLE / f"{symbol}_5m.csv")
    frame["start"] = pd.to_datetime(frame["timestamp"], utc=True)
    days = frame["timestamp"].str[:10]
    return frame[(days >= START.isoformat()) & (days <= END.isoformat())].reset_index(drop=True)


def curve_at(times: list[datetime]) -> CurveColumns:
    """An equity curve (flat, values unused) at ``times``, as the benchmark reads it."""
    return curve_columns([(when, CAPITAL) for when in times])


@dataclass(frozen=True)
class Closed:
    """A closed trade's figures, none of them optional."""

    symbol: str
    entry_time: datetime
    exit_time: datetime
    pnl: float


def closed(result: Any) -> list[Closed]:
    out = []
    for t in result.trades:
        if t.pnl is not None and t.exit_time is not None:
            out.append(Closed(t.symbol, t.entry_time, t.exit_time, t.pnl))
    return out


def test_the_run_trades_every_symbol_and_every_trade_has_its_stop(run):
    result, data = run
    assert {t.symbol for t in closed(result)} == set(SYMBOLS)
    assert len(closed(result)) >= 30
    stats = data["trade_stats"]
    assert stats["r_multiple_trades"] == len(closed(result))  # every bracket's stop was found
    for trade, row in zip(result.trades, data["trades"], strict=True):
        stop = row["initial_stop"]
        assert stop is not None
        # the stop sits on the losing side of the signal; the fill may gap past it
        if trade.exit_reason is ExitReason.STOP_LOSS:
            assert (trade.exit_price - stop) * trade.side.sign <= 0.05 * trade.entry_price / 100
        risk = abs(trade.entry_price - stop) * trade.quantity
        assert row["r_multiple"] == pytest.approx(trade.pnl / risk, abs=1e-6)


def test_benchmark_equals_buy_and_hold_computed_from_the_csv(run, shared_data):
    result, data = run
    bench = data["benchmark"]
    assert bench["method"] == "equal_weight_buy_and_hold"
    per_symbol = {}
    closes = {}
    for symbol in SYMBOLS:
        bars = csv_bars(shared_data, symbol)
        first_open, last_close = bars["open"].iloc[0], bars["close"].iloc[-1]
        per_symbol[symbol] = (last_close / first_open - 1) * 100
        shares = CAPITAL / len(SYMBOLS) / first_open
        closes[symbol] = pd.Series(
            shares * bars["close"].to_numpy(), index=bars["start"] + pd.Timedelta(BAR)
        )
        leg = next(leg for leg in bench["symbols"] if leg["symbol"] == symbol)
        assert leg["first_open"] == first_open and leg["last_close"] == last_close
        assert leg["first_bar_time"] == bars["start"].iloc[0].isoformat()
        assert leg["return_pct"] == pytest.approx(per_symbol[symbol], abs=1e-6)
    expected_return = float(np.mean(list(per_symbol.values())))
    assert bench["total_return_pct"] == pytest.approx(expected_return, abs=1e-6)
    assert bench["total_return_pct"] > 5  # a rising summer: the benchmark is no straw man
    # the value at every strategy bar close: each leg at its latest close (all legs start
    # at the first bar here, so nothing is held as cash)
    times = pd.DatetimeIndex([when for when, _ in result.equity_curve])
    legs = pd.concat(closes, axis=1)
    value = legs.reindex(legs.index.union(times)).ffill().reindex(times).sum(axis=1).to_numpy()
    assert data["benchmark_equity"] == pytest.approx(value, abs=0.006)
    with_capital = np.concatenate(([CAPITAL], value))
    peaks = np.maximum.accumulate(with_capital)
    assert bench["max_drawdown_pct"] == pytest.approx(
        ((peaks - with_capital) / peaks).max() * 100, abs=1e-6
    )
    assert bench["final_equity"] == pytest.approx(value[-1], abs=0.006)
    total = data["metrics"]["total_return_pct"]
    assert bench["excess_return_pct"] == pytest.approx(total - expected_return, abs=1e-5)


def test_drawdown_period_matches_an_independent_walk_of_the_equity(run):
    result, data = run
    curve = [(result.equity_curve[0][0] - BAR, CAPITAL), *result.equity_curve]
    peak_value, peak_at = -math.inf, None
    worst, found = 0.0, None
    for when, value in curve:
        if value >= peak_value:  # ties: the peak is the last time at the high-water mark
            peak_value, peak_at = value, when
        fall = (peak_value - value) / peak_value
        if fall > worst:
            worst, found = fall, (peak_at, peak_value, when, value)
    assert found is not None
    peak_at, peak_value, trough_at, trough_value = found
    recovery = next((w for w, v in curve if w > trough_at and v >= peak_value), None)
    period = data["drawdown"]
    assert period["depth_pct"] == pytest.approx(data["metrics"]["max_drawdown_pct"], abs=1e-9)
    assert period["depth_pct"] == pytest.approx(worst * 100, abs=1e-6)  # JSON: 6 decimals
    assert datetime.fromisoformat(period["peak_time"]) == peak_at
    assert datetime.fromisoformat(period["trough_time"]) == trough_at
    assert period["peak_equity"] == round(peak_value, 2)
    assert period["trough_equity"] == round(trough_value, 2)
    got = period["recovery_time"]
    assert (None if got is None else datetime.fromisoformat(got)) == recovery
    for key in ("peak_time", "trough_time"):
        assert datetime.fromisoformat(period[key]).utcoffset() == timedelta(0)  # ISO with offset


def test_per_symbol_table_matches_the_trades(run):
    result, data = run
    rows = {row["symbol"]: row for row in data["breakdown"]["by_symbol"]}
    assert list(rows) == list(SYMBOLS)
    for symbol in SYMBOLS:
        pnls = [t.pnl for t in closed(result) if t.symbol == symbol]
        wins = [p for p in pnls if p > 0]
        losses = [p for p in pnls if p < 0]
        row = rows[symbol]
        assert row["trades"] == len(pnls)
        assert row["wins"] == len(wins) and row["losses"] == len(losses)
        assert row["win_rate_pct"] == pytest.approx(len(wins) / len(pnls) * 100, abs=1e-6)
        assert row["net_pnl"] == pytest.approx(sum(pnls), abs=0.006)
        expected_pf = sum(wins) / -sum(losses) if losses else None
        assert row["profit_factor"] == pytest.approx(expected_pf, abs=1e-6)
        legs = {leg["symbol"]: leg["return_pct"] for leg in data["benchmark"]["symbols"]}
        assert row["buy_and_hold_return_pct"] == legs[symbol]
    assert sum(r["trades"] for r in rows.values()) == data["metrics"]["num_trades"]
    realized = sum(r["net_pnl"] for r in rows.values())
    assert realized == pytest.approx(data["metrics"]["final_equity"] - CAPITAL, abs=0.05)


def _grouped(result: Any, key: Any) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for trade in closed(result):
        groups[key(trade.exit_time.astimezone(NY))].append(trade.pnl)
    return groups


def test_month_and_weekday_tables_match_the_trades(run):
    result, data = run
    months = _grouped(result, lambda t: f"{t.year}-{t.month:02d}")
    weekdays = _grouped(result, lambda t: WEEKDAYS[t.weekday()])
    by_month = data["breakdown"]["by_month"]
    assert [row["month"] for row in by_month] == ["2025-06", "2025-07", "2025-08"]
    by_weekday = data["breakdown"]["by_weekday"]
    assert [row["weekday"] for row in by_weekday] == WEEKDAYS
    for rows, groups, key in ((by_month, months, "month"), (by_weekday, weekdays, "weekday")):
        for row in rows:
            pnls = groups.get(row[key], [])
            assert row["trades"] == len(pnls)
            assert row["net_pnl"] == pytest.approx(sum(pnls), abs=0.006)
            wins = sum(1 for p in pnls if p > 0)
            expected = wins / len(pnls) * 100 if pnls else None
            assert row["win_rate_pct"] == pytest.approx(expected, abs=1e-6)
        assert sum(row["trades"] for row in rows) == len(closed(result))


def test_best_and_worst_trade_and_day(run):
    result, data = run
    stats = data["trade_stats"]
    trades = closed(result)
    best = max(trades, key=lambda t: t.pnl)
    worst = min(trades, key=lambda t: t.pnl)
    assert stats["best_trade"]["pnl"] == round(best.pnl, 2)
    assert stats["best_trade"]["symbol"] == best.symbol
    assert datetime.fromisoformat(stats["best_trade"]["entry_time"]) == best.entry_time
    assert stats["worst_trade"]["pnl"] == round(worst.pnl, 2)
    assert stats["worst_trade"]["symbol"] == worst.symbol
    # days: equity at each New York session's last bar close against the previous day's
    closing: dict[date, float] = {}
    for when, value in result.equity_curve:
        closing[when.astimezone(NY).date()] = value
    previous, changes = CAPITAL, []
    for day, value in closing.items():
        changes.append((day, value - previous, (value / previous - 1) * 100))
        previous = value
    best_day = max(changes, key=lambda c: c[2])
    worst_day = min(changes, key=lambda c: c[2])
    assert stats["best_day"]["date"] == best_day[0].isoformat()
    assert stats["best_day"]["pnl"] == pytest.approx(best_day[1], abs=0.006)
    assert stats["best_day"]["return_pct"] == pytest.approx(best_day[2], abs=1e-6)
    assert stats["worst_day"]["date"] == worst_day[0].isoformat()
    assert stats["worst_day"]["pnl"] == pytest.approx(worst_day[1], abs=0.006)
    assert stats["worst_day"]["return_pct"] < 0 < stats["best_day"]["return_pct"]


def test_durations_streaks_and_average_r(run):
    result, data = run
    stats = data["trade_stats"]
    trades = sorted(closed(result), key=lambda t: (t.exit_time, t.entry_time))

    def minutes(group: list[Closed]) -> float:
        return sum((t.exit_time - t.entry_time).total_seconds() / 60 for t in group) / len(group)

    assert stats["avg_win_minutes"] == pytest.approx(
        minutes([t for t in trades if t.pnl > 0]), abs=0.006
    )
    assert stats["avg_loss_minutes"] == pytest.approx(
        minutes([t for t in trades if t.pnl < 0]), abs=0.006
    )
    longest = {1: 0, -1: 0}
    run_sign, run_length = 0, 0
    for trade in trades:
        sign = (trade.pnl > 0) - (trade.pnl < 0)
        run_length = run_length + 1 if sign == run_sign and sign != 0 else 1
        run_sign = sign
        if sign:
            longest[sign] = max(longest[sign], run_length)
    assert stats["longest_win_streak"] == longest[1]
    assert stats["longest_loss_streak"] == longest[-1]
    r_values = [row["r_multiple"] for row in data["trades"] if row["r_multiple"] is not None]
    assert stats["avg_r_multiple"] == pytest.approx(sum(r_values) / len(r_values), abs=1e-5)


def test_console_shows_every_section_in_new_york_time(run):
    result, data = run
    console = Console(record=True, width=200)
    print_summary(result, console, data)
    out = console.export_text()
    for title in (
        "Benchmark (equal-weight buy and hold)",
        "Max drawdown period",
        "Trade statistics",
        "By symbol",
        "By month",
        "By weekday",
    ):
        assert title in out
    bench = data["benchmark"]
    assert f"{bench['total_return_pct']:,.2f} %" in out
    assert f"{bench['excess_return_pct']:,.2f} pp" in out
    peak = datetime.fromisoformat(data["drawdown"]["peak_time"]).astimezone(NY)
    assert peak.strftime("%Y-%m-%d %H:%M %Z") in out and "EDT" in out
    assert "America/New_York" in out
    for row in data["breakdown"]["by_symbol"]:
        assert f"${row['net_pnl']:,.2f}".replace("$-", "-$") in out
    assert "2025-07" in out and "Wednesday" in out
    assert "Average R-multiple" in out and "Longest losing streak" in out


def test_html_contains_every_section_and_no_utc_times(run):
    result, data = run
    text = render_html(result, data)
    for title in (
        "<h2>Benchmark (equal-weight buy and hold)</h2>",
        "<h2>Max drawdown period</h2>",
        "<h2>Trade statistics</h2>",
        "<h2>By symbol</h2>",
        "<h2>By month</h2>",
        "<h2>By weekday</h2>",
    ):
        assert title in text
    trade = data["trades"][0]
    entry = datetime.fromisoformat(trade["entry_time"]).astimezone(NY)
    assert f"<td>{entry.strftime('%Y-%m-%d %H:%M %Z')}</td>" in text
    assert trade["entry_time"] not in text  # the UTC text is for the JSON only
    assert "(UTC)" not in text
    assert f"{data['benchmark']['total_return_pct']:,.2f} %" in text


def test_var_95_is_never_negative_zero_on_a_quiet_real_run(shared_data, tmp_path):
    """SPY alone, default rules: 4 trades in 59 sessions, the 5th-percentile return is 0."""
    settings = load_settings(None, {"data_dir": tmp_path, "symbols": ["SPY"], "timeframe": "5m"})
    request = BacktestRequest(START, END, ("SPY",), "5m", shared_data / SAMPLE, {})
    result = asyncio.run(run_backtest(settings, request))
    assert result.metrics.exposure_pct < 5
    var = result.metrics.var_95_pct
    assert var == 0.0 and math.copysign(1.0, var) == 1.0
    text = json.dumps(result_to_dict(result)["metrics"])
    assert '"var_95_pct": 0.0' in text and "-0.0" not in text


def test_no_negative_zero_from_rounding_or_flat_equity():
    flat = np.full(50, CAPITAL)
    start = datetime(2025, 6, 5, 13, 35, tzinfo=UTC)
    metrics = metrics_from_arrays(flat, (start, start + BAR * 49), [], CAPITAL, 5)
    assert metrics.var_95_pct is not None and math.copysign(1.0, metrics.var_95_pct) == 1.0
    assert str(finite_or_none(-1e-9, 6)) == "0.0"  # rounds to zero: no sign
    assert format_number(-0.001, "%") == "0.00 %" and format_number(-0.001, "USD") == "$0.00"


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2024, 3, 26), date(2025, 3, 31)), (date(2025, 6, 5), date(2025, 6, 30)),
     (date(2024, 12, 31), date(2025, 1, 1)), (date(1999, 11, 30), date(2001, 2, 1))],
)  # fmt: skip
def test_months_between_lists_every_calendar_month_as_pandas_periods_do(start, end):
    expected = [str(period) for period in pd.period_range(start=start, end=end, freq="M")]
    assert months_between(start, end) == expected


def test_empty_and_break_even_trades_in_the_stats():
    """Edge cases on two real SPY prices (2025-06-05 09:30 open 597.63, 09:35 close)."""
    t0 = datetime(2025, 6, 5, 13, 30, tzinfo=UTC)
    flat = Trade("SPY", PositionSide.LONG, 10, t0, 597.63)
    flat.close(t0 + BAR, 597.63, ExitReason.END_OF_DAY)
    assert trade_stats(closed_trades([])).best_trade is None
    stats = trade_stats(closed_trades([flat], [597.63]))
    assert (stats.longest_win_streak, stats.longest_loss_streak) == (0, 0)
    assert stats.avg_win_minutes is None and stats.avg_r_multiple is None  # R = 0: undefined
    assert longest_run(np.array([True, True, False, True])) == 2


def test_backtest_command_writes_the_sections_it_prints(tmp_path):
    """The real ``python -m vibe.trading_bot backtest`` on the repository's sample data."""
    examples = REPO_ROOT / "examples" / "data"
    out = tmp_path / "bt.json"
    names = {name.upper() for name in setting_names()}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(PYTHONPATH=str(REPO_ROOT), DATA_DIR=str(tmp_path / "data"), COLUMNS="200", TZ="UTC")
    args = ["backtest", "--start", "2025-06-05", "--end", "2025-08-28", "--data", str(examples)]
    args += ["--symbols", "AAPL,MSFT,SPY", "--param", "trend_filter=false", "--output", str(out)]
    done = bot(tmp_path, *args, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    returns = []
    for symbol in ("AAPL", "MSFT", "SPY"):
        bars = pd.read_csv(examples / f"{symbol}_5m.csv")
        bars = bars[bars["timestamp"].str[:10].between("2025-06-05", "2025-08-28")]
        returns.append((bars["close"].iloc[-1] / bars["open"].iloc[0] - 1) * 100)
    bench = data["benchmark"]
    assert bench["total_return_pct"] == pytest.approx(sum(returns) / 3, abs=1e-6)
    assert bench["excess_return_pct"] == pytest.approx(
        data["metrics"]["total_return_pct"] - sum(returns) / 3, abs=1e-5
    )
    assert len(data["benchmark_equity"]) == len(data["equity_curve"])
    assert sum(row["trades"] for row in data["breakdown"]["by_symbol"]) == len(data["trades"])
    stdout = done.stdout
    for title in ("Benchmark (equal-weight buy and hold)", "By symbol", "By weekday"):
        assert title in stdout
    assert f"{bench['total_return_pct']:,.2f} %" in stdout
    assert " EDT" in stdout  # New York time even on a machine set to UTC
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "<h2>By month</h2>" in html and "<h2>Max drawdown period</h2>" in html


def test_a_symbol_without_bars_at_the_start_is_held_as_cash_until_its_first_bar(shared_data):
    """Real SPY and AAPL bars of 2025-06-05/06; AAPL's file cut to start on the 6th."""
    from vibe.trading_bot.backtest.benchmark import buy_and_hold

    frames = {}
    for symbol in ("SPY", "AAPL"):
        bars = csv_bars(shared_data, symbol)
        bars = bars[bars["timestamp"].str[:10] <= "2025-06-06"].set_index("start")
        frames[symbol] = bars[["open", "high", "low", "close", "volume"]]
    frames["AAPL"] = frames["AAPL"][frames["AAPL"].index >= "2025-06-06T13:30:00Z"]
    times = [ts.to_pydatetime() + BAR for ts in frames["SPY"].index]
    tables = {symbol: BarTable.from_frame(frame) for symbol, frame in frames.items()}
    bench = buy_and_hold(tables, ["SPY", "AAPL"], curve_at(times), CAPITAL, 300)
    assert bench is not None
    half = CAPITAL / 2
    spy, aapl = frames["SPY"], frames["AAPL"]
    first_day = len(spy) - len(aapl)
    assert first_day == 78
    expected_day1 = half + half / spy["open"].iloc[0] * spy["close"].iloc[:first_day]
    assert bench.equity[:first_day] == pytest.approx(expected_day1.to_numpy(), abs=1e-9)
    expected_day2 = half / spy["open"].iloc[0] * spy["close"].iloc[first_day:].to_numpy()
    expected_day2 += half / aapl["open"].iloc[0] * aapl["close"].to_numpy()
    assert bench.equity[first_day:] == pytest.approx(expected_day2, abs=1e-9)
    legs = {leg.symbol: leg for leg in bench.symbols}
    assert legs["AAPL"].first_bar_time == datetime(2025, 6, 6, 13, 30, tzinfo=UTC)
    assert buy_and_hold(tables, ["SPY"], curve_at([]), CAPITAL, 300) is None


def test_bars_that_cannot_be_read_again_leave_the_benchmark_leg_empty(shared_data):
    """A provider failing at the second read: one warning, that share held as cash."""
    from vibe.trading_bot.backtest.benchmark import buy_and_hold
    from vibe.trading_bot.backtest.session_bars import session_bars

    spy = csv_bars(shared_data, "SPY")
    spy = spy[spy["timestamp"].str[:10] == "2025-06-05"].set_index("start")
    spy = spy[["open", "high", "low", "close", "volume"]]

    class Sessions:
        def session_list(self, start, end):
            return [(START, spy.index[0].to_pydatetime(), spy.index[-1].to_pydatetime() + BAR)]

    class Data:
        async def get_history_table(self, symbol, timeframe, start, end):
            if symbol == "AAPL":
                raise RuntimeError("provider closed")
            return BarTable.from_frame(spy[(spy.index >= start) & (spy.index < end)])

    stand_ins: tuple[Any, Any] = (Data(), Sessions())
    frames = asyncio.run(session_bars(*stand_ins, ["SPY", "AAPL"], "5m", START, START))
    spy_read = frames["SPY"]
    assert frames["AAPL"] is None and spy_read is not None and len(spy_read) == 78
    times = [ts.to_pydatetime() + BAR for ts in spy.index]
    bench = buy_and_hold(frames, ["SPY", "AAPL"], curve_at(times), CAPITAL, 300)
    assert bench is not None
    legs = {leg.symbol: leg for leg in bench.symbols}
    assert legs["AAPL"].return_pct is None
    expected = CAPITAL / 2 * spy["close"].iloc[-1] / spy["open"].iloc[0] + CAPITAL / 2
    assert bench.final_equity == pytest.approx(expected, abs=1e-9)


def test_the_benchmark_reuses_the_bars_the_run_read(shared_data, tmp_path, monkeypatch):
    """One read of each symbol's bar file per backtest: the benchmark uses the feed's bars."""
    from vibe.trading_bot.data.providers.replay import ReplayProvider

    reads: list[str] = []
    original = ReplayProvider.get_history_table

    async def counted(self, symbol, timeframe, start, end):  # type: ignore[no-untyped-def]
        reads.append(symbol)
        return await original(self, symbol, timeframe, start, end)

    monkeypatch.setattr(ReplayProvider, "get_history_table", counted)
    saved = dict(os.environ)
    _clean_env()
    try:
        settings = load_settings(None, {"data_dir": tmp_path, "symbols": ["SPY", "AAPL"]})
        request = BacktestRequest(START, date(2025, 6, 11), ("AAPL", "SPY"), "5m",
                                  shared_data / SAMPLE, {})  # fmt: skip
        result = asyncio.run(run_backtest(settings, request))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert sorted(reads) == ["AAPL", "SPY"]
    assert result.benchmark is not None
    spy = csv_bars(shared_data, "SPY")
    spy = spy[spy["timestamp"].str[:10] <= "2025-06-11"]
    leg = {leg.symbol: leg for leg in result.benchmark.symbols}["SPY"]
    expected = (spy["close"].iloc[-1] / spy["open"].iloc[0] - 1) * 100
    assert leg.return_pct == pytest.approx(expected, abs=1e-9)
