"""Response models of the dashboard REST API (``/api/v1``), as documented at ``/docs``.

Conventions: times are ISO-8601 with an offset (UTC), money in USD, prices in
USD per share, quantities in shares. Built from the stores' records and the
running executor by :mod:`.serialize`.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ComponentOut(_Out):
    """One component's health."""

    name: str
    state: str = Field(description="healthy, degraded, unhealthy or starting")
    critical: bool
    reason: str
    since: AwareDatetime


class SessionOut(_Out):
    """The market session (NYSE calendar)."""

    open: bool = Field(description="True while the session is open (trading clock)")
    session_open: AwareDatetime | None = Field(description="open of the current session")
    session_close: AwareDatetime | None = Field(description="close of the current session")
    next_open: AwareDatetime | None
    next_close: AwareDatetime | None = Field(description="the current session's close if open")


class StatusOut(_Out):
    """The daemon at a glance (``GET /api/v1/status``)."""

    mode: str = Field(description="paper-live or paper-replay")
    status: str = Field(description="overall health")
    now: AwareDatetime = Field(description="trading clock")
    session: SessionOut
    components: list[ComponentOut]
    equity_usd: float
    cash_usd: float
    start_of_day_equity_usd: float
    day_pnl_net_usd: float = Field(description="equity now minus start-of-day equity")
    day_pnl_gross_usd: float = Field(description="day P&L before today's commissions")
    fees_today_usd: float
    open_positions: int
    symbols: list[str] = Field(description="the symbols this daemon trades")
    entries_paused: bool
    control_enabled: bool = Field(description="API_TOKEN set: control endpoints usable")


class PositionOut(_Out):
    """An open position, marked to the last bar's close."""

    symbol: str
    side: str = Field(description="long or short")
    quantity: int = Field(description="shares, negative when short")
    average_price: float
    last_price: float | None
    market_value_usd: float
    unrealized_pnl_usd: float


class FillOut(_Out):
    """One execution."""

    fill_id: str
    order_id: str
    symbol: str
    side: str
    quantity: int
    price: float
    commission_usd: float
    slippage_cost_usd: float
    timestamp: AwareDatetime


class OrderOut(_Out):
    """An order with its state."""

    id: str
    client_order_id: str
    parent_id: str | None
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: int
    limit_price: float | None
    stop_price: float | None
    status: str
    filled_quantity: int
    average_fill_price: float
    reject_reason: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None


class TradeOut(_Out):
    """A round trip (open while ``exit_time`` is null)."""

    id: int
    symbol: str
    side: str
    quantity: int
    entry_time: AwareDatetime
    entry_price: float
    exit_time: AwareDatetime | None
    exit_price: float | None
    status: str = Field(description="open or closed")
    pnl_usd: float | None = Field(description="net of fees and slippage")
    pnl_pct: float | None
    fees_usd: float
    slippage_cost_usd: float
    exit_reason: str | None
    strategy: str


class EquityPointOut(_Out):
    """Equity at a bar group's close."""

    time: AwareDatetime
    equity_usd: float


class BarOut(_Out):
    """One traded bar (``time`` is its start)."""

    time: AwareDatetime
    open: float
    high: float
    low: float
    close: float
    volume: int


class OpeningRangeOut(_Out):
    """A session's opening range (first ``ORB_MINUTES`` of the session)."""

    start: AwareDatetime
    end: AwareDatetime
    high: float
    low: float


class BarsOut(_Out):
    """A symbol's traded bars with each session's opening range."""

    symbol: str
    interval_seconds: int | None
    bars: list[BarOut]
    opening_ranges: list[OpeningRangeOut]


class DailyOut(_Out):
    """Per-session figures (recorded after each close)."""

    session: date
    trades: int
    wins: int
    losses: int
    net_pnl_usd: float
    fees_usd: float
    equity_usd: float
    win_rate_pct: float | None


class ControlOut(_Out):
    """The outcome of a control command."""

    command: str = Field(description="pause-entries, resume-entries or flatten")
    at: AwareDatetime = Field(description="trading clock")
    entries_paused: bool
    symbols: list[str] = Field(description="symbols a flatten sent closes for")
    message: str


class FlattenIn(BaseModel):
    """Body of ``POST /control/flatten``: one symbol, or every open position."""

    model_config = ConfigDict(extra="forbid")

    symbol: str | None = Field(None, description="ticker; omitted: flatten everything")


class ErrorOut(_Out):
    """An error answer."""

    detail: str
