"""Slippage models: the price a fill actually gets versus its reference price.

Every model moves the price **against** the trader (buys pay more, sells get
less) and never improves it. The reference price is what the fill rule picked
(next bar's open for a market order, the limit, the stop trigger, ...).
Slippage cost in USD is ``|executed - reference| * quantity``.

Chosen by ``SLIPPAGE_MODEL``: ``none`` | ``fixed_bps`` | ``half_spread`` | ``sqrt_impact``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vibe.common.errors import InvalidInputError
from vibe.common.models import Bar, OrderSide
from vibe.trading_bot.config.settings import ExchangeSettings

BPS = 1e-4
_PARKINSON = 1.0 / math.sqrt(4.0 * math.log(2.0))


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask in USD per share."""

    bid: float
    ask: float


class SlippageModel(Protocol):
    """Turns a reference price into an executed price."""

    @property
    def worst_case_bps(self) -> float:
        """The worst plausible slippage, bps of price (what sizing reserves for)."""
        ...

    def execution_price(
        self,
        side: OrderSide,
        reference: float,
        quantity: int,
        bar: Bar | None = None,
        quote: Quote | None = None,
    ) -> float:
        """Executed price in USD per share, never better than ``reference`` for the trader."""
        ...


def _adverse(side: OrderSide, reference: float, fraction: float) -> float:
    return reference * (1.0 + side.sign * fraction)


class NoSlippage:
    """Fills exactly at the reference price."""

    @property
    def worst_case_bps(self) -> float:
        """Zero: no slippage."""
        return 0.0

    def execution_price(
        self,
        side: OrderSide,
        reference: float,
        quantity: int,
        bar: Bar | None = None,
        quote: Quote | None = None,
    ) -> float:
        """Return ``reference`` unchanged."""
        return reference


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    """A fixed fraction of the price: ``reference * (1 ± bps / 10,000)``.

    Attributes:
        bps: slippage in basis points of price (>= 0).
    """

    bps: float

    @property
    def worst_case_bps(self) -> float:
        """``bps``: every fill pays exactly that."""
        return self.bps

    def execution_price(
        self,
        side: OrderSide,
        reference: float,
        quantity: int,
        bar: Bar | None = None,
        quote: Quote | None = None,
    ) -> float:
        """Buys pay ``bps`` more, sells receive ``bps`` less."""
        return _adverse(side, reference, self.bps * BPS)


@dataclass(frozen=True, slots=True)
class HalfSpreadSlippage:
    """Crossing the spread: buys at the ask, sells at the bid.

    With a quote, the cost is half the quoted spread (the reference is taken as
    the mid). Without one, ``assumed_spread_bps`` of the reference price is
    assumed, so the cost is half of that.

    Attributes:
        assumed_spread_bps: full bid-ask spread assumed when no quote is given, bps.
    """

    assumed_spread_bps: float

    @property
    def worst_case_bps(self) -> float:
        """Half the assumed spread (a quoted spread may be wider; the fill check catches it)."""
        return self.assumed_spread_bps / 2.0

    def execution_price(
        self,
        side: OrderSide,
        reference: float,
        quantity: int,
        bar: Bar | None = None,
        quote: Quote | None = None,
    ) -> float:
        """Reference moved by half the (quoted or assumed) spread against the trader."""
        if quote is not None and quote.ask >= quote.bid > 0:
            half = (quote.ask - quote.bid) / 2.0
            return reference + side.sign * half
        return _adverse(side, reference, self.assumed_spread_bps * BPS / 2.0)


@dataclass(frozen=True, slots=True)
class SqrtImpactSlippage:
    """Square-root market impact: ``k * sigma * sqrt(quantity / volume)`` of the price.

    The square-root law of market impact (Almgren, Thum, Hauptmann and Li,
    "Direct Estimation of Equity Market Impact", Risk 2005; Tóth et al.,
    "Anomalous price impact and the critical nature of liquidity in financial
    markets", PRX 2011). Here ``volume`` is the fill bar's volume and ``sigma``
    the bar's volatility from Parkinson's high-low estimator,
    ``ln(high / low) / sqrt(4 ln 2)`` (Parkinson, J. Business 1980). Without a
    bar or with zero volume, ``fallback_bps`` applies. The impact is capped at
    ``max_bps``.

    Attributes:
        k: dimensionless impact coefficient (about 1 in the literature).
        fallback_bps: slippage when the bar gives no volume or range, bps.
        max_bps: upper bound of the impact, bps.
    """

    k: float
    fallback_bps: float = 1.0
    max_bps: float = 500.0

    @property
    def worst_case_bps(self) -> float:
        """``max_bps``: the impact's cap."""
        return self.max_bps

    def execution_price(
        self,
        side: OrderSide,
        reference: float,
        quantity: int,
        bar: Bar | None = None,
        quote: Quote | None = None,
    ) -> float:
        """Reference moved by the square-root impact against the trader."""
        fraction = self.fallback_bps * BPS
        if bar is not None and bar.volume > 0 and bar.high >= bar.low > 0:
            sigma = math.log(bar.high / bar.low) * _PARKINSON
            fraction = self.k * sigma * math.sqrt(quantity / bar.volume)
        return _adverse(side, reference, min(fraction, self.max_bps * BPS))


def slippage_cost(reference: float, executed: float, quantity: int) -> float:
    """USD lost to slippage on a fill: ``|executed - reference| * quantity``."""
    return abs(executed - reference) * quantity


_FACTORIES: dict[str, Callable[[ExchangeSettings], SlippageModel]] = {
    "none": lambda s: NoSlippage(),
    "fixed_bps": lambda s: FixedBpsSlippage(s.slippage_bps),
    "half_spread": lambda s: HalfSpreadSlippage(s.assumed_spread_bps),
    "sqrt_impact": lambda s: SqrtImpactSlippage(s.impact_coefficient, s.slippage_bps),
}


def build_slippage_model(settings: ExchangeSettings) -> SlippageModel:
    """The model named by ``settings.slippage_model``.

    Raises:
        InvalidInputError: the name is not one of none, fixed_bps, half_spread, sqrt_impact.
    """
    try:
        return _FACTORIES[settings.slippage_model](settings)
    except KeyError:
        raise InvalidInputError(
            f"slippage_model={settings.slippage_model!r}; expected one of {sorted(_FACTORIES)}"
        ) from None
