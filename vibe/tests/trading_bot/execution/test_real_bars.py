"""ORB on ten real SPY sessions through the whole execution stack: the books must balance."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import Bar, ExitReason
from vibe.common.strategies import BarContext, OrbParams, OrbStrategy
from vibe.trading_bot.exchange.commission import PerShareCommission
from vibe.trading_bot.exchange.slippage import FixedBpsSlippage

ET = ZoneInfo("America/New_York")
CENT = 0.005


def load(shared_data, sessions: int) -> list[Bar]:
    path = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
    frame = pd.read_csv(path, nrows=390 * sessions)
    stamps = pd.to_datetime(frame["timestamp"], utc=True).dt.to_pydatetime()
    return [
        Bar("SPY", ts, float(o), float(h), float(lo), float(c), int(v))
        for ts, o, h, lo, c, v in zip(
            stamps,
            frame["open"],
            frame["high"],
            frame["low"],
            frame["close"],
            frame["volume"],
            strict=True,
        )
    ]


def test_orb_on_real_sessions_balances_to_the_cent(make_rig, shared_data):
    bars = load(shared_data, 10)
    clock = SimulatedClock(bars[0].timestamp)
    rig = make_rig(
        clock=clock, slippage=FixedBpsSlippage(1.0), commission=PerShareCommission(0.005, 1.0, 1.0)
    )
    strategy = OrbStrategy(OrbParams(trend_filter=False, volume_filter=False))
    context: BarContext | None = None
    for i, b in enumerate(bars):
        day = b.timestamp.astimezone(ET).date()
        if context is None or context.session_open.date() != day:
            context = BarContext(
                datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16, 0), ET)
            )
            rig.executor.start_session(day)
        rig.feed(b)
        position = rig.executor.portfolio.position("SPY")
        context.position = position.side if position is not None else None
        for signal in strategy.on_bar(b, context):
            rig.executor.handle_signal(signal)
        last_of_day = i + 1 == len(bars) or bars[i + 1].timestamp.astimezone(ET).date() != day
        if last_of_day:
            rig.executor.fill_at_close(b)
            rig.executor.expire_day_orders(context.session_close.astimezone(UTC))

    trades = rig.store.get_trades()
    assert len(trades) >= 3
    assert all(t.is_closed for t in trades)
    reasons = {t.exit_reason for t in trades}
    assert reasons == {ExitReason.STOP_LOSS, ExitReason.TAKE_PROFIT, ExitReason.END_OF_DAY}
    assert rig.store.open_orders() == [] and rig.executor.portfolio.positions == {}
    total = sum(t.pnl or 0.0 for t in trades)
    assert rig.executor.portfolio.cash == pytest.approx(100_000 + total, abs=CENT)
    assert rig.exchange.cash == pytest.approx(rig.executor.portfolio.cash, abs=1e-6)
    fees = sum(f.commission for f in rig.store.get_fills())
    assert sum(t.fees for t in trades) == pytest.approx(fees, abs=CENT)
    for t in trades:  # every trade is flat within its session
        assert t.exit_time is not None and t.exit_time - t.entry_time < timedelta(hours=7)
