"""RiskManager: hand-computed sizes and every rejection reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason, OrderSide, Signal, SignalAction
from vibe.common.risk import (
    AccountState,
    OrderRequest,
    RiskManager,
    RiskParams,
    RiskRejection,
    RiskRule,
)

T = datetime(2024, 7, 1, 14, 15, tzinfo=UTC)
LONG = Signal("SPY", SignalAction.OPEN_LONG, T, 101.5, 99.5, 105.5, strategy="orb")
SHORT = Signal("QQQ", SignalAction.OPEN_SHORT, T, 50.0, 51.0, 48.0, strategy="orb")
CLOSE = Signal("SPY", SignalAction.CLOSE, T, 100.0, exit_reason=ExitReason.END_OF_DAY)


def account(**kw) -> AccountState:
    base = {"equity": 100_000.0, "buying_power": 100_000.0, "start_of_day_equity": 100_000.0}
    return AccountState(**(base | kw))


def order(result) -> OrderRequest:
    assert isinstance(result, OrderRequest), result
    return result


def rejected(result) -> RiskRule:
    assert isinstance(result, RiskRejection), result
    assert result.detail
    return result.rule


def test_risk_sizing_binds():
    # 1 % of 100,000 = 1,000 USD / R 2.0 = 500 shares; cap 25,000 / 101.5 = 246 binds
    assert order(RiskManager().evaluate(LONG, account())).quantity == 246
    # 1 % of 100,000 / R 1.0 = 1,000 shares; 25 % cap 25,000 / 50 = 500 binds; a sell
    short = order(RiskManager().evaluate(SHORT, account()))
    assert (short.quantity, short.side, short.is_entry) == (500, OrderSide.SELL, True)
    # uncapped: risk sizing alone
    free = RiskManager(RiskParams(max_position_pct=100.0))
    assert order(free.evaluate(LONG, account())).quantity == 500
    # 0.5 % risk: 500 USD / 2.0 = 250 shares
    half = RiskManager(RiskParams(risk_per_trade_pct=0.5, max_position_pct=100.0))
    assert order(half.evaluate(LONG, account())).quantity == 250


def test_buying_power_caps():
    # 5,000 USD / 101.5 = 49.26 -> 49
    assert order(RiskManager().evaluate(LONG, account(buying_power=5_000.0))).quantity == 49


def test_float_rounding_does_not_lose_a_share():
    sig = Signal("X", SignalAction.OPEN_LONG, T, 1.1, 1.0, 1.3)
    rm = RiskManager(RiskParams(max_position_pct=100.0))
    # 1,000 USD / R 0.1 = 10,000 shares; in binary 1.1 - 1.0 > 0.1 gives 9999.99999999999
    assert order(rm.evaluate(sig, account())).quantity == 10_000


def test_zero_shares_is_a_rejection():
    assert rejected(RiskManager().evaluate(LONG, account(buying_power=100.0))) is (
        RiskRule.ZERO_QUANTITY
    )
    assert rejected(RiskManager().evaluate(LONG, account(equity=150.0))) is RiskRule.ZERO_QUANTITY


@pytest.mark.parametrize(
    ("state", "params", "rule"),
    [
        ({"positions": {"SPY": 10}}, RiskParams(), RiskRule.POSITION_EXISTS),
        ({"positions": {s: 1 for s in "ABCDE"}}, RiskParams(), RiskRule.MAX_OPEN_POSITIONS),
        ({"trades_today": 10}, RiskParams(), RiskRule.MAX_TRADES_PER_DAY),
        # -2,000 USD is exactly -2 % of 100,000: at or below stops entries
        ({"daily_pnl": -2_000.0}, RiskParams(), RiskRule.MAX_DAILY_LOSS),
        (
            {"equity": 24_000.0, "day_trades_5_sessions": 3},
            RiskParams(enforce_pdt=True),
            RiskRule.PATTERN_DAY_TRADER,
        ),
    ],
)
def test_each_limit_rejects(state, params, rule):
    assert rejected(RiskManager(params).evaluate(LONG, account(**state))) is rule


@pytest.mark.parametrize(
    ("state", "params"),
    [
        ({"positions": {s: 1 for s in "ABCD"}}, RiskParams()),  # 4 of 5
        ({"positions": {s: 0 for s in "ABCDE"}}, RiskParams()),  # flat symbols do not count
        ({"trades_today": 9}, RiskParams()),
        ({"daily_pnl": -1_999.99}, RiskParams()),
        ({"equity": 24_000.0, "day_trades_5_sessions": 3}, RiskParams()),  # PDT off
        ({"equity": 24_000.0, "day_trades_5_sessions": 2}, RiskParams(enforce_pdt=True)),
        ({"equity": 25_000.0, "day_trades_5_sessions": 9}, RiskParams(enforce_pdt=True)),
    ],
)
def test_just_inside_the_limits_passes(state, params):
    order(RiskManager(params).evaluate(LONG, account(**state)))


def test_closing_signals_always_pass():
    worst = account(
        daily_pnl=-50_000.0,
        trades_today=99,
        buying_power=0.0,
        positions={"SPY": 120, **{s: 1 for s in "ABCDEFG"}},
    )
    result = order(RiskManager(RiskParams(enforce_pdt=True)).evaluate(CLOSE, worst))
    assert (result.side, result.quantity, result.is_entry) == (OrderSide.SELL, 120, False)
    short = order(RiskManager().evaluate(CLOSE, account(positions={"SPY": -30})))
    assert (short.side, short.quantity) == (OrderSide.BUY, 30)
    assert rejected(RiskManager().evaluate(CLOSE, account())) is RiskRule.NO_POSITION


def test_invalid_stop():
    no_stop = Signal("SPY", SignalAction.OPEN_LONG, T, 101.5)
    assert rejected(RiskManager().evaluate(no_stop, account())) is RiskRule.INVALID_STOP
    with pytest.raises(InvalidInputError, match="stop_price"):
        RiskManager().size(no_stop, account())


@pytest.mark.parametrize(
    "bad", [{"risk_per_trade_pct": 0.0}, {"max_position_pct": 150.0}, {"max_open_positions": 0}]
)
def test_bad_params_name_the_field(bad):
    with pytest.raises(InvalidInputError, match=next(iter(bad))):
        RiskParams(**bad)


def test_params_match_the_settings_names():
    from vibe.trading_bot.config.settings import RiskSettings

    dump = RiskSettings().model_dump(exclude={"max_consecutive_errors"})
    assert RiskParams(**dump) == RiskParams()
