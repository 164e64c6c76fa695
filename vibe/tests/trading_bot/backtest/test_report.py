"""Backtest report writers: JSON contract and console summary (HTML: test_html_report.py)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from rich.console import Console

from vibe.common.errors import InvalidInputError, StorageError
from vibe.common.models import ExitReason, PositionSide, Trade
from vibe.trading_bot.backtest.console import print_summary
from vibe.trading_bot.backtest.metrics import compute_metrics
from vibe.trading_bot.backtest.report import (
    BacktestConfig,
    BacktestResult,
    default_output_path,
    equity_points,
    html_path_for,
    iso_utc,
    result_to_dict,
    write_json,
)

# The JSON contract, spelled out as the test's spec.
TOP_KEYS = {"config", "metrics", "trades", "equity_curve", "rejections"}
TOP_KEYS |= {"benchmark", "benchmark_equity", "drawdown", "trade_stats", "breakdown"}
CONFIG_KEYS = {
    "symbols",
    "start",
    "end",
    "timeframe",
    "params",
    "initial_capital",
    "slippage_model",
    "commission_model",
}
METRIC_KEYS = {
    "total_return_pct",
    "cagr_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "expectancy_usd",
    "num_trades",
    "exposure_pct",
    "var_95_pct",
    "final_equity",
}
TRADE_KEYS = {
    "symbol",
    "side",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "pnl_pct",
    "fees",
    "slippage_cost",
    "exit_reason",
    "initial_stop",
    "r_multiple",
}
EXIT_REASONS = {"stop_loss", "take_profit", "end_of_day", "shutdown"}

CAPITAL = 100_000.0
FEE_PER_SIDE = 1.0
DAYS = ("2025-06-04", "2025-06-05")
# (symbol, side, quantity, entry bar, exit bar, reason): bar = index in the 2-day 5m series.
PLAN = [
    ("SPY", PositionSide.LONG, 50, 6, 30, ExitReason.TAKE_PROFIT),
    ("AAPL", PositionSide.SHORT, 100, 8, 77, ExitReason.END_OF_DAY),
    ("SPY", PositionSide.SHORT, 40, 84, 100, ExitReason.STOP_LOSS),
    ("AAPL", PositionSide.LONG, 60, 90, 155, ExitReason.SHUTDOWN),
]


def load_closes(shared_data, symbol):
    path = shared_data / "bars_5m" / "yfinance_2025-06_2025-08" / f"{symbol}_5m.csv"
    frame = pd.read_csv(path)
    frame = frame[frame["timestamp"].str[:10].isin(DAYS)]
    close_times = pd.to_datetime(frame["timestamp"], utc=True) + pd.Timedelta(minutes=5)
    return pd.Series(frame["close"].to_numpy(), index=close_times, name=symbol)


def simulate(closes, plan):
    """Fill at bar closes of real prices; equity = capital + realized + open marks - fees."""
    index = closes["SPY"].index
    trades, realized, fees_paid = [], [0.0] * len(index), [0.0] * len(index)
    open_marks = [0.0] * len(index)
    for symbol, side, qty, i, j, reason in plan:
        px = closes[symbol]
        trade = Trade(symbol, side, qty, index[i].to_pydatetime(), float(px.iloc[i]), fees=1.0)
        trade.close(index[j].to_pydatetime(), float(px.iloc[j]), reason, fees=FEE_PER_SIDE)
        trades.append(trade)
        gross = trade.gross_pnl
        assert gross is not None
        for k in range(i, len(index)):
            fees_paid[k] += FEE_PER_SIDE + (FEE_PER_SIDE if k >= j else 0.0)
            if k < j:
                open_marks[k] += (float(px.iloc[k]) - trade.entry_price) * qty * side.sign
            else:
                realized[k] += gross
    equity = [CAPITAL + r + m - f for r, m, f in zip(realized, open_marks, fees_paid, strict=True)]
    return trades, pd.Series(equity, index=index)


def build_real_result(shared_data):
    """Two real 5m sessions of SPY and AAPL with the PLAN trades (also used by the HTML tests)."""
    closes = {sym: load_closes(shared_data, sym) for sym in ("SPY", "AAPL")}
    assert closes["SPY"].index.equals(closes["AAPL"].index)
    assert len(closes["SPY"]) == 156  # two full 78-bar sessions
    trades, equity = simulate(closes, PLAN)
    in_market = pd.Series(
        [any(t.entry_time <= ts < t.exit_time for t in trades) for ts in equity.index],
        index=equity.index,
    )
    metrics = compute_metrics(equity, [t.pnl for t in trades], CAPITAL, 5, in_market)
    config = BacktestConfig(
        symbols=["SPY", "AAPL"],
        start=date(2025, 6, 4),
        end=date(2025, 6, 5),
        timeframe="5m",
        params={"trend_filter": False, "max_open_positions": 20, "stop_loss_pct": 0.5},
        initial_capital=CAPITAL,
        slippage_model="bps",
        commission_model="per_share",
    )
    curve = [(ts.to_pydatetime(), float(v)) for ts, v in equity.items()]
    rejections = {"max_open_positions": 3, "trend_filter": 7, "[bold]markup[/bold]": 1}
    return BacktestResult(config, metrics, trades, curve, rejections)


@pytest.fixture(scope="module")
def real_result(shared_data):
    return build_real_result(shared_data)


def reject_constant(name):
    raise AssertionError(f"non-standard JSON constant {name}")


def load_json(path):
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject_constant)


def test_json_has_exactly_the_spec_keys(real_result, tmp_path):
    path = write_json(real_result, tmp_path / "out" / "bt.json")
    data = load_json(path)
    assert set(data) == TOP_KEYS
    assert set(data["config"]) == CONFIG_KEYS
    assert set(data["metrics"]) == METRIC_KEYS
    assert len(data["trades"]) == len(PLAN)
    for trade in data["trades"]:
        assert set(trade) == TRADE_KEYS
        assert trade["side"] in {"long", "short"}
        assert trade["exit_reason"] in EXIT_REASONS
    assert {t["exit_reason"] for t in data["trades"]} == EXIT_REASONS
    assert len(data["equity_curve"]) == len(real_result.equity_curve)
    assert all(len(point) == 2 for point in data["equity_curve"])
    assert data["rejections"] == real_result.rejections
    assert data == json.loads(json.dumps(result_to_dict(real_result)))


def test_json_values_times_and_rounding(real_result, tmp_path):
    data = load_json(write_json(real_result, tmp_path / "bt.json"))
    config = data["config"]
    assert config["start"] == "2025-06-04" and config["end"] == "2025-06-05"
    assert config["params"] == {
        "trend_filter": False,
        "max_open_positions": 20,
        "stop_loss_pct": 0.5,
    }
    for got, trade in zip(data["trades"], real_result.trades, strict=True):
        entry = datetime.fromisoformat(got["entry_time"])
        assert entry.utcoffset() == timedelta(0)
        assert entry == trade.entry_time
        assert datetime.fromisoformat(got["exit_time"]) == trade.exit_time
        assert got["entry_price"] == trade.entry_price  # real 4-decimal prices kept as they are
        assert got["pnl"] == round(trade.pnl, 2)
        assert got["fees"] == 2.0
        assert isinstance(got["quantity"], int)
    first_time, first_equity = data["equity_curve"][0]
    assert datetime.fromisoformat(first_time) == datetime(2025, 6, 4, 13, 35, tzinfo=UTC)
    assert first_equity == CAPITAL
    last_equity = real_result.equity_curve[-1][1]
    assert data["metrics"]["final_equity"] == round(last_equity, 2)
    assert data["metrics"]["num_trades"] == 4
    pnl_sum = sum(t.pnl for t in real_result.trades)
    assert last_equity == pytest.approx(CAPITAL + pnl_sum)


def test_equity_times_match_python_isoformat(real_result):
    ny = ZoneInfo("America/New_York")
    curve = [(when.astimezone(ny), value) for when, value in real_result.equity_curve]
    curve.append((curve[-1][0] + timedelta(days=200, seconds=1), 1.0))  # another day, odd second
    points = equity_points(curve)
    assert [p[0] for p in points] == [iso_utc("t", when) for when, _ in curve]
    assert [p[1] for p in points] == [round(value, 2) for _, value in curve]
    assert points[0][0] == "2025-06-04T13:35:00+00:00"
    fractional = [(curve[0][0] + timedelta(microseconds=250), 5.0)]
    assert equity_points(fractional) == [("2025-06-04T13:35:00.000250+00:00", 5.0)]
    with pytest.raises(InvalidInputError, match="naive"):
        equity_points([(datetime(2025, 6, 4, 13, 35), 1.0)])  # noqa: DTZ001


def test_nan_and_inf_become_null(real_result, tmp_path):
    metrics = dataclasses.replace(
        real_result.metrics, sharpe=math.nan, profit_factor=math.inf, cagr_pct=-math.inf
    )
    config = dataclasses.replace(real_result.config, params={"x": math.nan})
    curve = [*real_result.equity_curve[:2], (real_result.equity_curve[2][0], math.nan)]
    result = dataclasses.replace(real_result, metrics=metrics, config=config, equity_curve=curve)
    path = write_json(result, tmp_path / "bt.json")
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    data = load_json(path)
    assert data["metrics"]["sharpe"] is None
    assert data["metrics"]["profit_factor"] is None
    assert data["metrics"]["cagr_pct"] is None
    assert data["config"]["params"] == {"x": None}
    assert data["equity_curve"][2][1] is None


def test_naive_time_is_rejected_and_old_file_kept(real_result, tmp_path):
    path = tmp_path / "bt.json"
    path.write_text("old", encoding="utf-8")
    naive = [(datetime(2025, 6, 4, 13, 35), CAPITAL)]  # noqa: DTZ001 - the bad input under test
    with pytest.raises(InvalidInputError, match="naive"):
        write_json(dataclasses.replace(real_result, equity_curve=naive), path)
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bt.json"]


def test_write_json_failure_names_path_and_leaves_nothing(real_result, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the file should go: os.replace fails after the temp write
    with pytest.raises(StorageError, match=str(target)):
        write_json(real_result, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert list(target.iterdir()) == []

    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    bad = blocker / "sub" / "bt.json"  # parent "folder" is a file
    with pytest.raises(StorageError, match=str(bad)):
        write_json(real_result, bad)


def test_write_json_replaces_existing_file(real_result, tmp_path):
    path = tmp_path / "bt.json"
    path.write_text("old", encoding="utf-8")
    write_json(real_result, path)
    assert load_json(path)["metrics"]["num_trades"] == 4
    assert (path.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bt.json"]


def test_default_output_path_and_html_path(tmp_path):
    now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC) + timedelta(hours=5)
    path = default_output_path(tmp_path, now.astimezone(datetime.now(UTC).astimezone().tzinfo))
    assert path == tmp_path / "backtest_20261121T143000Z.json"
    assert html_path_for(path) == tmp_path / "backtest_20261121T143000Z.html"
    with pytest.raises(InvalidInputError, match="now="):
        default_output_path(tmp_path, datetime(2026, 11, 21))  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match=r"report\.html"):
        html_path_for(tmp_path / "report.html")


def test_print_summary_shows_metrics_exits_and_rejections(real_result):
    console = Console(record=True, width=120)
    print_summary(real_result, console)
    out = console.export_text()
    final = f"${real_result.metrics.final_equity:,.2f}"
    assert final in out
    for label in ("Total return", "Sharpe ratio", "Max drawdown", "Win rate", "Trades"):
        assert label in out
    for reason in EXIT_REASONS:
        assert reason in out
    assert out.index("trend_filter") < out.index("max_open_positions")  # most rejections first
    assert "[bold]markup[/bold]" in out  # printed literally, not as rich markup


def test_print_summary_without_trades_or_rejections(real_result):
    console = Console(record=True, width=120)
    print_summary(dataclasses.replace(real_result, trades=[], rejections={}), console)
    out = console.export_text()
    assert "Final equity" in out and "Exit reason" not in out and "Rule" not in out


def test_rounded_list_rounds_exactly_like_round():
    """numpy's round scales by 10**n first and can fall on the wrong side of a half."""
    import numpy as np

    from vibe.trading_bot.backtest.json_values import rounded_list

    rng = np.random.default_rng(7)
    halves = np.round(rng.uniform(90_000, 110_000, 20_000), 2) + 0.005  # ties in decimal
    values = np.concatenate([halves, rng.uniform(-1e6, 1e6, 20_000), [100255.515, -0.004]])
    for ndigits in (2, 6):
        assert rounded_list(values, ndigits) == [round(v, ndigits) + 0.0 for v in values.tolist()]
    assert rounded_list(np.array([1.0, math.nan, math.inf]), 2) == [1.0, None, None]
    assert str(rounded_list(np.array([-0.004]), 2)[0]) == "0.0"  # no -0.0
