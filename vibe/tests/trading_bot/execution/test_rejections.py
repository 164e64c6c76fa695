"""Every refusal reaches the caller with its reason; the circuit breaker stops entries only."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from vibe.common.models import ExitReason, OrderStatus
from vibe.common.risk import RiskParams, RiskRule
from vibe.trading_bot.core.health_reporter import HealthState
from vibe.trading_bot.execution.outcome import Outcome
from vibe.trading_bot.notifications.payloads import AlertKind, SystemEvent

from .conftest import OPEN, bar, close_signal, entry_signal


def opened(rig, sym="SPY"):
    rig.feed(bar(0, 100, 100.5, 99.5, 100, sym=sym))
    assert (
        rig.executor.handle_signal(entry_signal(0, 100.0, 99.0, sym=sym)).outcome
        is Outcome.SUBMITTED
    )
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6, sym=sym))
    return rig


def refused(rig, signal):
    result = rig.executor.handle_signal(signal)
    assert result.outcome is Outcome.RISK_REJECTED
    return result.reason


def case_invalid_stop(make_rig):
    rig = make_rig()
    return refused(rig, entry_signal(0, 100.0, 100.0))


def case_position_exists(make_rig):
    return refused(opened(make_rig()), entry_signal(1, 100.6, 99.0))


def case_max_open_positions(make_rig):
    rig = opened(make_rig(risk=RiskParams(max_open_positions=1)))
    return refused(rig, entry_signal(1, 50.0, 49.0, sym="QQQ"))


def case_max_trades_per_day(make_rig):
    rig = make_rig(risk=RiskParams(max_trades_per_day=1))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.executor.handle_signal(close_signal(0, 100.0, ExitReason.MANUAL))  # cancels the entry
    return refused(rig, entry_signal(1, 100.0, 99.0))


def case_max_daily_loss(make_rig):
    rig = opened(make_rig(risk=RiskParams(max_daily_loss_pct=0.01)))
    rig.feed(bar(2, 99.0, 99.5, 99.2, 99.3))  # marked 325 USD down: > 0.01 % of 100,000
    return refused(rig, entry_signal(2, 50.0, 49.0, sym="QQQ"))


def case_pattern_day_trader(make_rig):
    rig = make_rig(cash=10_000.0, risk=RiskParams(enforce_pdt=True))
    for minute in range(3):
        rig.executor.handle_signal(entry_signal(minute, 100.0, 99.0))
        rig.executor.handle_signal(close_signal(minute, 100.0, ExitReason.MANUAL))
    return refused(rig, entry_signal(3, 100.0, 99.0))


def case_zero_quantity(make_rig):
    return refused(make_rig(cash=50.0), entry_signal(0, 100.0, 99.0))


def case_no_position(make_rig):
    return refused(make_rig(), close_signal(0, 100.0, ExitReason.MANUAL))


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        (case_invalid_stop, RiskRule.INVALID_STOP),
        (case_position_exists, RiskRule.POSITION_EXISTS),
        (case_max_open_positions, RiskRule.MAX_OPEN_POSITIONS),
        (case_max_trades_per_day, RiskRule.MAX_TRADES_PER_DAY),
        (case_max_daily_loss, RiskRule.MAX_DAILY_LOSS),
        (case_pattern_day_trader, RiskRule.PATTERN_DAY_TRADER),
        (case_zero_quantity, RiskRule.ZERO_QUANTITY),
        (case_no_position, RiskRule.NO_POSITION),
    ],
)
def test_risk_rejections_carry_their_rule(make_rig, case, rule):
    assert case(make_rig) == rule.value


@pytest.mark.parametrize(
    ("kw", "signal_kw", "reason"),
    [
        ({"symbols": {"SPY"}}, {"sym": "QQQ"}, "unknown_symbol"),
        ({"is_market_open": lambda t: False}, {}, "market_closed"),
        ({}, {"take_profit_price": math.inf}, "price_not_finite"),
        ({}, {"price": 50.0, "stop": 49.9}, "insufficient_buying_power"),
    ],
)
@pytest.mark.asyncio
async def test_exchange_rejections_are_surfaced_and_alerted(make_rig, kw, signal_kw, reason):
    rig = make_rig(**kw)
    sym = signal_kw.pop("sym", "SPY")
    rig.executor.on_bar(bar(0, 100, 100.5, 99.5, 100, sym=sym))  # last price 100
    args = {"price": 100.0, "stop": 99.0, **signal_kw}
    # sized at the signal price (50 USD): 2,000 shares, worth 200,000 USD at the last price 100
    risk = RiskParams(max_position_pct=100.0, risk_per_trade_pct=100.0)
    rig.executor._risk.params = risk
    result = rig.executor.handle_signal(entry_signal(0, sym=sym, **args))
    assert result.outcome is Outcome.EXCHANGE_REJECTED
    assert result.reason == reason
    assert result.order is not None and result.order.status is OrderStatus.REJECTED
    assert rig.store.get_order(result.order.id).reject_reason == reason  # type: ignore[union-attr]
    await rig.executor.flush_alerts()
    rejected = [a for a in rig.notifier.alerts if a.kind is AlertKind.ORDER_REJECTED]
    assert [a.reason for a in rejected] == [reason]  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_circuit_breaker_stops_entries_but_not_closes(make_rig):
    rig = opened(make_rig(symbols={"SPY"}, max_errors=3))
    for minute in range(2, 5):
        result = rig.executor.handle_signal(entry_signal(minute, 50.0, 49.0, sym="QQQ"))
        assert result.reason == "unknown_symbol"
    assert rig.executor.breaker.is_open
    assert rig.health.state is HealthState.DEGRADED
    blocked = rig.executor.handle_signal(entry_signal(5, 50.0, 49.0, sym="IWM"))
    assert (blocked.outcome, blocked.reason) == (Outcome.BLOCKED, "circuit_breaker_open")
    closing = rig.executor.handle_signal(close_signal(5, 100.6, ExitReason.MANUAL))
    assert closing.outcome is Outcome.SUBMITTED
    rig.feed(bar(6, 100.5, 100.7, 100.4, 100.6))
    assert rig.executor.portfolio.positions == {}
    await rig.executor.flush_alerts()
    system = [a for a in rig.notifier.alerts if a.kind is AlertKind.SYSTEM]
    assert [a.event for a in system] == [SystemEvent.CIRCUIT_BREAKER]  # type: ignore[union-attr]
    rig.executor.breaker.reset()
    assert rig.health.state is HealthState.HEALTHY
    rig.clock.advance_to(OPEN + timedelta(minutes=8))
    assert rig.executor.handle_signal(entry_signal(7, 100.6, 99.6)).outcome is Outcome.SUBMITTED


def test_consecutive_count_restarts_after_a_success(make_rig):
    rig = make_rig(symbols={"SPY"}, max_errors=2)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 50.0, 49.0, sym="QQQ"))
    assert rig.executor.handle_signal(entry_signal(0, 100.0, 99.0)).outcome is Outcome.SUBMITTED
    rig.executor.handle_signal(entry_signal(1, 50.0, 49.0, sym="QQQ"))
    assert not rig.executor.breaker.is_open and rig.executor.breaker.consecutive_errors == 1
