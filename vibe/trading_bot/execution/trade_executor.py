"""TradeExecutor: signal -> risk -> order -> exchange; fills -> portfolio -> trades -> alerts.

Flow and rules:

* **Entries** are market brackets: the stop is the signal's; the take-profit is
  first the signal's (or ``take_profit_r`` x R from the signal price) and is
  recomputed from the actual entry fill with
  :func:`~vibe.common.risk.exit_levels` and amended at the venue when the
  entry first fills. If that fill is already at or beyond the stop
  (``stop_already_hit``), the take-profit leg is cancelled and the stop leg,
  which is then marketable, closes the position at once (in the mock exchange
  within the same bar, at its open plus slippage); the exit reason is ``stop_loss``.
* **Closes** cancel the bracket's legs (and an unfilled entry remainder) first,
  then send a market close. A close signal for a symbol whose entry has not
  filled yet cancels that entry instead.
* **Round trips** are booked by :class:`~.trade_recorder.TradeRecorder` in the
  trade store, with fees and slippage cost of both legs (USD) and the exit
  reason (``stop_loss`` / ``take_profit`` from the legs, otherwise the reason of
  the close: ``end_of_day``, ``shutdown``, ``manual``).
* **Metrics** go through :class:`~.reporting.ExecutionReporter` (buffered, one
  transaction per batch); **alerts** are queued and delivered by
  :meth:`TradeExecutor.flush_alerts` (async), so the synchronous core never waits
  for a notifier.
* **Circuit breaker**: see :mod:`.circuit_breaker`.
* **Entries paused** (:attr:`TradeExecutor.entries_paused`, the operator's switch):
  entries are refused with reason ``entries_paused``; closes always pass.

The core is synchronous (the backtest drives it directly); live code calls
:meth:`handle_signal` / :meth:`on_bar` through ``asyncio.to_thread`` because they
write SQLite. With no working order, :meth:`on_bar` costs the exchange's empty
check plus one dictionary lookup.

why-large: one signal path (entries, closes, refusals, the bar hook) whose branches share
the round trips and the unit of work; results, the book and the trade booking are in
:mod:`.outcome`, :mod:`.book` and :mod:`.trade_recorder`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError, VibeError
from vibe.common.models import (
    Bar,
    ExitReason,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    Signal,
    SignalAction,
    TimeInForce,
)
from vibe.common.risk import AccountState, RiskManager, RiskRejection, exit_levels
from vibe.trading_bot.core.health_reporter import HealthReporter
from vibe.trading_bot.exchange.base import BarVenue, OrderEventKind
from vibe.trading_bot.execution.book import Book
from vibe.trading_bot.execution.circuit_breaker import CircuitBreaker
from vibe.trading_bot.execution.order_manager import OrderManager, client_order_id
from vibe.trading_bot.execution.outcome import ExecutionResult, Outcome
from vibe.trading_bot.execution.portfolio import Portfolio
from vibe.trading_bot.execution.reporting import ExecutionReporter
from vibe.trading_bot.execution.round_trip import RoundTrip
from vibe.trading_bot.execution.session import SessionCounters
from vibe.trading_bot.execution.trade_recorder import TradeRecorder
from vibe.trading_bot.notifications.payloads import (
    OrderSentAlert,
    SystemAlert,
    SystemEvent,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_FINISHED = (OrderEventKind.CANCELLED, OrderEventKind.EXPIRED)
#: Refusal reason of an entry while :attr:`TradeExecutor.entries_paused` is set.
ENTRIES_PAUSED = "entries_paused"


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """Executor parameters.

    Attributes:
        initial_capital: starting cash in USD (``settings.trading.initial_capital``); the
            portfolio is rebuilt from it and the stored fills at restart.
        take_profit_r: take-profit distance in multiples of R (``settings.strategy``).
        max_consecutive_errors: circuit breaker threshold (``settings.risk``).
        time_in_force: of entries, their legs and closes (``day``: expire at the close).
    """

    initial_capital: float
    take_profit_r: float = 2.0
    max_consecutive_errors: int = 5
    time_in_force: TimeInForce = TimeInForce.DAY


class TradeExecutor:
    """Turns signals into orders and fills into positions, trades, metrics and alerts.

    Args:
        orders: the order manager (the executor subscribes to its persisted events;
            round trips go to its trade store).
        exchange: the venue, for buying power and bar processing.
        risk: sizes entries and refuses what breaks a limit.
        clock: order creation times.
        health: execution errors and the circuit breaker.
        reporter: alert queue and metrics buffer.
        config: capital, take-profit multiple, breaker threshold, time in force.
        book: the portfolio and the round trips in progress rebuilt from the stores
            (:func:`restored_book`); ``None``: a fresh account of ``config.initial_capital``.
    """

    def __init__(
        self,
        orders: OrderManager,
        exchange: BarVenue,
        risk: RiskManager,
        clock: Clock,
        health: HealthReporter,
        reporter: ExecutionReporter,
        config: ExecutorConfig,
        book: Book | None = None,
    ) -> None:
        book = book if book is not None else Book(Portfolio(config.initial_capital), {})
        self._orders = orders
        self._exchange = exchange
        self._risk = risk
        self._store = orders.store
        self._clock = clock
        self._health = health
        self._reporter = reporter
        self._config = config
        self.portfolio = book.portfolio
        self.breaker = CircuitBreaker(config.max_consecutive_errors, health)
        self.session = SessionCounters(self._store)
        #: New entries refused (outcome ``blocked``, reason ``entries_paused``) while True;
        #: closes always pass. Set by the operator (dashboard API, ``api/control.py``).
        self.entries_paused = False
        self._trips: dict[str, RoundTrip] = book.trips
        self._recorder = TradeRecorder(
            orders, self.portfolio, self._trips, reporter, config.take_profit_r, self._error
        )
        orders.subscribe_booking(self._recorder.on_event)

    @property
    def reporter(self) -> ExecutionReporter:
        """The alert queue and metrics buffer."""
        return self._reporter

    async def flush_alerts(self) -> int:
        """Hand queued alerts to the notifier (see :meth:`ExecutionReporter.flush_alerts`)."""
        return await self._reporter.flush_alerts()

    # ------------------------------------------------------------------ start-up

    def start_session(
        self, day: date, window_start: date | None = None, opened_at: datetime | None = None
    ) -> None:
        """Begin the session of ``day`` (ET date): resets the daily counters.

        Called by the orchestrator at each session open; a signal from a new day
        starts its session automatically. ``window_start`` is the first session of
        the 5-session pattern-day-trader window when the caller knows the calendar.

        The start-of-day equity (USD, the base of ``max_daily_loss_pct``) is the
        equity now, unless fills were booked at or after ``opened_at`` (the
        session's open, tz-aware): after a restart in the middle of a session it
        is rebuilt from the stored fills before the open (positions valued at
        cost), so the day's earlier losses still count.
        """
        self._reporter.flush_metrics(wait=False)
        equity = self.portfolio.equity
        last = self.portfolio.last_fill_at
        if opened_at is not None and last is not None and last >= opened_at:
            before = [f for f in self._store.get_fills() if f.timestamp < opened_at]
            equity = Portfolio.from_fills(self._config.initial_capital, before).equity
        self.session.start(day, equity, window_start)

    # -------------------------------------------------------------------- signals

    def handle_signal(self, signal: Signal) -> ExecutionResult:
        """Execute one signal; never raises for refusals or execution errors."""
        day = self.session.session_of(signal.timestamp)
        if day != self.session.day:
            self.start_session(day)
        is_close = signal.action is SignalAction.CLOSE
        try:
            if not is_close and self.entries_paused:
                result = self._refused(
                    signal, Outcome.BLOCKED, ENTRIES_PAUSED, "new entries paused by the operator"
                )
            elif not is_close and self.breaker.is_open:
                result = self._refused(
                    signal,
                    Outcome.BLOCKED,
                    "circuit_breaker_open",
                    f"{self.breaker.consecutive_errors} consecutive execution errors",
                )
            else:
                with self._orders.unit_of_work():
                    result = self._close(signal) if is_close else self._enter(signal)
        except VibeError as exc:
            self._error(f"{signal.action.value} {signal.symbol} failed: {exc}")
            result = ExecutionResult(signal, Outcome.ERROR, type(exc).__name__, str(exc))
        return result

    def close_position(
        self, symbol: str, reason: ExitReason = ExitReason.MANUAL, at: datetime | None = None
    ) -> ExecutionResult:
        """Close ``symbol``'s position (or cancel its unfilled entry) for ``reason``.

        The close signal's reference price is the position's last mark (USD per
        share); an unfilled entry is only cancelled, nothing trades at a price.

        Raises:
            InvalidInputError: ``symbol`` has no open position and no working entry.
        """
        trip = self._trips.get(symbol)
        position = self.portfolio.position(symbol)
        if position is not None:
            price = position.last_price or position.average_price
        elif trip is not None:
            price = trip.stop_price  # a cancel: the price is not traded
        else:
            raise InvalidInputError(
                f"symbol={symbol!r}: no open position and no working entry to close"
            )
        signal = Signal(
            symbol,
            SignalAction.CLOSE,
            at or self._clock.now(),
            price,
            exit_reason=reason,
            strategy=trip.strategy if trip is not None else "",
        )
        return self.handle_signal(signal)

    def close_all(self, reason: ExitReason = ExitReason.SHUTDOWN) -> list[ExecutionResult]:
        """Close every open position and cancel every unfilled entry (e.g. at shutdown)."""
        results = [self.close_position(symbol, reason) for symbol in self.open_symbols()]
        self._reporter.flush_metrics(wait=False)
        return results

    def position_side(self, symbol: str) -> PositionSide | None:
        """Direction held in ``symbol``, counting an entry sent but not yet filled."""
        position = self.portfolio.position(symbol)
        if position is not None and position.quantity:
            return position.side
        trip = self._trips.get(symbol)
        return trip.side if trip is not None else None

    def open_symbols(self) -> list[str]:
        """Symbols with an open position or a round trip in progress, sorted."""
        return sorted(set(self.portfolio.quantities()) | set(self._trips))

    def _enter(self, signal: Signal) -> ExecutionResult:
        decision = self._risk.evaluate(signal, self.account_state())
        if isinstance(decision, RiskRejection):
            return self._refused(
                signal, Outcome.RISK_REJECTED, decision.rule.value, decision.detail
            )
        stop = float(signal.stop_price or 0.0)
        side = PositionSide.LONG if signal.action is SignalAction.OPEN_LONG else PositionSide.SHORT
        target = signal.take_profit_price
        if target is None:
            target = exit_levels(
                side, signal.price, stop, self._config.take_profit_r
            ).take_profit_price
        entry = self._new_order(signal, decision.side, decision.quantity, "entry")
        entry, stop_leg, target_leg = self._orders.submit_bracket(entry, stop, target)
        if entry.status is OrderStatus.REJECTED:
            return self._venue_rejected(signal, entry)
        if signal.symbol not in self._trips:
            self._trips[signal.symbol] = RoundTrip(
                signal.symbol,
                side,
                signal.strategy,
                stop,
                entry.id,
                stop_leg.id if stop_leg is not None else None,
                target_leg.id if target_leg is not None else None,
            )
            self.session.trades_today += 1
        return self._sent(signal, entry)

    def _close(self, signal: Signal) -> ExecutionResult:
        trip = self._trips.get(signal.symbol)
        if trip is not None and trip.close_id is not None:
            working = self._orders.get(trip.close_id)
            if working is not None and not working.is_complete:
                return ExecutionResult(
                    signal, Outcome.SUBMITTED, "close_already_working", "", working
                )
        if trip is not None and self.portfolio.position(signal.symbol) is None:
            entry = self._orders.cancel(trip.entry_id, "close before the entry filled")
            return ExecutionResult(signal, Outcome.CANCELLED, "entry_not_filled", "", entry)
        decision = self._risk.evaluate(signal, self.account_state())
        if isinstance(decision, RiskRejection):
            return self._refused(
                signal, Outcome.RISK_REJECTED, decision.rule.value, decision.detail
            )
        if trip is not None:
            for order_id in (*trip.legs(), trip.entry_id):
                order = self._orders.get(order_id)
                if order is not None and not order.is_complete:
                    self._orders.cancel(order_id, "position closing")
        reason = signal.exit_reason or ExitReason.MANUAL
        order = self._new_order(signal, decision.side, decision.quantity, f"exit-{reason.value}")
        order = self._orders.submit(order)
        if order.status is OrderStatus.REJECTED:
            return self._venue_rejected(signal, order)
        if trip is not None:
            trip.close_id = order.id
        return self._sent(signal, order)

    def _new_order(self, signal: Signal, side: OrderSide, quantity: int, purpose: str) -> Order:
        return Order(
            signal.symbol,
            side,
            quantity,
            OrderType.MARKET,
            self._clock.now(),
            time_in_force=self._config.time_in_force,
            client_order_id=client_order_id(
                signal.strategy, signal.symbol, signal.timestamp, purpose
            ),
        )

    # ------------------------------------------------------------------ outcomes

    def account_state(self) -> AccountState:
        """The snapshot the risk manager decides on (an unfilled entry counts as a position)."""
        positions = self.portfolio.quantities()
        for symbol, trip in self._trips.items():
            positions.setdefault(symbol, trip.side.sign)
        equity = self.portfolio.equity
        return AccountState(
            equity=equity,
            buying_power=self._exchange.account().buying_power,
            start_of_day_equity=self.session.start_of_day_equity,
            daily_pnl=equity - self.session.start_of_day_equity,
            trades_today=self.session.trades_today,
            day_trades_5_sessions=self.session.day_trades_in_window,
            positions=positions,
        )

    def _sent(self, signal: Signal, order: Order) -> ExecutionResult:
        self.breaker.record_success()
        reason = f"{signal.strategy} {signal.action.value}"
        alert = partial(self._reporter.alert_from, OrderSentAlert.from_order, order, reason=reason)
        self._orders.after_commit(alert)
        return ExecutionResult(signal, Outcome.SUBMITTED, order=order)

    def _refused(
        self, signal: Signal, outcome: Outcome, reason: str, detail: str
    ) -> ExecutionResult:
        _log.info("signal refused", symbol=signal.symbol, reason=reason, detail=detail)
        self._reporter.metric("execution", "signal_refused", 1.0, signal.symbol, reason=reason)
        return ExecutionResult(signal, outcome, reason, detail)

    def _venue_rejected(self, signal: Signal, order: Order) -> ExecutionResult:
        reason = order.reject_reason or "rejected"
        self._error(f"{order.symbol} {order.side.value} {order.quantity} rejected: {reason}")
        self._reporter.metric("execution", "order_rejected", 1.0, signal.symbol, reason=reason)
        return ExecutionResult(signal, Outcome.EXCHANGE_REJECTED, reason, "", order)

    def _error(self, message: str) -> None:
        _log.error("execution error", message=message)
        if self.breaker.record_error(message):
            self._reporter.alert_from(
                SystemAlert,
                timestamp=self._clock.now(),
                event=SystemEvent.CIRCUIT_BREAKER,
                message=(
                    f"{self.breaker.consecutive_errors} consecutive execution errors: "
                    "new entries stopped, closes still allowed"
                ),
                component="execution",
                details={"last_error": message[:200]},
            )

    # ---------------------------------------------------------------------- bars

    def on_bar(self, bar: Bar) -> list[Fill]:
        """Let the exchange fill what ``bar`` allows and mark the position to its close.

        The bar's fills and their booking (trades, leg changes) are one unit of
        work: one commit per symbol and bar, only when a working order can fill
        in the bar (:meth:`MockExchange.may_fill`: most bars of a held position
        reach neither its stop nor its take-profit).
        """
        try:
            if self._exchange.may_fill(bar):
                with self._orders.unit_of_work():
                    fills = self._exchange.process_bar(bar)
            else:
                self._exchange.mark_bar(bar)
                fills = []
        except VibeError as exc:
            self._error(f"processing the {bar.symbol} bar at {bar.timestamp} failed: {exc}")
            fills = []
        self.portfolio.mark(bar.symbol, bar.close)
        return fills

    def quiet_band(self, symbol: str) -> tuple[float, float]:
        """``(low, high)`` USD: a bar of ``symbol`` strictly inside it fills no order.

        See :meth:`MockExchange.quiet_band`; unbounded when nothing is working.
        """
        return self._exchange.quiet_band(symbol)

    def mark_bar(self, bar: Bar) -> None:
        """Mark ``bar.symbol``'s position to ``bar.close`` (a bar that cannot fill anything)."""
        self._exchange.mark_bar(bar)
        self.portfolio.mark(bar.symbol, bar.close)

    @property
    def has_refused_at_fill(self) -> bool:
        """True when :meth:`pop_refused_at_fill` has something (cheap, per bar)."""
        return bool(self._recorder.refused_at_fill)

    def pop_refused_at_fill(self) -> list[str]:
        """Symbols whose entry the venue cut at the fill for want of cash, since the last call.

        One item per entry (filled in part or not at all); reason
        ``insufficient_buying_power_at_fill`` (see :mod:`~vibe.trading_bot.exchange.mock_exchange`).
        """
        refused = self._recorder.refused_at_fill
        if not refused:
            return []
        symbols = list(refused)
        refused.clear()
        return symbols

    def fill_at_close(self, bar: Bar) -> list[Fill]:
        """Fill working market orders (closes) at the session's last ``bar`` close."""
        with self._orders.unit_of_work():
            fills = self._exchange.fill_market_orders_at_close(bar)
        self.portfolio.mark(bar.symbol, bar.close)
        self._reporter.flush_metrics(wait=False)
        return fills

    def expire_day_orders(self, at: datetime) -> list[Order]:
        """Expire working day orders at the session close ``at``."""
        with self._orders.unit_of_work():
            expired = self._exchange.expire_day_orders(at)
        self._reporter.flush_metrics(wait=False)
        return expired
