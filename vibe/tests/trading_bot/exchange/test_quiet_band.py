"""The quiet band: the prices inside which a bar cannot fill a symbol's working orders."""

from __future__ import annotations

from datetime import UTC, datetime

from vibe.common.models import Order, OrderSide, OrderType
from vibe.trading_bot.exchange.quiet_band import EMPTY, UNBOUNDED, quiet_band

AT = datetime(2024, 7, 11, 14, 0, tzinfo=UTC)


def _order(
    side: OrderSide, kind: OrderType, stop: float | None = None, limit: float | None = None
) -> Order:
    return Order("SPY", side, 10, kind, AT, limit_price=limit, stop_price=stop)


def test_long_and_short_brackets() -> None:
    long_legs = [
        (_order(OrderSide.SELL, OrderType.STOP, stop=548.0), False),  # stop-loss: the low
        (_order(OrderSide.SELL, OrderType.LIMIT, limit=553.5), False),  # target: the high
    ]
    assert quiet_band(long_legs) == (548.0, 553.5)
    short_legs = [
        (_order(OrderSide.BUY, OrderType.STOP, stop=553.5), False),
        (_order(OrderSide.BUY, OrderType.LIMIT, limit=548.0), False),
    ]
    assert quiet_band(short_legs) == (548.0, 553.5)
    # two orders on one side: the nearer price bounds the band
    both = [*long_legs, (_order(OrderSide.SELL, OrderType.STOP, stop=549.0), False)]
    assert quiet_band(both) == (549.0, 553.5)


def test_no_order_quiet_every_bar_market_or_untriggered_stop_limit_never() -> None:
    assert quiet_band([]) == UNBOUNDED
    assert quiet_band([(_order(OrderSide.BUY, OrderType.MARKET), False)]) == EMPTY
    stop_limit = _order(OrderSide.BUY, OrderType.STOP_LIMIT, stop=552.0, limit=552.5)
    assert quiet_band([(stop_limit, False)]) == EMPTY  # its trigger may change in any bar
    assert quiet_band([(stop_limit, True)]) == (552.5, float("inf"))  # triggered: a buy limit
