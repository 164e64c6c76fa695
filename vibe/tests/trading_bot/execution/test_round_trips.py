"""Full round trips through executor -> order manager -> mock exchange -> SQLite, to the cent."""

from __future__ import annotations

import pytest

from vibe.common.models import ExitReason, OrderStatus, PositionSide
from vibe.trading_bot.exchange.commission import PerShareCommission
from vibe.trading_bot.exchange.slippage import FixedBpsSlippage
from vibe.trading_bot.execution.outcome import Outcome
from vibe.trading_bot.notifications.payloads import AlertKind

from .conftest import bar, close_signal, entry_signal

CENT = 0.005


def costly(make_rig, **kw):
    return make_rig(
        slippage=FixedBpsSlippage(10.0), commission=PerShareCommission(0.005, 1.0, 1.0), **kw
    )


def test_long_round_trip_to_take_profit(make_rig):
    rig = costly(make_rig)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    result = rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    assert result.outcome is Outcome.SUBMITTED and result.order is not None
    assert (
        result.order.quantity == 250
    )  # 25 % of 100,000 USD at 100 (the cap binds before 1 % risk)

    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))  # entry at 100.2 x 1.001 = 100.3002
    p = rig.executor.portfolio
    assert p.cash == pytest.approx(100_000 - 250 * 100.3002 - 1.25, abs=CENT)
    assert p.equity == pytest.approx(100_073.70, abs=CENT)
    assert p.unrealized_pnl == pytest.approx(74.95, abs=CENT)
    [open_trade] = rig.store.get_trades(status="open")
    assert open_trade.entry_price == pytest.approx(100.3002)
    # take-profit recomputed from the fill: 100.3002 + 2 x (100.3002 - 99) and amended
    [target] = [o for o in rig.store.open_orders() if o.limit_price is not None]
    assert target.limit_price == pytest.approx(102.9006)
    assert target.client_order_id.endswith("-entry-tp")

    rig.feed(bar(2, 101.0, 103.2, 100.9, 103.0))  # trades through the target: at the limit
    [trade] = rig.store.get_trades()
    assert trade.exit_reason is ExitReason.TAKE_PROFIT
    assert trade.exit_price == pytest.approx(102.9006)
    assert trade.fees == pytest.approx(2.50, abs=CENT)
    assert trade.slippage_cost == pytest.approx(25.05, abs=CENT)
    assert trade.pnl == pytest.approx(650.10 - 2.50, abs=CENT)
    assert p.cash == pytest.approx(100_647.60, abs=CENT)
    assert p.equity == pytest.approx(100_647.60, abs=CENT)
    assert p.realized_pnl == pytest.approx(650.10, abs=CENT)
    assert p.fees == pytest.approx(2.50, abs=CENT)
    assert rig.exchange.cash == pytest.approx(p.cash, abs=1e-9)  # the venue agrees
    assert rig.store.open_orders() == []  # the stop leg was cancelled (OCO)


def test_short_round_trip_stopped_out(make_rig):
    rig = costly(make_rig)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 101.0, short=True))
    rig.feed(bar(1, 99.8, 100.0, 99.6, 99.9))  # sold at 99.8 x 0.999 = 99.7002
    rig.feed(bar(2, 100.5, 101.3, 100.4, 101.2))  # stop 101 triggers: bought at 101.101
    [trade] = rig.store.get_trades()
    assert trade.side is PositionSide.SHORT
    assert (trade.entry_price, trade.exit_price) == (pytest.approx(99.7002), pytest.approx(101.101))
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert trade.gross_pnl == pytest.approx(-350.20, abs=CENT)
    assert trade.pnl == pytest.approx(-352.70, abs=CENT)
    assert trade.slippage_cost == pytest.approx(24.95 + 25.25, abs=CENT)
    assert rig.executor.portfolio.cash == pytest.approx(99_647.30, abs=CENT)
    assert rig.executor.portfolio.positions == {}


def test_end_of_day_close_cancels_legs_then_closes_at_next_open(make_rig):
    rig = costly(make_rig)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))
    result = rig.executor.handle_signal(close_signal(1, 100.6, ExitReason.END_OF_DAY))
    assert result.outcome is Outcome.SUBMITTED
    legs = [o for o in rig.store.get_orders() if o.parent_id is not None]
    assert [o.status for o in legs] == [OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    rig.feed(bar(2, 100.7, 100.9, 100.5, 100.8))  # sold at 100.7 x 0.999
    [trade] = rig.store.get_trades()
    assert trade.exit_reason is ExitReason.END_OF_DAY
    assert trade.exit_price == pytest.approx(100.5993)
    assert trade.pnl == pytest.approx((100.5993 - 100.3002) * 250 - 2.50, abs=CENT)
    assert trade.slippage_cost == pytest.approx(25.05 + 25.175, abs=CENT)
    assert rig.executor.portfolio.cash == pytest.approx(100_000 + trade.pnl, abs=CENT)


def test_shutdown_close_fills_at_the_last_close(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    last = bar(1, 100.2, 100.8, 100.0, 100.6)
    rig.feed(last)
    [result] = rig.executor.close_all()
    assert result.outcome is Outcome.SUBMITTED
    rig.executor.fill_at_close(last)
    [trade] = rig.store.get_trades()
    assert trade.exit_reason is ExitReason.SHUTDOWN
    assert trade.pnl == pytest.approx((100.6 - 100.2) * 250, abs=CENT)


def test_entry_beyond_its_stop_is_closed_at_once_as_a_stop_loss(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 98.5, 99.2, 98.0, 98.8))  # gaps below the stop: in and out at the open
    [trade] = rig.store.get_trades()
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert (trade.entry_price, trade.exit_price) == (98.5, 98.5)
    assert rig.executor.portfolio.positions == {}
    assert rig.store.open_orders() == []


def test_partial_entry_fills_update_the_trade(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.0, 100.5, 99.8, 100.2, v=1_000))  # 100 of 250 shares
    rig.feed(bar(2, 100.2, 100.5, 99.8, 100.2, v=1_500))  # 150 more
    [trade] = rig.store.get_trades(status="open")
    assert trade.quantity == 250
    assert trade.entry_price == pytest.approx((100 * 100.0 + 150 * 100.2) / 250)
    rig.feed(bar(3, 99.5, 99.6, 98.5, 98.7))  # stop at 99 for all 250
    [trade] = rig.store.get_trades()
    assert trade.exit_reason is ExitReason.STOP_LOSS and trade.quantity == 250
    assert rig.executor.portfolio.cash == pytest.approx(100_000 + trade.pnl, abs=CENT)


@pytest.mark.asyncio
async def test_alerts_and_metrics_follow_the_round_trip(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))
    rig.feed(bar(2, 101.0, 103.2, 100.9, 103.0))
    queued = rig.executor.reporter.pending_alerts
    assert queued > 0
    assert await rig.executor.flush_alerts() == queued == len(rig.notifier.alerts)
    assert rig.executor.reporter.pending_alerts == 0
    kinds = [a.kind for a in rig.notifier.alerts]
    assert kinds[0] is AlertKind.ORDER_SENT
    assert kinds.count(AlertKind.ORDER_FILLED) == 2
    assert kinds[-1] is AlertKind.POSITION_CLOSED
    rig.executor.reporter.flush_metrics()
    names = {r["metric_name"] for r in rig.metrics.db.query("SELECT metric_name FROM metrics")}
    assert {"slippage_cost_usd", "commission_usd", "trade_pnl_usd", "equity_usd"} <= names


def test_close_before_the_entry_fills_cancels_it(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    result = rig.executor.handle_signal(close_signal(0, 100.0, ExitReason.MANUAL))
    assert result.outcome is Outcome.CANCELLED
    assert {o.status for o in rig.store.get_orders()} == {OrderStatus.CANCELLED}
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))
    assert rig.store.get_trades() == [] and rig.executor.portfolio.cash == 100_000
