"""Where an order fills inside one bar (before slippage and volume limits).

Pure functions of an order and a bar, following the paper exchange's rules:

* market: the open of the first bar that starts at or after submission;
* limit: when the bar trades through the limit — at the limit, or at the open
  when the bar opens beyond it (price improvement on a gap);
* stop: when the bar's high (buy) / low (sell) reaches the stop — at the stop,
  or at the open when the bar gaps through it;
* stop-limit: triggers like a stop; in the trigger bar it fills at the trigger
  price only if that is within the limit, afterwards like a limit order.

A limit "trades through" when the bar goes strictly beyond it (``low < limit``
for a buy): a touch alone is not assumed to fill, since queue position is unknown.
"""

from __future__ import annotations

from vibe.common.models import Bar, Order, OrderSide, OrderType


def limit_fill_price(side: OrderSide, limit: float, bar: Bar) -> float | None:
    """Fill price of a limit order in ``bar``, or ``None`` when it does not fill."""
    if side is OrderSide.BUY:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low < limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high > limit else None


def stop_triggered(side: OrderSide, stop: float, bar: Bar) -> bool:
    """True when ``bar`` reaches a buy stop (high >= stop) or sell stop (low <= stop)."""
    return bar.high >= stop if side is OrderSide.BUY else bar.low <= stop


def stop_fill_price(side: OrderSide, stop: float, bar: Bar) -> float | None:
    """Fill price of a stop order in ``bar`` (the open if gapped through), or ``None``."""
    if not stop_triggered(side, stop, bar):
        return None
    if side is OrderSide.BUY:
        return max(bar.open, stop)
    return min(bar.open, stop)


def reference_fill_price(order: Order, bar: Bar, triggered: bool = False) -> float | None:
    """The pre-slippage fill price of ``order`` in ``bar``, or ``None`` when it does not fill.

    Args:
        order: a working order.
        bar: the bar being processed.
        triggered: a stop-limit whose stop was reached in an earlier bar.
    """
    kind = order.order_type
    if kind is OrderType.MARKET:
        return bar.open
    if kind is OrderType.LIMIT:
        assert order.limit_price is not None  # noqa: S101 - guaranteed by Order
        return limit_fill_price(order.side, order.limit_price, bar)
    assert order.stop_price is not None  # noqa: S101 - guaranteed by Order
    if kind is OrderType.STOP:
        return stop_fill_price(order.side, order.stop_price, bar)
    assert order.limit_price is not None  # noqa: S101 - guaranteed by Order
    if triggered:
        return limit_fill_price(order.side, order.limit_price, bar)
    start = stop_fill_price(order.side, order.stop_price, bar)
    if start is None:
        return None
    marketable = (
        start <= order.limit_price if order.side is OrderSide.BUY else start >= order.limit_price
    )
    return start if marketable else None
