from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason, OrderSide, OrderType, PositionSide, Trade
from vibe.trading_bot.notifications.payloads import (
    ALERT_ADAPTER,
    DailySummaryAlert,
    OrderCancelledAlert,
    OrderFilledAlert,
    OrderSentAlert,
    PositionClosedAlert,
    SystemAlert,
    SystemEvent,
)

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def closed(side: PositionSide, entry: float, exit_: float, **kw) -> PositionClosedAlert:
    return PositionClosedAlert(
        timestamp=T0 + timedelta(minutes=90),
        symbol="spy",
        side=side,
        quantity=100,
        entry_time=T0,
        entry_price=entry,
        exit_time=T0 + timedelta(minutes=90),
        exit_price=exit_,
        exit_reason=ExitReason.TAKE_PROFIT,
        **kw,
    )


def test_long_and_short_pnl_slippage_and_hold_time():
    long = closed(PositionSide.LONG, 500.0, 505.0, fees=2.0, slippage_usd=10.05)
    assert long.symbol == "SPY"
    assert long.gross_pnl_usd == pytest.approx(500.0)
    assert long.pnl_usd == pytest.approx(498.0)
    assert long.pnl_pct == pytest.approx(498.0 / 50_000 * 100)
    assert long.slippage_bps == pytest.approx(10.05 / 100_500 * 10_000)
    assert long.hold_seconds == 5400
    short = closed(PositionSide.SHORT, 500.0, 505.0, fees=2.0)
    assert short.pnl_usd == pytest.approx(-502.0)
    assert short.model_dump()["pnl_usd"] == pytest.approx(-502.0)


def test_from_trade_matches_the_domain_trade():
    trade = Trade("AAPL", PositionSide.SHORT, 30, T0, 190.0, strategy="orb", fees=0.5)
    with pytest.raises(InvalidInputError, match="open"):
        PositionClosedAlert.from_trade(trade)
    trade.close(T0 + timedelta(hours=2), 188.5, ExitReason.STOP_LOSS, fees=0.5, slippage_cost=0.3)
    alert = PositionClosedAlert.from_trade(trade)
    assert alert.pnl_usd == pytest.approx(trade.pnl)
    assert alert.pnl_pct == pytest.approx(trade.pnl_pct)
    assert alert.slippage_usd == pytest.approx(0.3)
    assert alert.exit_reason is ExitReason.STOP_LOSS


def test_fill_slippage_sign_is_cost_for_buys_and_sells():
    buy = OrderFilledAlert(
        timestamp=T0, order_id="o1", symbol="SPY", side=OrderSide.BUY, quantity=10,
        fill_price=100.05, expected_price=100.0,
    )  # fmt: skip
    sell = buy.model_copy(update={"side": OrderSide.SELL})
    assert buy.slippage_usd == pytest.approx(0.5)
    assert buy.slippage_bps == pytest.approx(5.0)
    assert sell.slippage_usd == pytest.approx(-0.5)  # selling higher is an improvement


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        (OrderSentAlert, {"quantity": 0}, "quantity"),
        (OrderSentAlert, {"timestamp": datetime(2024, 3, 4, 14, 30)}, "timezone"),  # noqa: DTZ001
        (OrderSentAlert, {"limit_price": float("nan")}, "limit_price"),
        (OrderCancelledAlert, {"filled_quantity": 11}, "filled_quantity=11"),
    ],
)
def test_bad_order_fields_are_named(model, kwargs, match):
    base = {
        "timestamp": T0, "order_id": "o1", "symbol": "SPY", "side": "buy", "quantity": 10,
    }  # fmt: skip
    if model is OrderSentAlert:
        base["order_type"] = OrderType.LIMIT
    with pytest.raises(ValidationError, match=match):
        model(**(base | kwargs))


def test_exit_before_entry_and_impossible_counts_are_refused():
    with pytest.raises(ValidationError, match="before entry_time"):
        PositionClosedAlert(
            timestamp=T0, symbol="SPY", side=PositionSide.LONG, quantity=1,
            entry_time=T0, entry_price=1.0, exit_time=T0 - timedelta(seconds=1),
            exit_price=2.0, exit_reason=ExitReason.MANUAL,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="exceeds trades"):
        DailySummaryAlert(
            timestamp=T0, session_date=date(2024, 3, 4), trades=1, wins=1, losses=1,
            gross_pnl_usd=0.0, starting_equity=1e5, ending_equity=1e5,
        )  # fmt: skip


def test_daily_summary_figures_and_discriminated_parsing():
    summary = DailySummaryAlert(
        timestamp=T0, session_date=date(2024, 3, 4), trades=4, wins=3, losses=1,
        gross_pnl_usd=250.0, fees_usd=4.0, starting_equity=100_000.0, ending_equity=100_246.0,
    )  # fmt: skip
    assert summary.net_pnl_usd == pytest.approx(246.0)
    assert summary.return_pct == pytest.approx(0.246)
    assert summary.win_rate_pct == pytest.approx(75.0)
    parsed = ALERT_ADAPTER.validate_python(
        {"kind": "system", "timestamp": T0, "event": "sync_failure", "message": "S3 down"}
    )
    assert isinstance(parsed, SystemAlert)
    assert parsed.is_error
    assert not SystemAlert(timestamp=T0, event=SystemEvent.STARTUP, message="up").is_error
