"""Feeds the Prometheus metrics (``/metrics``) from the trading path's events.

* order events (persisted and announced by the order manager) -> orders by
  status and fills by symbol and side;
* bar groups -> bars processed per symbol and the account gauges (equity USD,
  realized P&L USD, open positions), read from the executor's portfolio;
* sessions -> closed trades by symbol and outcome (win / loss / flat).

Not used by backtests (no ``/metrics`` there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from vibe.common.models import Trade
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind
from vibe.trading_bot.execution.trade_executor import TradeExecutor

if TYPE_CHECKING:
    from vibe.trading_bot.api.metrics import TradingMetrics

_STATUS_EVENTS = frozenset(OrderEventKind) - {OrderEventKind.AMENDED}


class MetricsBridge:
    """Translates events and snapshots into :class:`TradingMetrics` updates.

    Args:
        metrics: the Prometheus collectors served on ``/metrics``.
        executor: whose portfolio gives the account gauges.
    """

    def __init__(self, metrics: TradingMetrics, executor: TradeExecutor) -> None:
        self._metrics = metrics
        self._executor = executor

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
        portfolio = self._executor.portfolio
        self._metrics.set_account(
            equity_usd=portfolio.equity,
            realized_pnl_usd=portfolio.realized_pnl,
            open_positions=len(portfolio.quantities()),
        )

    def on_trades(self, trades: list[Trade]) -> None:
        """Count the closed ``trades`` by symbol and outcome."""
        for trade in trades:
            if trade.pnl is not None:
                self._metrics.record_trade(trade.symbol, trade.pnl)
