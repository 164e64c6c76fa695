"""Alert payloads: what happened, validated once, with P&L and slippage computed here.

Every alert is a frozen pydantic model with a ``kind`` discriminator and the
tz-aware UTC ``timestamp`` of the event. Derived money figures (P&L in USD and
%, slippage in USD and bps, hold time) are ``computed_field`` properties of the
payload, so the formatter, the log and any other consumer show the same numbers.

Formulas (sign convention: positive slippage is a cost to us):

* order slippage, USD = ``(fill_price - expected_price) * quantity * side`` where
  ``side`` is +1 for buy and -1 for sell; bps = ``slippage / (expected_price *
  quantity) * 10_000``.
* round-trip gross P&L, USD = ``(exit_price - entry_price) * quantity * side`` with
  side +1 long, -1 short; net P&L = gross - fees; P&L % = net / entry notional
  * 100 (the same formulas as :class:`vibe.common.models.Trade`).
* round-trip slippage bps = ``slippage_usd / (entry notional + exit notional) *
  10_000``: the average cost per traded dollar over both legs.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    computed_field,
    model_validator,
)

from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason, Order, OrderSide, OrderType, PositionSide, Trade

Symbol = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=32)
]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False, description="USD per share")]
Shares = Annotated[int, Field(gt=0, description="whole shares")]
Usd = Annotated[float, Field(allow_inf_nan=False, description="USD")]
UsdCost = Annotated[float, Field(ge=0, allow_inf_nan=False, description="USD, >= 0")]


class AlertKind(StrEnum):
    """The kinds of alert the bot sends."""

    ORDER_SENT = "order_sent"
    ORDER_FILLED = "order_filled"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REJECTED = "order_rejected"
    POSITION_CLOSED = "position_closed"
    DAILY_SUMMARY = "daily_summary"
    SYSTEM = "system"


class SystemEvent(StrEnum):
    """What a :class:`SystemAlert` reports."""

    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    COMPONENT_UNHEALTHY = "component_unhealthy"
    COMPONENT_DEGRADED = "component_degraded"
    COMPONENT_RECOVERED = "component_recovered"
    CIRCUIT_BREAKER = "circuit_breaker"
    SYNC_FAILURE = "sync_failure"
    OPERATOR_COMMAND = "operator_command"  # pause/resume entries, flatten (dashboard API)


#: System events that are errors (gated by ``NOTIFY_ON_ERROR``); the others always go.
ERROR_EVENTS = frozenset(
    {
        SystemEvent.COMPONENT_UNHEALTHY,
        SystemEvent.COMPONENT_DEGRADED,
        SystemEvent.CIRCUIT_BREAKER,
        SystemEvent.SYNC_FAILURE,
    }
)


class _Alert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: AwareDatetime = Field(description="when the event happened (tz-aware)")


def _signed(side: OrderSide) -> int:
    return 1 if side is OrderSide.BUY else -1


class OrderSentAlert(_Alert):
    """An order was submitted to the exchange.

    Attributes:
        order_id: the order's id; symbol, side, quantity (shares), order_type as on the order.
        limit_price / stop_price: USD per share, when the order type has them.
        reason: why it was sent, e.g. ``"ORB long breakout"``.
    """

    kind: Literal[AlertKind.ORDER_SENT] = AlertKind.ORDER_SENT
    order_id: str = Field(min_length=1)
    symbol: Symbol
    side: OrderSide
    quantity: Shares
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None
    reason: str = ""

    @classmethod
    def from_order(cls, order: Order, reason: str = "") -> Self:
        """Build from a domain :class:`~vibe.common.models.Order` (time = ``created_at``)."""
        return cls(
            timestamp=order.created_at,
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            order_type=order.order_type,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            reason=reason,
        )


class OrderFilledAlert(_Alert):
    """An order (or part of it) was filled.

    Attributes:
        quantity: shares filled by this fill.
        fill_price: execution price, USD per share, slippage included.
        expected_price: the reference price the order was decided on, USD per share.
        commission: USD charged for the fill.
    """

    kind: Literal[AlertKind.ORDER_FILLED] = AlertKind.ORDER_FILLED
    order_id: str = Field(min_length=1)
    symbol: Symbol
    side: OrderSide
    quantity: Shares
    fill_price: Price
    expected_price: Price
    commission: UsdCost = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slippage_usd(self) -> float:
        """USD lost to slippage (negative: price improvement)."""
        return (self.fill_price - self.expected_price) * self.quantity * _signed(self.side)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slippage_bps(self) -> float:
        """Slippage in basis points of the expected notional."""
        return self.slippage_usd / (self.expected_price * self.quantity) * 10_000


class OrderCancelledAlert(_Alert):
    """An order was cancelled (by us, at the close, or expired) before filling completely."""

    kind: Literal[AlertKind.ORDER_CANCELLED] = AlertKind.ORDER_CANCELLED
    order_id: str = Field(min_length=1)
    symbol: Symbol
    side: OrderSide
    quantity: Shares
    filled_quantity: int = Field(0, ge=0, description="shares filled before cancelling")
    reason: str = ""

    @model_validator(mode="after")
    def _filled_le_quantity(self) -> Self:
        if self.filled_quantity > self.quantity:
            raise ValueError(
                f"filled_quantity={self.filled_quantity} exceeds quantity={self.quantity}"
            )
        return self


class OrderRejectedAlert(_Alert):
    """An order refused by risk checks or the exchange.

    Attributes:
        reason: short machine-readable reason (``insufficient_buying_power``).
        detail: human-readable explanation naming the offending values.
    """

    kind: Literal[AlertKind.ORDER_REJECTED] = AlertKind.ORDER_REJECTED
    order_id: str = ""
    symbol: Symbol
    side: OrderSide
    quantity: Shares
    reason: str = Field(min_length=1)
    detail: str = ""


class PositionClosedAlert(_Alert):
    """A round trip ended.

    Attributes:
        entry_price / exit_price: average fill prices, USD per share.
        fees: USD commissions over both legs.
        slippage_usd: USD lost to slippage over both legs (from the exchange's fills).
        exit_reason: stop loss, take profit, end of day, shutdown or manual.
    """

    kind: Literal[AlertKind.POSITION_CLOSED] = AlertKind.POSITION_CLOSED
    trade_id: int | None = None
    symbol: Symbol
    side: PositionSide
    quantity: Shares
    entry_time: AwareDatetime
    entry_price: Price
    exit_time: AwareDatetime
    exit_price: Price
    fees: UsdCost = 0.0
    slippage_usd: UsdCost = 0.0
    exit_reason: ExitReason
    strategy: str = ""

    @model_validator(mode="after")
    def _exit_after_entry(self) -> Self:
        if self.exit_time < self.entry_time:
            raise ValueError(
                f"exit_time={self.exit_time.isoformat()} is before "
                f"entry_time={self.entry_time.isoformat()}"
            )
        return self

    @classmethod
    def from_trade(cls, trade: Trade) -> Self:
        """Build from a closed :class:`~vibe.common.models.Trade` (time = exit time).

        Raises:
            InvalidInputError: the trade is still open.
        """
        if trade.exit_price is None or trade.exit_time is None or trade.exit_reason is None:
            raise InvalidInputError(f"trade {trade.id} ({trade.symbol}) is open; expected closed")
        return cls(
            timestamp=trade.exit_time,
            trade_id=trade.id,
            symbol=trade.symbol,
            side=trade.side,
            quantity=trade.quantity,
            entry_time=trade.entry_time,
            entry_price=trade.entry_price,
            exit_time=trade.exit_time,
            exit_price=trade.exit_price,
            fees=trade.fees,
            slippage_usd=trade.slippage_cost,
            exit_reason=trade.exit_reason,
            strategy=trade.strategy,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gross_pnl_usd(self) -> float:
        """USD P&L before fees."""
        direction = 1 if self.side is PositionSide.LONG else -1
        return (self.exit_price - self.entry_price) * self.quantity * direction

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pnl_usd(self) -> float:
        """USD P&L after fees."""
        return self.gross_pnl_usd - self.fees

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pnl_pct(self) -> float:
        """Net P&L as % of the entry notional."""
        return self.pnl_usd / (self.entry_price * self.quantity) * 100.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slippage_bps(self) -> float:
        """Slippage in bps of the notional traded over both legs."""
        notional = (self.entry_price + self.exit_price) * self.quantity
        return self.slippage_usd / notional * 10_000

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hold_seconds(self) -> float:
        """Seconds between entry and exit."""
        return (self.exit_time - self.entry_time).total_seconds()


class DailySummaryAlert(_Alert):
    """The end-of-session summary.

    Attributes:
        session_date: the trading day (America/New_York calendar date).
        trades / wins / losses: closed round trips that day.
        gross_pnl_usd: USD P&L before fees; fees_usd: USD commissions.
        starting_equity / ending_equity: USD account equity at the open and close.
        max_drawdown_pct: intraday peak-to-trough equity drop in %, when known.
        per_symbol_pnl: net USD P&L per ticker.
    """

    kind: Literal[AlertKind.DAILY_SUMMARY] = AlertKind.DAILY_SUMMARY
    session_date: date
    trades: int = Field(ge=0)
    wins: int = Field(ge=0)
    losses: int = Field(ge=0)
    gross_pnl_usd: Usd
    fees_usd: UsdCost = 0.0
    starting_equity: Price
    ending_equity: Price
    max_drawdown_pct: float | None = Field(None, ge=0, le=100)
    per_symbol_pnl: dict[str, Usd] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _counts_add_up(self) -> Self:
        if self.wins + self.losses > self.trades:
            raise ValueError(
                f"wins={self.wins} + losses={self.losses} exceeds trades={self.trades}"
            )
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_pnl_usd(self) -> float:
        """USD P&L after fees."""
        return self.gross_pnl_usd - self.fees_usd

    @computed_field  # type: ignore[prop-decorator]
    @property
    def return_pct(self) -> float:
        """Equity change over the session in %."""
        return (self.ending_equity - self.starting_equity) / self.starting_equity * 100.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def win_rate_pct(self) -> float | None:
        """Winning trades as % of trades; ``None`` without trades."""
        return self.wins / self.trades * 100.0 if self.trades else None


class SystemAlert(_Alert):
    """Something about the service rather than a trade.

    Attributes:
        event: start-up, shutdown, component unhealthy/degraded/recovered, circuit breaker,
            sync failure.
        message: what happened, in plain words.
        component: the component concerned (``data``, ``cloud_sync``...), if any.
        details: extra ``name -> value`` lines shown as embed fields.
    """

    kind: Literal[AlertKind.SYSTEM] = AlertKind.SYSTEM
    event: SystemEvent
    message: str = Field(min_length=1)
    component: str = ""
    details: dict[str, str] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_error(self) -> bool:
        """True for events that report a failure (see :data:`ERROR_EVENTS`)."""
        return self.event in ERROR_EVENTS


Alert = Annotated[
    OrderSentAlert
    | OrderFilledAlert
    | OrderCancelledAlert
    | OrderRejectedAlert
    | PositionClosedAlert
    | DailySummaryAlert
    | SystemAlert,
    Field(discriminator="kind"),
]

ALERT_ADAPTER: TypeAdapter[Alert] = TypeAdapter(Alert)
