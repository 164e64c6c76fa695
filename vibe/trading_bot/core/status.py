"""What ``show-status`` reports: the running daemon's state, else the databases'.

First ``GET /health/state`` on ``127.0.0.1:HEALTH_CHECK_PORT`` (mode, health per
component, positions, equity, last bar, next open, last cloud sync). When no
daemon answers, the same questions are answered from ``DATA_DIR``: open
positions rebuilt from the stored fills, equity = ``INITIAL_CAPITAL`` + the
cash flows of every fill + open positions at cost, the last processed bar from
``state.db``, the next open from the calendar. Today's trades and P&L always
come from ``trades.db`` ("today" = the session of the last processed bar, so a
replay reports its simulated day), and the entries refused that session (by the
strategy's rules, the risk manager or the venue) from ``metrics.db``, per rule.
The databases are opened read-only: ``show-status`` works on a read-only copy
and never creates a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from vibe.common.clock import Clock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.entry_rejections import METRIC_NAME, METRIC_TYPE
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.execution.recovery import cash_from_fills
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.run_state import SYNC_NOTE, RunStateStore
from vibe.trading_bot.storage.trade_store import TradeStore

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class StatusReport:
    """The answer of ``show-status`` (USD amounts, UTC ISO times as text).

    Attributes:
        source: ``daemon`` (it answered) or ``databases`` (it did not).
        mode: ``paper-live`` / ``paper-replay`` ..., or the last source seen in ``state.db``.
        status: overall health (``healthy``...) or ``not running``.
        components: component name -> state, with the reason when not healthy (empty
            when not running).
        positions: open positions (symbol, quantity, average_price).
        session: the session "today" refers to (ET date).
        trades_today: round trips entered that session.
        pnl_today: their net P&L (closed ones, after fees as in ``trades.db``), USD.
        rejections_today: entries refused that session, per rule (strategy rules,
            risk manager, venue); metrics are stored in batches, so a running
            daemon's last few refusals may not be counted yet.
        equity: account equity, USD.
        last_bar_time: end of the last processed bar, or ``None``.
        last_bar_age_seconds: the running daemon's newest bar age (trading clock), seconds,
            or ``None``.
        next_open: the next session open.
        last_cloud_sync: ``ok``/``failed`` and when, or ``None``.
        symbols_without_history: symbol -> why its warm-up history is missing
            (from the daemon only; empty when none).
    """

    source: str
    mode: str
    status: str
    components: dict[str, str] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    session: str | None = None
    trades_today: int = 0
    pnl_today: float = 0.0
    rejections_today: dict[str, int] = field(default_factory=dict)
    equity: float | None = None
    last_bar_time: str | None = None
    last_bar_age_seconds: float | None = None
    next_open: str | None = None
    last_cloud_sync: str | None = None
    symbols_without_history: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


def fetch_daemon_state(port: int, timeout_seconds: float = 2.0) -> dict[str, Any] | None:
    """``/health/state`` of a daemon on ``127.0.0.1:port``, or ``None`` if none answers."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/health/state", timeout=timeout_seconds)
    except httpx.HTTPError:
        return None
    if reply.status_code != httpx.codes.OK:
        return None
    body: dict[str, Any] = reply.json()
    return body


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def from_databases(settings: AppSettings, scheduler: MarketScheduler, clock: Clock) -> StatusReport:
    """The status answered from ``DATA_DIR`` alone (see module doc).

    Raises:
        StorageError: a database exists but cannot be read.
    """
    data_dir = settings.storage.data_dir
    report = StatusReport(source="databases", mode="-", status="not running")
    report.next_open = _iso(scheduler.next_open(clock.now()))
    if not (data_dir / "trades.db").exists():
        report.equity = settings.trading.initial_capital
        return report
    cursor = _fill_run_state(report, data_dir, clock)
    trades = TradeStore.in_data_dir(data_dir, clock, read_only=True)
    try:
        _fill_account(report, trades, settings.trading.initial_capital)
        day = (cursor or clock.now()).astimezone(NEW_YORK).date()
        _fill_today(report, trades, day)
    finally:
        trades.close()
    report.rejections_today = _rejections_on(data_dir, clock, day)
    return report


def _fill_run_state(report: StatusReport, data_dir: Path, clock: Clock) -> datetime | None:
    """Mode, last bar and last sync from ``state.db``; returns the bar cursor (``None``: none)."""
    if not (data_dir / RunStateStore.FILENAME).exists():
        return None
    state = RunStateStore.in_data_dir(data_dir, clock, read_only=True)
    try:
        latest = state.latest_source()
        cursor = state.cursor(latest[0]) if latest else None
        report.mode = latest[0].split(":", 1)[0] if latest else "-"
        report.last_bar_time = _iso(cursor)
        sync = state.note(*SYNC_NOTE)
        report.last_cloud_sync = f"{sync[0]} at {_iso(sync[1])}" if sync else None
    finally:
        state.close()
    return cursor


def _fill_account(report: StatusReport, trades: TradeStore, initial_capital: float) -> None:
    positions = trades.open_positions()
    fills = trades.get_fills()
    cost = sum(p.quantity * p.average_price for p in positions.values())
    report.equity = round(cash_from_fills(initial_capital, fills) + cost, 2)
    report.positions = [
        {"symbol": s, "quantity": p.quantity, "average_price": round(p.average_price, 4)}
        for s, p in sorted(positions.items())
    ]


def _fill_today(report: StatusReport, trades: TradeStore, day: date) -> None:
    start = datetime.combine(day, time(0), NEW_YORK)
    today = trades.get_trades(start=start, end=start + timedelta(days=1))
    report.session = day.isoformat()
    report.trades_today = len(today)
    report.pnl_today = round(sum(t.pnl or 0.0 for t in today if t.is_closed), 2)


def _rejections_on(data_dir: Path, clock: Clock, day: date) -> dict[str, int]:
    """Entries refused during the ET date ``day``, per rule (``{}`` without ``metrics.db``)."""
    if not (data_dir / MetricsStore.FILENAME).exists():
        return {}
    metrics = MetricsStore.in_data_dir(data_dir, clock, read_only=True)
    try:
        start = datetime.combine(day, time(0), NEW_YORK)
        totals = metrics.sum_by_dimension(
            METRIC_TYPE, METRIC_NAME, "rule", start, start + timedelta(days=1)
        )
    finally:
        metrics.close()
    return {rule: round(total) for rule, total in totals.items()}


def merge_daemon_state(report: StatusReport, state: dict[str, Any]) -> StatusReport:
    """Overlay what the running daemon said on the database answer."""
    report.source = "daemon"
    report.mode = str(state.get("mode", report.mode))
    report.status = str(state.get("status", "unknown"))
    report.components = {
        c["name"]: c["state"]
        + (f": {c['reason']}" if c["state"] != "healthy" and c.get("reason") else "")
        for c in state.get("components", [])
    }
    positions = state.get("positions") or {}
    if positions.get("equity_usd") is not None:
        report.equity = positions["equity_usd"]
    market = state.get("market") or {}
    report.last_bar_time = market.get("newest_bar_end") or report.last_bar_time
    report.last_bar_age_seconds = market.get("newest_bar_age_seconds")
    report.next_open = market.get("next_open") or report.next_open
    report.symbols_without_history = dict(market.get("symbols_without_history") or {})
    sync = state.get("last_sync")
    if sync:
        report.last_cloud_sync = f"{sync.get('result')} at {sync.get('last_attempt_at')}"
    return report
