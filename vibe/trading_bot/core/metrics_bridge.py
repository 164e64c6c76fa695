"""Feeds the Prometheus metrics (``/metrics``) from the components' events.

* order events (persisted and announced by the order manager) -> orders by
  status and fills by symbol and side;
* bar groups -> bars processed per symbol and the account gauges (equity USD,
  realized P&L after fees USD, open positions), read from the executor's
  portfolio; the gauges are also set at start-up, from the stores;
* sessions -> closed trades by symbol and outcome (win / loss / flat);
* the notifier (:class:`~vibe.trading_bot.notifications.observer.NotifierObserver`)
  -> alerts sent / failed by kind, alerts queued, rate-limit waits;
* cloud syncs -> syncs by result and the last success time;
* rejected bars (the data manager's validator) -> bars rejected by symbol and reason;
* at every scrape: reconnects per live provider, log records dropped, the
  newest bar's age and each component's health, pulled from their owners.

Not used by backtests (no ``/metrics`` there).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from vibe.common.models import Trade
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind
from vibe.trading_bot.execution.trade_executor import TradeExecutor

if TYPE_CHECKING:
    from vibe.trading_bot.api.metrics import TradingMetrics
    from vibe.trading_bot.core.health_monitor import HealthMonitor
    from vibe.trading_bot.data.manager import DataManager
    from vibe.trading_bot.storage.log_handler import SQLiteLogHandler

_STATUS_EVENTS = frozenset(OrderEventKind) - {OrderEventKind.AMENDED}


class MetricsBridge:
    """Translates events and snapshots into :class:`TradingMetrics` updates.

    Satisfies :class:`~vibe.trading_bot.notifications.observer.NotifierObserver`.

    Args:
        metrics: the Prometheus collectors served on ``/metrics``.
        executor: whose portfolio gives the account gauges.
    """

    def __init__(self, metrics: TradingMetrics, executor: TradeExecutor) -> None:
        self._metrics = metrics
        self._executor = executor
        self._reconnects: dict[str, int] = {}
        self._logs_dropped = 0

    def on_order_event(self, event: OrderEvent) -> None:
        """Count the order's new status and its fill, if any."""
        if event.kind in _STATUS_EVENTS:
            self._metrics.record_order(event.order.status.value)
        if event.fill is not None:
            self._metrics.record_fill(event.fill.symbol, event.fill.side.value)

    def on_bars(self, symbols: Iterable[str]) -> None:
        """Count one processed bar per symbol of a bar group; refresh the account gauges."""
        for symbol in symbols:
            self._metrics.record_bar(symbol)
        self.refresh_account()

    def refresh_account(self) -> None:
        """Set equity, realized P&L after fees (USD) and open positions from the portfolio."""
        portfolio = self._executor.portfolio
        self._metrics.set_account(
            equity_usd=portfolio.equity,
            realized_pnl_net_usd=portfolio.net_realized_pnl,
            open_positions=len(portfolio.quantities()),
        )

    def on_trades(self, trades: list[Trade]) -> None:
        """Count the closed ``trades`` by symbol and outcome."""
        for trade in trades:
            if trade.pnl is not None:
                self._metrics.record_trade(trade.symbol, trade.pnl)

    def on_alert(self, kind: str, *, sent: bool) -> None:
        """Count one webhook message of ``kind`` delivered or refused for good."""
        self._metrics.record_alert(kind, sent=sent)

    def on_alerts_queued(self, count: int) -> None:
        """Set the number of messages waiting in the outbox."""
        self._metrics.set_alerts_queued(count)

    def on_rate_limit_wait(self, limiter: str, seconds: float) -> None:
        """Count one wait of ``seconds`` imposed by ``limiter``."""
        self._metrics.record_rate_limit_wait(limiter, max(0.0, seconds))

    def on_sync(self, succeeded: bool, at: datetime) -> None:
        """Count one cloud sync (``at``: when it ended, tz-aware, the sync's clock)."""
        self._metrics.record_sync(succeeded=succeeded, at=at)

    def on_bar_rejected(self, symbol: str, reason: str) -> None:
        """Count one bar of ``symbol`` rejected by validation for ``reason``."""
        self._metrics.record_bar_rejected(symbol, reason)

    def watch(
        self,
        monitor: HealthMonitor,
        data: DataManager | None,
        log_handler: SQLiteLogHandler | None,
    ) -> None:
        """Pull the counters these components keep into the metrics at every scrape."""

        def pull() -> None:
            if data is not None:
                for provider, total in data.reconnects_by_provider().items():
                    new = total - self._reconnects.get(provider, 0)
                    for _ in range(max(0, new)):
                        self._metrics.record_reconnect(provider)
                    self._reconnects[provider] = total
            if log_handler is not None:
                dropped = log_handler.dropped
                if dropped > self._logs_dropped:
                    self._metrics.record_log_records_dropped(dropped - self._logs_dropped)
                self._logs_dropped = dropped
            self._metrics.set_bar_age(monitor.bar_age_seconds())
            for status in monitor.components():
                self._metrics.set_component_state(status.name, status.state.value)

        self._metrics.before_scrape(pull)
