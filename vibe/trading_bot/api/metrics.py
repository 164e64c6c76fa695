"""Prometheus metrics for the daemon, on a registry of their own.

One :class:`TradingMetrics` per daemon (or per test) owns a fresh
``prometheus_client.CollectorRegistry``, never the process-global one, so any
number can coexist. Components (or the daemon on their behalf) call the small
``record_*``/``set_*`` methods; ``/metrics`` renders :meth:`TradingMetrics.render`.

Names follow the Prometheus conventions (base units, ``_total`` for counters,
``_usd`` for money); every name is listed in :data:`METRIC_NAMES`. P&L says
whether it is ``net`` (after commissions, as in ``trades.db``) or ``gross``.
Values read from a component's counters at scrape time are pulled by hooks
registered with :meth:`TradingMetrics.before_scrape`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

from vibe.common.errors import InvalidInputError
from vibe.common.models import OrderStatus, require_aware

#: Content type of :meth:`TradingMetrics.render` (Prometheus text format 0.0.4).
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Every metric family name as exposed (counters carry the ``_total`` suffix).
METRIC_NAMES: tuple[str, ...] = (
    "vibe_uptime_seconds",
    "vibe_bars_processed_total",
    "vibe_bars_rejected_total",
    "vibe_orders_total",
    "vibe_fills_total",
    "vibe_trades_total",
    "vibe_realized_pnl_net_usd",
    "vibe_equity_usd",
    "vibe_open_positions",
    "vibe_alerts_sent_total",
    "vibe_alerts_failed_total",
    "vibe_alerts_queued",
    "vibe_rate_limit_waits_total",
    "vibe_rate_limit_wait_seconds_total",
    "vibe_cloud_syncs_total",
    "vibe_cloud_sync_last_success_timestamp_seconds",
    "vibe_data_reconnects_total",
    "vibe_event_loop_lag_seconds",
    "vibe_log_records_dropped_total",
    "vibe_newest_bar_age_seconds",
    "vibe_component_state",
)

#: ``vibe_component_state`` values: 0 healthy, 1 degraded, 2 unhealthy (-1 starting/stopped).
COMPONENT_STATE_VALUES = {"healthy": 0.0, "degraded": 1.0, "unhealthy": 2.0}

_SYNC_RESULTS = ("ok", "failed")


def _zero() -> float:
    return 0.0


class TradingMetrics:
    """The daemon's metrics and the methods that update them (all thread-safe).

    Args:
        registry: where to register; a new ``CollectorRegistry`` when ``None``.

    Attributes:
        registry: the registry ``/metrics`` renders.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._uptime = Gauge(
            "vibe_uptime_seconds",
            "Real seconds since the daemon started (also in replays)",
            registry=r,
        )
        self._bars = Counter(
            "vibe_bars_processed", "Bars accepted and processed", ["symbol"], registry=r
        )
        self._bars_rejected = Counter(
            "vibe_bars_rejected", "Bars rejected by validation", ["symbol", "reason"], registry=r
        )
        self._orders = Counter("vibe_orders", "Orders reaching each status", ["status"], registry=r)
        self._fills = Counter("vibe_fills", "Fills", ["symbol", "side"], registry=r)
        self._trades = Counter(
            "vibe_trades", "Closed round-trip trades", ["symbol", "outcome"], registry=r
        )
        self._realized = Gauge(
            "vibe_realized_pnl_net_usd",
            "Realized P&L net of every commission paid (after fees, as in trades.db), USD",
            registry=r,
        )
        self._equity = Gauge("vibe_equity_usd", "Account equity, USD", registry=r)
        self._open = Gauge("vibe_open_positions", "Open positions", registry=r)
        self._alerts_sent = Counter("vibe_alerts_sent", "Alerts delivered", ["kind"], registry=r)
        self._alerts_failed = Counter(
            "vibe_alerts_failed", "Alerts given up on", ["kind"], registry=r
        )
        self._alerts_queued = Gauge(
            "vibe_alerts_queued", "Alerts waiting in the outbox", registry=r
        )
        self._rl_waits = Counter(
            "vibe_rate_limit_waits", "Waits imposed by a rate limiter", ["limiter"], registry=r
        )
        self._rl_wait_seconds = Counter(
            "vibe_rate_limit_wait_seconds", "Seconds spent waiting", ["limiter"], registry=r
        )
        self._syncs = Counter("vibe_cloud_syncs", "Cloud sync attempts", ["result"], registry=r)
        self._sync_success = Gauge(
            "vibe_cloud_sync_last_success_timestamp_seconds",
            "Unix time of the last successful cloud sync",
            registry=r,
        )
        self._reconnects = Counter(
            "vibe_data_reconnects", "Market data reconnects", ["provider"], registry=r
        )
        self._loop_lag = Gauge("vibe_event_loop_lag_seconds", "Event loop lag", registry=r)
        self._logs_dropped = Counter(
            "vibe_log_records_dropped", "Log records dropped (queue full)", registry=r
        )
        self._bar_age = Gauge(
            "vibe_newest_bar_age_seconds",
            "Seconds (trading clock) since the newest bar ended, or since the open; -1 when closed",
            registry=r,
        )
        self._component_state = Gauge(
            "vibe_component_state",
            "Component health: 0 healthy, 1 degraded, 2 unhealthy, -1 starting or stopped",
            ["component"],
            registry=r,
        )
        self._hooks: list[Callable[[], None]] = []
        self._hooks_lock = threading.Lock()
        self._uptime.set_function(_zero)
        self._loop_lag.set_function(_zero)
        self._bar_age.set(-1.0)
        for status in OrderStatus:  # every status shows, at 0, from the first scrape
            self._orders.labels(status=status.value)
        for result in _SYNC_RESULTS:
            self._syncs.labels(result=result)

    def track(self, uptime: Callable[[], float], loop_lag: Callable[[], float | None]) -> None:
        """Read uptime and loop lag (seconds) from callables at every scrape."""
        self._uptime.set_function(uptime)
        self._loop_lag.set_function(lambda: loop_lag() or 0.0)

    def before_scrape(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` before every :meth:`render` (it pulls counters from a component)."""
        self._hooks.append(hook)

    def set_bar_age(self, seconds: float | None) -> None:
        """Set the newest bar's age in seconds; ``None`` (market closed) shows -1."""
        self._bar_age.set(-1.0 if seconds is None else seconds)

    def set_component_state(self, component: str, state: str) -> None:
        """Set ``component``'s health from its state name (:data:`COMPONENT_STATE_VALUES`)."""
        self._component_state.labels(component=component).set(
            COMPONENT_STATE_VALUES.get(state, -1.0)
        )

    def record_bar(self, symbol: str) -> None:
        """Count one processed bar for ``symbol``."""
        self._bars.labels(symbol=symbol).inc()

    def record_bar_rejected(self, symbol: str, reason: str) -> None:
        """Count one rejected bar for ``symbol`` with a short ``reason`` code."""
        self._bars_rejected.labels(symbol=symbol, reason=reason).inc()

    def record_order(self, status: str) -> None:
        """Count one order reaching ``status`` (an ``OrderStatus`` value).

        Raises:
            InvalidInputError: ``status`` is not an ``OrderStatus`` value.
        """
        try:
            value = OrderStatus(status).value
        except ValueError as exc:
            expected = [s.value for s in OrderStatus]
            raise InvalidInputError(f"status={status!r}; expected one of {expected}") from exc
        self._orders.labels(status=value).inc()

    def record_fill(self, symbol: str, side: str) -> None:
        """Count one fill (``side``: an ``OrderSide`` value)."""
        self._fills.labels(symbol=symbol, side=str(side)).inc()

    def record_trade(self, symbol: str, pnl_usd: float) -> None:
        """Count one closed trade as ``win`` (P&L > 0), ``loss`` (< 0) or ``flat``."""
        outcome = "win" if pnl_usd > 0 else "loss" if pnl_usd < 0 else "flat"
        self._trades.labels(symbol=symbol, outcome=outcome).inc()

    def set_account(
        self, *, equity_usd: float, realized_pnl_net_usd: float, open_positions: int
    ) -> None:
        """Set equity (USD), cumulative realized P&L after fees (USD) and open positions."""
        self._equity.set(equity_usd)
        self._realized.set(realized_pnl_net_usd)
        self._open.set(open_positions)

    def record_alert(self, kind: str, *, sent: bool) -> None:
        """Count one alert of ``kind`` delivered (``sent=True``) or given up on."""
        (self._alerts_sent if sent else self._alerts_failed).labels(kind=kind).inc()

    def set_alerts_queued(self, count: int) -> None:
        """Set the number of alerts waiting in the outbox."""
        self._alerts_queued.set(count)

    def record_rate_limit_wait(self, limiter: str, seconds: float) -> None:
        """Count one wait of ``seconds`` (>= 0) imposed by ``limiter`` (e.g. ``"discord"``).

        Raises:
            InvalidInputError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise InvalidInputError(f"seconds={seconds!r}; expected >= 0")
        self._rl_waits.labels(limiter=limiter).inc()
        self._rl_wait_seconds.labels(limiter=limiter).inc(seconds)

    def record_sync(self, *, succeeded: bool, at: datetime) -> None:
        """Count one cloud sync; a success at ``at`` (tz-aware) sets the last-success time.

        Raises:
            InvalidInputError: ``at`` is naive.
        """
        at = require_aware("at", at)
        self._syncs.labels(result=_SYNC_RESULTS[0] if succeeded else _SYNC_RESULTS[1]).inc()
        if succeeded:
            self._sync_success.set(at.timestamp())

    def record_reconnect(self, provider: str) -> None:
        """Count one market data reconnect by ``provider`` (e.g. ``"finnhub"``)."""
        self._reconnects.labels(provider=provider).inc()

    def record_log_records_dropped(self, count: int = 1) -> None:
        """Count ``count`` log records dropped because the log queue was full."""
        self._logs_dropped.inc(count)

    def render(self) -> bytes:
        """The Prometheus text exposition (HELP and TYPE lines) of every metric.

        The :meth:`before_scrape` hooks run first (one scrape at a time).
        """
        with self._hooks_lock:
            for hook in self._hooks:
                hook()
        return generate_latest(self.registry)
