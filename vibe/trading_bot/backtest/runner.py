"""``backtest``: the daemon's own orchestrator on a simulated clock, as fast as it goes.

The run is the same code path as ``run --replay`` (same feed, processor,
exchange, executor and stores) with these differences: the stores live in a
temporary folder (never the live ``DATA_DIR`` databases; in RAM when
:mod:`.scratch_dir` finds room) that is deleted afterwards; no health server;
no cloud sync; notifications only with ``--notify``; the equity curve is kept
at every bar close; console logging is at WARNING. Indicators are warmed up
on the sessions before ``--start``.

After the run, the result also gets each trade's initial stop (from the stored
bracket orders, :mod:`.initial_stops`) and the buy-and-hold benchmark over the
traded sessions' bars (:mod:`.benchmark`, bars from :mod:`.session_bars`); those bars
and the sessions are kept for the report's price charts (:mod:`.price_history`).

``--param name=value`` overrides any strategy, risk, slippage or commission
setting (``settings`` name in lower case) and ``initial_capital``; other names
are refused with the list of accepted ones.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vibe.common.errors import InvalidInputError
from vibe.common.models import Trade
from vibe.trading_bot.backtest.benchmark import Benchmark, buy_and_hold
from vibe.trading_bot.backtest.curve_columns import CurveColumns
from vibe.trading_bot.backtest.initial_stops import initial_stops
from vibe.trading_bot.backtest.metrics import metrics_from_arrays
from vibe.trading_bot.backtest.price_history import PriceHistory, price_history
from vibe.trading_bot.backtest.report import BacktestConfig, BacktestResult, ParamValue
from vibe.trading_bot.backtest.scratch_dir import scratch_parent
from vibe.trading_bot.backtest.session_bars import in_sessions, session_bars
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.bar_processor import BarProcessor
from vibe.trading_bot.core.run_plan import ProgressHook, RunMode, RunPlan
from vibe.trading_bot.core.scheduler import NEW_YORK
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.storage.trade_store import TradeStore

if TYPE_CHECKING:
    from vibe.trading_bot.core.daemon import Daemon
    from vibe.trading_bot.data.bar_table import BarTable

PARAM_GROUPS = ("strategy", "risk", "exchange")
EXTRA_PARAMS = ("initial_capital",)


def allowed_params() -> list[str]:
    """Every name ``--param`` accepts (settings names in lower case), sorted."""
    from vibe.trading_bot.config.settings import (
        ExchangeSettings,
        RiskSettings,
        StrategySettings,
    )

    names = set(EXTRA_PARAMS)
    for group in (StrategySettings, RiskSettings, ExchangeSettings):
        names.update(group.model_fields)
    return sorted(names)


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``["name=value", ...]`` -> ``{name: value}`` (values are validated by the settings).

    Raises:
        InvalidInputError: a pair without ``=`` or an unknown name (the message lists
            the accepted names).
    """
    allowed = allowed_params()
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise InvalidInputError(f"--param {pair!r}: expected name=value")
        if name not in allowed:
            raise InvalidInputError(
                f"--param {name}: unknown; expected one of {', '.join(allowed)}"
            )
        params[name] = value.strip()
    return params


@dataclass(frozen=True)
class BacktestRequest:
    """What the user asked for (dates inclusive, ET session dates)."""

    start: date
    end: date
    symbols: tuple[str, ...]
    timeframe: str
    data: Path | None
    params: Mapping[str, str]
    notify: bool = False


async def run_backtest(
    settings: AppSettings,
    request: BacktestRequest,
    progress: ProgressHook | None = None,
    *,
    handle_signals: bool = True,
    report_extras: bool = True,
) -> BacktestResult:
    """Run the backtest and collect its result (trades, equity curve, metrics, rejections).

    ``handle_signals=False`` leaves SIGINT/SIGTERM alone (a worker thread or a
    pool worker of ``optimize``, where the parent process handles Ctrl-C).
    ``report_extras=False`` skips what only the reports show: each trade's initial
    stop, the buy-and-hold benchmark and the price history (``optimize`` trials,
    which keep the metrics only); trades, equity and metrics are the same.

    Raises:
        InvalidInputError: bad dates or no session in range.
        NoDataError: a symbol has no bars in the range.
        DataError: the data folder is unreadable.
    """
    from vibe.trading_bot.core.orchestrator import Orchestrator

    days = (request.end - request.start).days + 1
    parent = scratch_parent(len(request.symbols), days)
    with tempfile.TemporaryDirectory(prefix="vibe-backtest-", dir=parent) as workdir:
        plan = RunPlan(
            RunMode.BACKTEST,
            Path(workdir),
            request.symbols,
            request.timeframe,
            replay_dir=request.data,
            start=request.start,
            end=request.end,
            serve_health=False,
            notify=request.notify,
            cloud_sync=False,
            record_equity=True,
            resume=False,
            progress=progress,
        )
        outcome = await Orchestrator(settings, plan, handle_signals=handle_signals).run()
        store = TradeStore.in_data_dir(Path(workdir), outcome.daemon.clock)
        try:
            trades = store.get_trades()
            stops = initial_stops(trades, store.get_orders()) if report_extras else []
        finally:
            store.close()
    processor = outcome.daemon.processor
    curve = processor.take_equity_curve() if processor is not None else []
    if outcome.stop_reason is not None:  # the report covers the sessions that ran
        last = curve[-1][0].astimezone(NEW_YORK).date() if curve else request.start
        request = dataclasses.replace(request, end=max(request.start, last))
    result = _result(settings, request, trades, curve, processor)
    tables = outcome.feed.tables if outcome.feed is not None else {}
    benchmark, prices = None, None
    if report_extras:
        benchmark, prices = await _benchmark(
            outcome.daemon, request, result.curve_columns, settings, tables
        )
    return result.replaced(
        stop_reason=outcome.stop_reason,
        benchmark=benchmark,
        initial_stops=tuple(stops),
        prices=prices,
    )


async def _benchmark(
    daemon: Daemon,
    request: BacktestRequest,
    curve: CurveColumns,
    settings: AppSettings,
    loaded: Mapping[str, BarTable | None],
) -> tuple[Benchmark | None, PriceHistory | None]:
    """Equal-weight buy and hold of the run's symbols over the bars it traded, and those bars.

    ``curve``: the run's equity curve as columns (the result's, shared with the reports).
    ``loaded``: the bars the run's feed read (no second read), else the data
    manager is asked again (:func:`.session_bars`).
    """
    if not curve.times:
        return None, None
    sessions = daemon.scheduler.session_list(request.start, request.end)
    if set(loaded) >= set(request.symbols):
        bars: dict[str, BarTable | None] = {}
        for symbol in request.symbols:
            table = loaded[symbol]
            bars[symbol] = None if table is None else in_sessions(table, sessions)
    else:
        bars = await session_bars(
            daemon.data,
            daemon.scheduler,
            request.symbols,
            request.timeframe,
            request.start,
            request.end,
        )
    bar_seconds = timeframe_seconds(request.timeframe)
    capital = settings.trading.initial_capital
    benchmark = buy_and_hold(bars, request.symbols, curve, capital, bar_seconds)
    prices = price_history(bars, sessions, settings.strategy.orb_minutes, bar_seconds)
    return benchmark, prices


def typed_params(settings: AppSettings, params: Mapping[str, str]) -> dict[str, ParamValue]:
    """The ``--param`` values as the settings parsed them (bool, int, float or str)."""
    groups = [settings.trading, settings.strategy, settings.risk, settings.exchange]
    typed: dict[str, ParamValue] = {}
    for name in params:
        for group in groups:
            if name in type(group).model_fields:
                value = getattr(group, name)
                typed[name] = value if isinstance(value, bool | int | float) else str(value)
    return typed


def _result(
    settings: AppSettings,
    request: BacktestRequest,
    trades: list[Trade],
    curve: list[tuple[datetime, float]],
    processor: BarProcessor | None,
) -> BacktestResult:
    capital = settings.trading.initial_capital
    equity = np.fromiter(map(itemgetter(1), curve), dtype=float, count=len(curve))
    period = (curve[0][0], curve[-1][0]) if curve else None
    in_market = np.array(processor.in_market if processor is not None else [], dtype=bool)
    closed = [t.pnl for t in trades if t.pnl is not None]
    bar_minutes = timeframe_seconds(request.timeframe) // 60
    metrics = metrics_from_arrays(equity, period, closed, capital, bar_minutes, in_market)
    exchange = settings.exchange
    config = BacktestConfig(
        symbols=list(request.symbols),
        start=request.start,
        end=request.end,
        timeframe=request.timeframe,
        params=typed_params(settings, request.params),
        initial_capital=capital,
        slippage_model=exchange.slippage_model,
        commission_model=exchange.commission_model,
    )
    rejections = dict(processor.rejections) if processor is not None else {}
    return BacktestResult(config, metrics, trades, curve, rejections)
