"""Commission models: the fee in USD for an order of ``quantity`` shares at ``price``.

Fees are defined per **order**. With partial fills, the exchange charges each
fill ``fee(cumulative quantity) - fees already charged``, so a per-order
minimum is paid once, not once per fill.

Chosen by ``COMMISSION_MODEL``: ``zero`` | ``per_share`` | ``bps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.config.settings import ExchangeSettings


class CommissionModel(Protocol):
    """Fee for a whole order."""

    def fee(self, quantity: int, price: float) -> float:
        """USD charged for ``quantity`` shares at ``price`` USD per share (>= 0)."""
        ...


class ZeroCommission:
    """Commission-free trading."""

    def fee(self, quantity: int, price: float) -> float:
        """Always 0.0 USD."""
        return 0.0


@dataclass(frozen=True, slots=True)
class PerShareCommission:
    """Per-share pricing with a minimum and a cap, as IBKR's "Fixed" US stock plan.

    ``fee = min(max(quantity * per_share, minimum), max_pct% of notional)``;
    IBKR Fixed: USD 0.005 per share, minimum USD 1.00 per order, maximum 1% of
    trade value (interactivebrokers.com, "Commissions: Stocks, ETFs").

    Attributes:
        per_share: USD per share.
        minimum: USD minimum per order.
        max_pct: cap as a percentage of the order's notional value.
    """

    per_share: float = 0.005
    minimum: float = 1.0
    max_pct: float = 1.0

    def fee(self, quantity: int, price: float) -> float:
        """USD fee for the order, minimum and cap applied."""
        raw = max(quantity * self.per_share, self.minimum)
        return min(raw, quantity * price * self.max_pct / 100.0)


@dataclass(frozen=True, slots=True)
class BpsCommission:
    """A fixed fraction of notional: ``quantity * price * bps / 10,000``.

    Attributes:
        bps: basis points of the order's notional value.
    """

    bps: float

    def fee(self, quantity: int, price: float) -> float:
        """USD fee, proportional to notional."""
        return quantity * price * self.bps / 10_000.0


_FACTORIES: dict[str, Callable[[ExchangeSettings], CommissionModel]] = {
    "zero": lambda s: ZeroCommission(),
    "per_share": lambda s: PerShareCommission(
        s.commission_per_share, s.commission_min_per_order, s.commission_max_pct
    ),
    "bps": lambda s: BpsCommission(s.commission_bps),
}


def build_commission_model(settings: ExchangeSettings) -> CommissionModel:
    """The model named by ``settings.commission_model``.

    Raises:
        InvalidInputError: the name is not one of zero, per_share, bps.
    """
    try:
        return _FACTORIES[settings.commission_model](settings)
    except KeyError:
        raise InvalidInputError(
            f"commission_model={settings.commission_model!r}; expected one of {sorted(_FACTORIES)}"
        ) from None
