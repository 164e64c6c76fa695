"""``/api/v1`` account routes: status, positions, equity, daily figures.

The executor's portfolio is read on the event loop while holding the trading
lock (the live loop trades a bar group in a worker thread with it held), so an
answer never sees half of a group's fills.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from vibe.trading_bot.api.auth import dashboard
from vibe.trading_bot.api.context import DashboardApi
from vibe.trading_bot.api.queries import daily_figures, fees_before
from vibe.trading_bot.api.schemas import (
    DailyOut,
    EquityPointOut,
    PositionOut,
    SessionOut,
    StatusOut,
)
from vibe.trading_bot.api.serialize import component_out, position_out
from vibe.trading_bot.core.health_reporter import aggregate

Api = Annotated[DashboardApi, Depends(dashboard)]
Since = Annotated[
    AwareDatetime | None,
    Query(description="ISO-8601 time with an offset, e.g. 2025-07-03T13:30:00Z"),
]
router = APIRouter(tags=["account"])


def session_out(api: DashboardApi, now: datetime) -> SessionOut:
    """The current session's bounds and the next open/close (NYSE calendar)."""
    bounds = api.scheduler.session_bounds_at(now.timestamp())
    opened = closes = None
    if bounds is not None:
        opened, closes = (datetime.fromtimestamp(b, UTC) for b in bounds)
    return SessionOut(
        open=bounds is not None,
        session_open=opened,
        session_close=closes,
        next_open=api.scheduler.next_open(now),
        next_close=closes if closes is not None else api.scheduler.next_close(now),
    )


def _day_start(api: DashboardApi, now: datetime) -> datetime:
    """The open of the executor's current session (else of today's, else now)."""
    day = api.executor.session.day
    session = api.scheduler.session(day) if day is not None else None
    return session[0] if session is not None else now


async def _fees_today(api: DashboardApi, fees_paid: float, start: datetime) -> float:
    """Commissions (USD) since ``start``: all paid minus those before (asked once per session)."""
    before = api.fees_before.get(start)
    if before is None:
        before = await api.reader.run(lambda r: fees_before(r.trades, start))
        api.fees_before = {start: before}
    return fees_paid - before


@router.get("/status", response_model=StatusOut, summary="The daemon at a glance")
async def status(api: Api) -> StatusOut:
    """Mode, session, health per component, equity and the day's P&L (USD)."""
    now = api.clock.now()
    components = api.monitor.components()
    async with api.trading_lock:
        executor = api.executor
        portfolio = executor.portfolio
        equity, cash, fees_paid = portfolio.equity, portfolio.cash, portfolio.fees
        start_equity = executor.session.start_of_day_equity or portfolio.initial_cash
        paused, positions = executor.entries_paused, len(portfolio.quantities())
    fees = await _fees_today(api, fees_paid, _day_start(api, now))
    net = equity - start_equity
    return StatusOut(
        mode=f"paper-{api.mode}",
        status=aggregate(components).value,
        now=now,
        session=session_out(api, now),
        components=[component_out(c) for c in components],
        equity_usd=round(equity, 2),
        cash_usd=round(cash, 2),
        start_of_day_equity_usd=round(start_equity, 2),
        day_pnl_net_usd=round(net, 2),
        day_pnl_gross_usd=round(net + fees, 2),
        fees_today_usd=round(fees, 2),
        open_positions=positions,
        symbols=sorted(api.symbols),
        entries_paused=paused,
        control_enabled=api.control_enabled,
    )


@router.get("/positions", response_model=list[PositionOut], summary="Open positions")
async def positions(api: Api) -> list[PositionOut]:
    """Open positions marked to their last bar close, by symbol."""
    async with api.trading_lock:
        held = [p for _, p in sorted(api.executor.portfolio.positions.items()) if p.quantity]
        return [position_out(p) for p in held]


@router.get("/equity", response_model=list[EquityPointOut], summary="Equity points")
async def equity(api: Api, since: Since = None) -> list[EquityPointOut]:
    """Equity (USD) at each traded bar group's close since the daemon started (or ``since``)."""
    return [EquityPointOut(time=t, equity_usd=round(v, 2)) for t, v in api.tape.marks(since)]


@router.get("/daily", response_model=list[DailyOut], summary="Per-session figures")
async def daily(
    api: Api, limit: Annotated[int, Query(ge=1, le=1000, description="sessions")] = 60
) -> list[DailyOut]:
    """The figures recorded after each session close (``metrics.db``), oldest first."""
    sessions = await api.reader.run(lambda r: daily_figures(r.metrics, limit))
    return [
        DailyOut(
            session=day,
            trades=int(m.get("trades", 0)),
            wins=int(m.get("wins", 0)),
            losses=int(m.get("losses", 0)),
            net_pnl_usd=round(m.get("net_pnl_usd", 0.0), 2),
            fees_usd=round(m.get("fees_usd", 0.0), 2),
            equity_usd=round(m.get("equity_usd", 0.0), 2),
            win_rate_pct=m.get("win_rate_pct"),
        )
        for day, m in sessions.items()
    ]
