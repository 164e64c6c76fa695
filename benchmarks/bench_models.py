"""Domain-model hot paths: fills applied to orders and positions, settings load time.

Run with ``make bench``. Prints operations per second; no thresholds are enforced here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from vibe.common.models import Fill, Order, OrderSide, OrderStatus, OrderType, Position
from vibe.trading_bot.config.loader import load_settings

T0 = datetime(2025, 7, 3, 13, 45, tzinfo=UTC)


def bench_position_fills(n: int = 200_000) -> float:
    pos = Position("SPY")
    start = time.perf_counter()
    for i in range(n):
        side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
        pos.apply_fill(side, 100, 500.0 + (i % 7) * 0.01, 0.5)
    return n / (time.perf_counter() - start)


def bench_order_fills(n: int = 50_000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        order = Order("SPY", OrderSide.BUY, 100, OrderType.MARKET, T0)
        order.transition(OrderStatus.SUBMITTED, T0)
        order.add_fill(Fill(order.id, "SPY", OrderSide.BUY, 100, 500.0, T0, 0.5))
    return n / (time.perf_counter() - start)


def bench_settings_load(n: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(n):
        load_settings(None)
    return (time.perf_counter() - start) / n * 1e3


if __name__ == "__main__":
    print(f"Position.apply_fill: {bench_position_fills():,.0f} fills/s")
    print(f"Order create+submit+fill: {bench_order_fills():,.0f} orders/s")
    print(f"load_settings: {bench_settings_load():.2f} ms per load")
