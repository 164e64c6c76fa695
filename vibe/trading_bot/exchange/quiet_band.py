"""The price band inside which a bar cannot fill any of a symbol's working orders.

From the fill rules (:mod:`.fill_rules`): a buy limit or a sell stop can only fill
when the bar's low reaches its price, a sell limit or a buy stop when its high does
(a gap through the price shows in the same extreme, since the open lies within the
bar's range). So a bar whose low is above the highest such "low" price and whose
high is below the lowest such "high" price fills nothing. A market order, or a
stop-limit whose stop has not triggered (its state may change without a fill), may
act in any bar: the band is then empty. The band is a sufficient condition only:
a bar outside it may still fill nothing (a limit that is merely touched).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from vibe.common.models import Order, OrderSide, OrderType

#: No working order: every bar is quiet.
UNBOUNDED = (-math.inf, math.inf)
#: Some order may act in any bar: no bar is quiet.
EMPTY = (math.inf, -math.inf)


def quiet_band(orders: Iterable[tuple[Order, bool]]) -> tuple[float, float]:
    """``(low, high)`` USD: a bar with ``low > band low`` and ``high < band high`` fills nothing.

    Args:
        orders: the symbol's active working orders, each with whether its stop
            triggered (stop-limit orders; ignored for the other types).
    """
    low, high = UNBOUNDED
    for order, triggered in orders:
        kind = order.order_type
        if kind is OrderType.MARKET or (kind is OrderType.STOP_LIMIT and not triggered):
            return EMPTY
        price = order.stop_price if kind is OrderType.STOP else order.limit_price
        if price is None:
            return EMPTY
        if (order.side is OrderSide.BUY) == (kind is not OrderType.STOP):
            low = max(low, price)
        else:
            high = min(high, price)
    return low, high
