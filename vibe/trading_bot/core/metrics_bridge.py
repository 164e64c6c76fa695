"""Feeds the Prometheus metrics (``/metrics``) from the components' events.

* order events (persisted and announced by the order manager) -> orders by
  status and fills by symbol and side;
* bar groups -> bars processed per symbol and the account gauges (equity USD,
  realized P&L after fees USD, open positions), read from the portfolio given;
  the gauges are also set at start-up, from the stores;
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
from vibe.trading_bot.execution.portfolio import Portfolio

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
    """

    def __init__(self, metrics: TradingMetrics) -> None:
        self._metrics = metrics

    def on_order_event(self, event: OrderEvent) -> None:
        """Count the order's new status and its fill, if any."""
        if event.kind in _STATUS_EVENTS:
            self._metrics.record_order(event.order.status.value)
        if event.fill is not None:
            self._metrics.record_fill(event.fill.symbol, event.fill.side.value)

    def on_bars(self, symbols: Iterable[str], portfolio: Portfolio) -> None:
        """Count one processed bar per symbol of a bar group; refresh the account gauges."""
        for symbol in symbols:
            self._metrics.record_bar(symbol)
        self.refresh_account(portfolio)

    def refresh_account(self, portfolio: Portfolio) -> None:
        """Set equity, realized P&L after fees (USD) and open positions from ``portfolio``."""
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


def watch_components(
    metrics: TradingMetrics,
    monitor: HealthMonitor,
    data: DataManager | None = None,
    log_handler: SQLiteLogHandler | None = None,
) -> None:
    """Pull what these components count into ``metrics`` at every scrape.

    Reconnects per live provider and dropped log records (as counter increments
    since the last scrape), the newest bar's age and every component's health.
    """
    reconnects: dict[str, int] = {}
    dropped = [0]

    def pull() -> None:
        if data is not None:
            for provider, count in data.reconnects_by_provider().items():
                for _ in range(max(0, count - reconnects.get(provider, 0))):
                    metrics.record_reconnect(provider)
                reconnects[provider] = count
        if log_handler is not None and log_handler.dropped > dropped[0]:
            metrics.record_log_records_dropped(log_handler.dropped - dropped[0])
            dropped[0] = log_handler.dropped
        metrics.set_bar_age(monitor.bar_age_seconds())
        for status in monitor.components():
            metrics.set_component_state(status.name, status.state.value)

    metrics.before_scrape(pull)
