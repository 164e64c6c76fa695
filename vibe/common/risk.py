"""Risk management: turn a strategy signal into an order request or a rejection.

Sizing (fixed-fractional, "risk 1 % per trade"): ``shares = floor(equity x
risk_per_trade_pct / 100 / R)`` with R = |expected entry − stop| (the signal
bar's close is the expected entry), then capped so the position value stays
``<= max_position_pct`` % of equity and its cost at the worst plausible fill
stays ``<= buying power``. Zero shares is a rejection, never an order.

No margin: the account is a cash account, so open positions (gross, long and
short) may never be worth more than the equity. A market entry fills at a
later price than the signal's (the next bar's open, plus slippage), so the cash
bound reserves for the worst plausible fill: ``price x (1 + (slippage_reserve_bps
+ buying_power_buffer_bps) / 10,000)`` per share. This is the broker practice of
checking a market order's buying power against a price collar above the last
price (Alpaca checks market buys at 2.5-4 % and market shorts at 3 % above the
current price, "Orders at Alpaca: Buying Power"). A gap beyond the collar is
caught at the fill: the paper exchange fills only what the cash then allows and
cancels the rest as ``insufficient_buying_power`` (see
``vibe.trading_bot.exchange.mock_exchange``).

Limits on new entries: one position per symbol, ``max_open_positions``,
``max_trades_per_day``, ``max_daily_loss_pct`` (once the day's realized +
unrealized P&L is at or below −pct % of start-of-day equity) and, when
``enforce_pdt``, FINRA Rule 4210's pattern-day-trader limit: under 25,000 USD
equity, at most 3 day trades in 5 sessions (every ORB entry is a day trade,
so a 4th is refused). Closing signals always pass.

Exit levels of a filled entry (:func:`exit_levels`): the stop the signal named
and a take-profit at ``take_profit_r`` x R from the fill, recomputed from the
actual fill price; any strategy that sets a stop and an R-multiple target uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from vibe.common.errors import InvalidInputError
from vibe.common.models import OrderSide, OrderType, PositionSide, Signal, SignalAction

#: FINRA Rule 4210 pattern-day-trader thresholds.
PDT_MIN_EQUITY_USD = 25_000.0
PDT_MAX_DAY_TRADES = 3
_EPSILON = 1e-9  # keeps floor(1000 / 0.1) == 10000 despite binary rounding


class RiskRule(StrEnum):
    """Why the risk manager refused a signal (stable names for metrics and alerts)."""

    INVALID_STOP = "invalid_stop"
    POSITION_EXISTS = "position_exists"
    NO_POSITION = "no_position"
    MAX_OPEN_POSITIONS = "max_open_positions"
    MAX_TRADES_PER_DAY = "max_trades_per_day"
    MAX_DAILY_LOSS = "max_daily_loss_pct"
    PATTERN_DAY_TRADER = "enforce_pdt"
    ZERO_QUANTITY = "zero_quantity"


@dataclass(slots=True, frozen=True)
class RiskParams:
    """Risk parameters; field names equal ``RiskSettings`` fields.

    Attributes:
        risk_per_trade_pct: % of equity risked per trade (0-100].
        max_position_pct: max position value, % of equity (0-100].
        max_open_positions: max simultaneous positions.
        max_trades_per_day: max entries per session.
        max_daily_loss_pct: no new entries once the day's P&L <= -this % of
            start-of-day equity.
        enforce_pdt: apply the pattern-day-trader limit.
        buying_power_buffer_bps: price collar, bps above the expected entry price
            reserved per share of a market entry (>= 0; see the module doc).
        slippage_reserve_bps: the slippage model's worst plausible slippage, bps
            (>= 0; set by the builder from the exchange settings).

    Raises:
        InvalidInputError: a value is out of its domain (names the field).
    """

    risk_per_trade_pct: float = 1.0
    max_position_pct: float = 25.0
    max_open_positions: int = 5
    max_trades_per_day: int = 10
    max_daily_loss_pct: float = 2.0
    enforce_pdt: bool = False
    buying_power_buffer_bps: float = 50.0
    slippage_reserve_bps: float = 0.0

    def __post_init__(self) -> None:
        for name in ("risk_per_trade_pct", "max_position_pct", "max_daily_loss_pct"):
            value = getattr(self, name)
            if not 0 < value <= 100:
                raise InvalidInputError(f"{name}={value!r}; expected a percentage in (0, 100]")
        for name in ("buying_power_buffer_bps", "slippage_reserve_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{name}={value!r}; expected bps >= 0")
        for name in ("max_open_positions", "max_trades_per_day"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name}={getattr(self, name)!r}; expected >= 1")


@dataclass(slots=True, frozen=True)
class AccountState:
    """Snapshot of the account that a risk decision needs (USD, shares).

    Attributes:
        equity: current equity, USD.
        buying_power: cash available for a new position, USD.
        start_of_day_equity: equity at the session open, USD.
        daily_pnl: today's realized + unrealized P&L, USD (negative = loss).
        trades_today: entries already made this session.
        day_trades_5_sessions: day trades in the last 5 sessions (PDT rule).
        positions: signed open quantity per symbol (shares; < 0 short); flat symbols
            may be absent.
    """

    equity: float
    buying_power: float
    start_of_day_equity: float
    daily_pnl: float = 0.0
    trades_today: int = 0
    day_trades_5_sessions: int = 0
    positions: Mapping[str, int] = field(default_factory=dict)

    @property
    def open_positions(self) -> int:
        """Number of symbols with a non-zero position."""
        return sum(1 for qty in self.positions.values() if qty != 0)


@dataclass(slots=True, frozen=True)
class OrderRequest:
    """A sized market order the executor should place.

    Attributes:
        signal: the signal it came from (stop and take-profit are on it).
        side: buy or sell.
        quantity: shares, > 0.
        order_type: always market for ORB entries and exits.
        is_entry: True when it opens a position, False when it closes one.
    """

    signal: Signal
    side: OrderSide
    quantity: int
    order_type: OrderType = OrderType.MARKET
    is_entry: bool = True

    @property
    def symbol(self) -> str:
        """The signal's ticker."""
        return self.signal.symbol


@dataclass(slots=True, frozen=True)
class RiskRejection:
    """A signal the risk manager refused.

    Attributes:
        signal: the refused signal.
        rule: which check refused it.
        detail: the numbers behind the refusal, in plain words.
    """

    signal: Signal
    rule: RiskRule
    detail: str


class RiskManager:
    """Decides, for one signal and an account snapshot, an order request or a rejection.

    Pure and stateless apart from its parameters: the caller passes the current
    :class:`AccountState`, so a backtest and a live day decide identically.

    Args:
        params: the limits and sizing percentages.
    """

    def __init__(self, params: RiskParams | None = None) -> None:
        self.params = params or RiskParams()

    def evaluate(self, signal: Signal, account: AccountState) -> OrderRequest | RiskRejection:
        """Return the order to place for ``signal``, or why it is refused."""
        if signal.action is SignalAction.CLOSE:
            return self._close(signal, account)
        refusal = self._entry_refusal(signal, account)
        if refusal is not None:
            return refusal
        quantity, why = self.size(signal, account)
        if quantity == 0:
            return RiskRejection(signal, RiskRule.ZERO_QUANTITY, why)
        side = OrderSide.BUY if signal.action is SignalAction.OPEN_LONG else OrderSide.SELL
        return OrderRequest(signal, side, quantity)

    def size(self, signal: Signal, account: AccountState) -> tuple[int, str]:
        """Shares for an entry and a note on what bound them (see module doc).

        Raises:
            InvalidInputError: the signal has no stop, or its stop equals its price.
        """
        p = self.params
        if signal.stop_price is None or signal.stop_price == signal.price:
            raise InvalidInputError(
                f"signal stop_price={signal.stop_price!r} at price={signal.price!r};"
                " expected a stop different from the price"
            )
        risk_per_share = abs(signal.price - signal.stop_price)
        by_risk = _floor(account.equity * p.risk_per_trade_pct / 100.0 / risk_per_share)
        by_value = _floor(account.equity * p.max_position_pct / 100.0 / signal.price)
        collar_bps = p.slippage_reserve_bps + p.buying_power_buffer_bps
        worst_price = signal.price * (1.0 + collar_bps / 10_000.0)
        by_cash = _floor(max(account.buying_power, 0.0) / worst_price)
        quantity = max(min(by_risk, by_value, by_cash), 0)
        why = (
            f"risk {p.risk_per_trade_pct}% of {account.equity:.2f} USD at R="
            f"{risk_per_share:.4f} -> {by_risk}; {p.max_position_pct}% cap -> {by_value};"
            f" buying power {account.buying_power:.2f} USD at {worst_price:.4f}"
            f" (+{collar_bps:g} bps) -> {by_cash}"
        )
        return quantity, why

    def _entry_refusal(self, signal: Signal, account: AccountState) -> RiskRejection | None:
        p = self.params
        checks: tuple[tuple[bool, RiskRule, str], ...] = (
            (
                signal.stop_price is None or signal.stop_price == signal.price,
                RiskRule.INVALID_STOP,
                f"stop_price={signal.stop_price!r} at price={signal.price!r}",
            ),
            (
                account.positions.get(signal.symbol, 0) != 0,
                RiskRule.POSITION_EXISTS,
                f"already {account.positions.get(signal.symbol)} shares of {signal.symbol}",
            ),
            (
                account.open_positions >= p.max_open_positions,
                RiskRule.MAX_OPEN_POSITIONS,
                f"{account.open_positions} open, limit {p.max_open_positions}",
            ),
            (
                account.trades_today >= p.max_trades_per_day,
                RiskRule.MAX_TRADES_PER_DAY,
                f"{account.trades_today} entries today, limit {p.max_trades_per_day}",
            ),
            (
                account.daily_pnl <= -p.max_daily_loss_pct / 100.0 * account.start_of_day_equity,
                RiskRule.MAX_DAILY_LOSS,
                f"daily P&L {account.daily_pnl:.2f} USD <= -{p.max_daily_loss_pct}% of"
                f" {account.start_of_day_equity:.2f} USD",
            ),
            (
                p.enforce_pdt
                and account.equity < PDT_MIN_EQUITY_USD
                and account.day_trades_5_sessions >= PDT_MAX_DAY_TRADES,
                RiskRule.PATTERN_DAY_TRADER,
                f"{account.day_trades_5_sessions} day trades in 5 sessions with equity"
                f" {account.equity:.2f} < {PDT_MIN_EQUITY_USD:.0f} USD",
            ),
        )
        for failed, rule, detail in checks:
            if failed:
                return RiskRejection(signal, rule, detail)
        return None

    @staticmethod
    def _close(signal: Signal, account: AccountState) -> OrderRequest | RiskRejection:
        held = account.positions.get(signal.symbol, 0)
        if held == 0:
            return RiskRejection(signal, RiskRule.NO_POSITION, f"no {signal.symbol} position")
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        return OrderRequest(signal, side, abs(held), is_entry=False)


@dataclass(slots=True, frozen=True)
class ExitLevels:
    """Protective levels of a filled entry.

    Attributes:
        stop_price: the stop, USD per share (the opposite side of the range).
        take_profit_price: fill ± take_profit_r × R, USD per share.
        risk_per_share: R = |fill − stop|, USD per share.
        stop_already_hit: the fill is at or beyond the stop (the bar gapped through
            it): close at once at the fill price with exit reason ``stop_loss``.
    """

    stop_price: float
    take_profit_price: float
    risk_per_share: float
    stop_already_hit: bool


def exit_levels(
    side: PositionSide, fill_price: float, stop_price: float, take_profit_r: float
) -> ExitLevels:
    """Stop and take-profit for an entry filled at ``fill_price`` (USD per share).

    Take-profit = fill + ``take_profit_r`` × R for longs, fill − ``take_profit_r`` × R for
    shorts, with R = |fill − stop|.
    """
    sign = side.sign
    risk = abs(fill_price - stop_price)
    hit = (fill_price - stop_price) * sign <= 0
    return ExitLevels(stop_price, fill_price + sign * take_profit_r * risk, risk, hit)


def _floor(value: float) -> int:
    if not math.isfinite(value):
        return 0
    return math.floor(value + _EPSILON)
