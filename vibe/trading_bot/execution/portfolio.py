"""The executor's book: cash, positions and P&L, updated fill by fill.

Accounting (the same as the mock exchange's, so the two can be reconciled):
``cash -= side * quantity * price + commission`` per fill (side +1 buy, -1 sell;
short-sale proceeds are credited to cash); positions use the average-cost method
of :meth:`vibe.common.models.Position.apply_fill`; equity = cash + sum of
``quantity * mark`` over open positions, the mark being the last bar close seen
(or the last fill price before any bar).

Per-bar reads are cheap while flat: the book keeps the set of symbols with an open
position, so ``equity``, ``quantities()`` and ``has_open_positions`` do not walk
every position ever held (the backtest asks for equity after every bar group).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vibe.common.models import Fill, Position


class Portfolio:
    """Cash (USD), positions (shares) and realized/unrealized P&L (USD).

    Args:
        initial_cash: starting cash in USD.
    """

    def __init__(self, initial_cash: float) -> None:
        self.initial_cash = float(initial_cash)
        self.cash = float(initial_cash)
        self._positions: dict[str, Position] = {}
        self._open: set[str] = set()  # symbols whose position is not flat
        self.last_fill_at: datetime | None = None  # time of the latest fill booked (UTC)

    @classmethod
    def from_fills(cls, initial_cash: float, fills: Iterable[Fill]) -> Portfolio:
        """Rebuild a portfolio by replaying ``fills`` (oldest first) from ``initial_cash``."""
        portfolio = cls(initial_cash)
        for fill in fills:
            portfolio.apply_fill(fill)
        return portfolio

    def apply_fill(self, fill: Fill) -> float:
        """Book one fill; returns the USD it realized (before fees)."""
        self.cash -= fill.side.sign * fill.quantity * fill.price + fill.commission
        if self.last_fill_at is None or fill.timestamp > self.last_fill_at:
            self.last_fill_at = fill.timestamp
        position = self._positions.get(fill.symbol)
        if position is None:
            position = self._positions[fill.symbol] = Position(fill.symbol)
        realized = position.apply_fill(fill.side, fill.quantity, fill.price, fill.commission)
        if position.quantity:
            self._open.add(fill.symbol)
        else:
            self._open.discard(fill.symbol)
        return realized

    def mark(self, symbol: str, price: float) -> None:
        """Set the mark (USD per share) of ``symbol``'s position, if there is one."""
        position = self._positions.get(symbol)
        if position is not None:
            position.last_price = price

    def position(self, symbol: str) -> Position | None:
        """The open position in ``symbol``, or ``None`` when flat."""
        position = self._positions.get(symbol)
        return position if position is not None and position.quantity != 0 else None

    @property
    def positions(self) -> dict[str, Position]:
        """Open (non-flat) positions by symbol."""
        return {s: p for s, p in self._positions.items() if p.quantity != 0}

    @property
    def open_count(self) -> int:
        """Number of symbols whose position is not flat."""
        return len(self._open)

    @property
    def has_open_positions(self) -> bool:
        """True while any position is not flat."""
        return bool(self._open)

    def quantities(self) -> dict[str, int]:
        """Signed open shares by symbol (< 0 short)."""
        if not self._open:
            return {}
        return {s: p.quantity for s, p in self._positions.items() if p.quantity != 0}

    @property
    def market_value(self) -> float:
        """Signed USD value of the open positions at their marks."""
        if not self._open:
            return 0
        return sum(
            p.quantity * (p.last_price if p.last_price is not None else p.average_price)
            for p in self._positions.values()
            if p.quantity
        )

    @property
    def equity(self) -> float:
        """Cash plus the marked value of the open positions, USD."""
        if not self._open:
            return self.cash
        return self.cash + self.market_value

    @property
    def realized_pnl(self) -> float:
        """USD realized over all closed quantity, before fees."""
        return sum(p.realized_pnl for p in self._positions.values())

    @property
    def unrealized_pnl(self) -> float:
        """USD P&L of the open quantity at the marks."""
        return sum(p.unrealized_pnl for p in self._positions.values())

    @property
    def net_realized_pnl(self) -> float:
        """USD realized after fees: :attr:`realized_pnl` minus every commission paid.

        Equals the sum of the closed trades' P&L in ``trades.db`` (which is after
        fees) while no position is open; an open position's entry commission is
        already subtracted here.
        """
        return self.realized_pnl - self.fees

    @property
    def fees(self) -> float:
        """USD commissions paid on every fill."""
        return sum(p.fees for p in self._positions.values())
