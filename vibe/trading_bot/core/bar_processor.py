"""One closed bar through the trading path: exchange -> strategy -> risk -> executor.

The same object serves live trading, ``run --replay`` and ``backtest`` (that
is what makes their trades equal on the same data). For each bar, in order:

1. the exchange is fed the bar (:meth:`TradeExecutor.on_bar`): orders sent at
   earlier bar closes fill at this bar's open, stops and take-profits trigger on
   its range, and positions are marked to its close;
2. the strategy sees the bar with its session's open and close (early closes
   come from the calendar) and the current position in the symbol;
3. each signal goes through the executor (risk checks, order manager, venue).

All three happen at the bar's close: the trading time of the decision is
pinned to ``bar.end`` (:func:`~vibe.common.clock.decision_time`), so a live
order is stamped as in a replay, however late the bar arrived on the wall
clock, and fills at the open of the next bar. The end-of-day flatten is
likewise decided at the session close.

Every refused entry (a strategy validation rule, the risk manager, the circuit
breaker or the venue) is counted in :attr:`BarProcessor.rejections` by rule and
stored as one ``trading/entry_rejected`` metric (see :mod:`.entry_rejections`).

An exception while handling one symbol's bar is isolated: it is logged,
counted per symbol and reported to health; the other symbols and later bars
carry on. At the session close, :meth:`BarProcessor.end_session` flattens any
position the strategy could not close itself (e.g. the data ended before the
flatten bar) at the symbol's last bar close, then expires day orders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from vibe.common.clock import decision_time, pin_decision_time, unpin_decision_time
from vibe.common.models import Bar, ExitReason
from vibe.common.strategies.base import BarContext, Rejection, Strategy
from vibe.trading_bot.core.entry_rejections import (
    METRIC_NAME,
    METRIC_TYPE,
    RefusedEntry,
    RejectionStage,
    refused_entry,
)
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.core.quiet_equity import quiet_points
from vibe.trading_bot.exchange.mock_exchange import INSUFFICIENT_CASH_AT_FILL
from vibe.trading_bot.execution.trade_executor import TradeExecutor
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


class BarProcessor:
    """Feeds bars of one session at a time to the exchange, the strategy and the executor.

    Args:
        strategy: the signal generator (e.g. :class:`~vibe.common.strategies.orb.OrbStrategy`).
        executor: the execution core (exchange, risk, orders, portfolio).
        health: per-symbol errors are reported here (state DEGRADED while any occur).
        record_equity: keep ``(bar close time, equity USD)`` after every bar group
            (:meth:`mark_equity`), for the backtest's equity curve.
        pin_decisions: pin the decision time to each bar's close (a
            :class:`~vibe.common.clock.LiveClock`, which reads the pin); a simulated
            clock already stands at the bar's close and ignores pins, so replays and
            backtests skip the two context-variable writes per bar.

    Attributes:
        rejections: refused entries per rule name, every stage (strategy rules,
            risk manager and circuit breaker, venue).
        bars_processed: bars taken in, traded or quiet.
        quiet_bars: of those, bars taken in by :meth:`pass_quiet` (no decision needed).
    """

    def __init__(
        self,
        strategy: Strategy,
        executor: TradeExecutor,
        health: HealthReporter,
        *,
        record_equity: bool = False,
        pin_decisions: bool = True,
    ) -> None:
        self.strategy = strategy
        self.executor = executor
        self._health = health
        self._contexts: dict[str, BarContext] = {}
        self._session: tuple[datetime, datetime] | None = None
        self.last_bars: dict[str, Bar] = {}
        self.rejections: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.bars_processed = 0
        self.quiet_bars = 0
        self.signals = 0
        self.equity_curve: list[tuple[datetime, float]] | None = [] if record_equity else None
        self.in_market: list[bool] = []
        self._pin_decisions = pin_decisions

    def start_session(self, session_open: datetime, session_close: datetime) -> None:
        """Begin the session ``[session_open, session_close)`` (tz-aware UTC)."""
        self._session = (session_open, session_close)
        self._contexts = {}
        self.last_bars = {}

    def _context(self, symbol: str) -> BarContext:
        context = self._contexts.get(symbol)
        if context is None:
            if self._session is None:
                raise RuntimeError("BarProcessor.start_session() must be called before bars")
            context = self._contexts[symbol] = BarContext(*self._session)
        return context

    def warm_up(self, bar: Bar) -> None:
        """Show ``bar`` to the strategy only (state rebuild); its signals are dropped.

        For history before the first traded bar: earlier sessions (indicator and
        volume warm-up) and, after a restart, the current session's bars up to the
        resume point.
        """
        try:
            self.strategy.on_bar(bar, self._context(bar.symbol))
        except Exception as exc:  # one symbol's failure must not stop the others
            self._isolate(bar, exc)
        self.strategy.pop_rejections()
        self.last_bars[bar.symbol] = bar

    def process(self, bar: Bar) -> None:
        """Trade one closed bar (see the module doc); never raises for one symbol's failure."""
        symbol = bar.symbol
        executor = self.executor
        strategy = self.strategy
        pinned = pin_decision_time(bar.end) if self._pin_decisions else None
        try:
            executor.on_bar(bar)
            if executor.has_refused_at_fill:
                self._count_refused_at_fill()
            context = self._contexts.get(symbol) or self._context(symbol)
            context.position = executor.position_side(symbol)
            signals = strategy.on_bar(bar, context)
            if signals:
                for signal in signals:
                    self.signals += 1
                    refused = refused_entry(executor.handle_signal(signal))
                    if refused is not None:
                        self._count(refused)
            rejected = strategy.pop_rejections()
            if rejected:
                self._count_rejections(rejected)
        except Exception as exc:  # one symbol's failure must not stop the others
            self._isolate(bar, exc)
        finally:
            if pinned is not None:
                unpin_decision_time(pinned)
        self.last_bars[symbol] = bar
        self.bars_processed += 1

    def quiet_end(self, bars: Sequence[Bar], i: int) -> int:
        """End ``j >= i`` of the stretch ``bars[i:j]`` that needs no decision (``i``: none).

        A bar is quiet when the strategy is idle for its symbol
        (:meth:`Strategy.idle_until`) and its range stays strictly inside the
        symbol's quiet band (:meth:`TradeExecutor.quiet_band`: no working order can
        fill), while at most one position is open. Such a stretch is handed to
        :meth:`pass_quiet` instead of :meth:`process`, with the same outcome. The
        stretch ends at a bar-group boundary (``bars`` in time order, a group = one
        start time).
        """
        if i >= len(bars) or self.executor.portfolio.open_count > 1:
            return i
        idle_until, band = self.strategy.idle_until, self.executor.quiet_band
        limits: dict[str, tuple[datetime, float, float]] = {}
        symbol: str | None = None
        until, low, high = bars[i].timestamp, 0.0, 0.0  # set with the first symbol
        j, n = i, len(bars)
        while j < n:
            bar = bars[j]
            if bar.symbol != symbol:
                symbol = bar.symbol
                limit = limits.get(symbol)
                if limit is None:
                    idle = idle_until(symbol)
                    if idle is None:
                        break
                    limit = limits[symbol] = (idle, *band(symbol))
                until, low, high = limit
            if bar.timestamp >= until or bar.low <= low or bar.high >= high:
                break
            j += 1
        if i < j < n:  # not inside a group
            first = bars[j].timestamp
            while j > i and bars[j - 1].timestamp == first:
                j -= 1
        return j

    def pass_quiet(self, bars: Sequence[Bar], interval: timedelta) -> datetime:
        """Take in a quiet stretch from :meth:`quiet_end`, as :meth:`process` would; its last end.

        The strategy counts the bars (:meth:`Strategy.skip_bars`), each symbol's
        position is marked to its last close, and when recording the equity curve
        gets one point per bar group (:func:`~.quiet_equity.quiet_points`).

        Args:
            bars: the stretch, whole bar groups in time order (non-empty).
            interval: bar length; a group ends at its bars' start plus ``interval``.
        """
        symbols = {bar.symbol for bar in bars}
        by_symbol: dict[str, Sequence[Bar]] = {bars[0].symbol: bars}
        if len(symbols) > 1:
            grouped: dict[str, list[Bar]] = {symbol: [] for symbol in symbols}
            for bar in bars:
                grouped[bar.symbol].append(bar)
            by_symbol = dict(grouped)
        if self.equity_curve is not None:
            portfolio = self.executor.portfolio
            points = quiet_points(bars, interval, portfolio, one_symbol=len(symbols) == 1)
            self.equity_curve.extend(points)
            self.in_market.extend([portfolio.has_open_positions] * len(points))
        for symbol, own in by_symbol.items():
            self.strategy.skip_bars(own)
            self.executor.mark_bar(own[-1])
            self.last_bars[symbol] = own[-1]
        self.bars_processed += len(bars)
        self.quiet_bars += len(bars)
        return bars[-1].timestamp + interval

    def _count_refused_at_fill(self) -> None:
        for symbol in self.executor.pop_refused_at_fill():
            self._count(RefusedEntry(symbol, RejectionStage.VENUE, INSUFFICIENT_CASH_AT_FILL))

    def _count_rejections(self, rejected: list[Rejection]) -> None:
        for rejection in rejected:
            self._count(RefusedEntry(rejection.symbol, RejectionStage.STRATEGY, rejection.rule))

    def _count(self, refused: RefusedEntry) -> None:
        self.rejections[refused.rule] += 1
        self.executor.reporter.metric(
            METRIC_TYPE,
            METRIC_NAME,
            1.0,
            refused.symbol,
            stage=refused.stage.value,
            rule=refused.rule,
        )

    def mark_equity(self, at: datetime) -> None:
        """Append ``(at, equity)`` to the equity curve when recording (one per bar group).

        ``in_market`` gets ``True`` for the point when any position is open (exposure).
        """
        curve = self.equity_curve
        if curve is not None:
            portfolio = self.executor.portfolio
            curve.append((at, portfolio.equity))
            self.in_market.append(portfolio.has_open_positions)

    def take_equity_curve(self) -> list[tuple[datetime, float]]:
        """Hand the recorded equity curve over (see :meth:`mark_equity`); recording goes on anew.

        For the end of a run: afterwards only the caller holds the points, so they
        are freed by reference counting with the caller's result instead of waiting
        for the cyclic collector with the rest of the engine (a 1-minute year's
        ~100,000 ``(time, equity)`` tuples: ~20 ms of collection per ``optimize``
        trial). Empty when the processor does not record equity.
        """
        curve = self.equity_curve
        if curve is None:
            return []
        self.equity_curve = []
        return curve

    def end_session(self, session_close: datetime) -> None:
        """Flatten what is still open at the last bar's close, then expire day orders.

        A position is normally closed by the strategy's flatten signal before the
        close; one still open here (data ended early, an entry filled late, a
        restart) is closed with exit reason ``end_of_day`` at its symbol's last bar
        close of the session (plus slippage).
        """
        with decision_time(session_close):
            self._flatten(session_close)
        self._session = None

    def _flatten(self, session_close: datetime) -> None:
        executor = self.executor
        for symbol in executor.open_symbols():
            try:
                executor.close_position(symbol, ExitReason.END_OF_DAY, at=session_close)
                last = self.last_bars.get(symbol)
                if last is not None:
                    executor.fill_at_close(last)
                else:
                    _log.error("no bar this session to flatten at", symbol=symbol)
            except Exception as exc:  # flatten the others regardless
                self._health.record_error(f"end-of-day flatten of {symbol} failed: {exc!r}")
        executor.expire_day_orders(session_close)

    def _isolate(self, bar: Bar, exc: Exception) -> None:
        self.errors[bar.symbol] += 1
        message = f"{bar.symbol} bar at {bar.timestamp.isoformat()} failed: {exc!r}"
        _log.error("bar processing failed", symbol=bar.symbol, error=repr(exc))
        self._health.record_error(message)
        self._health.set_state(
            HealthState.DEGRADED, f"errors on {dict(self.errors)} (other symbols unaffected)"
        )
