"""Slippage and commission models: exact prices and fees on hand-computed cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from vibe.common.models import Bar, OrderSide
from vibe.trading_bot.config.settings import ExchangeSettings
from vibe.trading_bot.exchange.commission import (
    BpsCommission,
    PerShareCommission,
    ZeroCommission,
    build_commission_model,
)
from vibe.trading_bot.exchange.slippage import (
    FixedBpsSlippage,
    HalfSpreadSlippage,
    NoSlippage,
    Quote,
    SqrtImpactSlippage,
    build_slippage_model,
    slippage_cost,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def real_bar(shared_data, when: str) -> Bar:
    path = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
    frame = pd.read_csv(path, nrows=2000)
    row = frame[frame["timestamp"] == when].iloc[0]
    ts = datetime.fromisoformat(row["timestamp"]).astimezone(UTC)
    return Bar("SPY", ts, row["open"], row["high"], row["low"], row["close"], int(row["volume"]))


def test_no_slippage():
    assert NoSlippage().execution_price(BUY, 100.0, 10) == 100.0


def test_fixed_bps_moves_against_trader():
    model = FixedBpsSlippage(10.0)
    assert model.execution_price(BUY, 200.0, 50) == pytest.approx(200.20)
    assert model.execution_price(SELL, 200.0, 50) == pytest.approx(199.80)
    assert slippage_cost(200.0, 200.20, 50) == pytest.approx(10.0)


def test_half_spread_from_quote_and_assumed():
    model = HalfSpreadSlippage(assumed_spread_bps=4.0)
    quote = Quote(bid=99.98, ask=100.02)
    assert model.execution_price(BUY, 100.0, 1, quote=quote) == pytest.approx(100.02)
    assert model.execution_price(SELL, 100.0, 1, quote=quote) == pytest.approx(99.98)
    assert model.execution_price(BUY, 100.0, 1) == pytest.approx(100.02)
    assert model.execution_price(SELL, 100.0, 1) == pytest.approx(99.98)


def test_sqrt_impact_on_a_real_bar(shared_data):
    bar = real_bar(shared_data, "2024-03-26T09:30:00-04:00")
    model = SqrtImpactSlippage(k=1.0)
    quantity = 10_000
    sigma = math.log(bar.high / bar.low) / math.sqrt(4 * math.log(2))
    expected = bar.open * (1 + sigma * math.sqrt(quantity / bar.volume))
    assert model.execution_price(BUY, bar.open, quantity, bar=bar) == pytest.approx(expected)
    sell = model.execution_price(SELL, bar.open, quantity, bar=bar)
    assert sell < bar.open
    small = model.execution_price(BUY, bar.open, 100, bar=bar)
    assert bar.open < small < expected  # impact grows with size


def test_sqrt_impact_fallback_and_cap(shared_data):
    bar = real_bar(shared_data, "2024-03-26T09:31:00-04:00")
    zero_volume = Bar(bar.symbol, bar.timestamp, bar.open, bar.high, bar.low, bar.close, 0)
    model = SqrtImpactSlippage(k=1.0, fallback_bps=2.0, max_bps=50.0)
    assert model.execution_price(BUY, 100.0, 10, bar=zero_volume) == pytest.approx(100.02)
    huge = model.execution_price(BUY, 100.0, 10**9, bar=bar)
    assert huge == pytest.approx(100.5)


@pytest.mark.parametrize(
    ("quantity", "price", "fee"),
    [
        (100, 50.0, 1.0),  # 0.50 raised to the 1.00 minimum
        (1000, 50.0, 5.0),  # 0.005 x 1000
        (1, 10.0, 0.10),  # minimum capped at 1% of 10.00 notional
        (10_000, 0.5, 50.0),  # 0.005 x 10,000 = 50.00, = cap of 1% x 5,000
    ],
)
def test_per_share_commission(quantity, price, fee):
    assert PerShareCommission().fee(quantity, price) == pytest.approx(fee)


def test_bps_and_zero_commission():
    assert BpsCommission(2.0).fee(100, 250.0) == pytest.approx(5.0)
    assert ZeroCommission().fee(100, 250.0) == 0.0


def test_factories_follow_settings():
    assert isinstance(build_slippage_model(ExchangeSettings(slippage_model="none")), NoSlippage)
    fixed = build_slippage_model(ExchangeSettings(slippage_model="fixed_bps", slippage_bps=3.0))
    assert fixed == FixedBpsSlippage(3.0)
    assert isinstance(
        build_slippage_model(ExchangeSettings(slippage_model="sqrt_impact")), SqrtImpactSlippage
    )
    assert isinstance(
        build_commission_model(ExchangeSettings(commission_model="zero")), ZeroCommission
    )
    assert build_commission_model(ExchangeSettings(commission_model="bps", commission_bps=0.5)) == (
        BpsCommission(0.5)
    )
    assert build_commission_model(ExchangeSettings()) == PerShareCommission(0.005, 1.0, 1.0)
