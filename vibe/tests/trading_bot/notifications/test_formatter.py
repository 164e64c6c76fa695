from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe.common.models import ExitReason, OrderSide, OrderType, PositionSide
from vibe.tests.trading_bot.notifications.discord_standin import body_errors, load_limits
from vibe.trading_bot.notifications.formatter import BLUE, GREEN, GREY, RED, format_alert
from vibe.trading_bot.notifications.limits import ELLIPSIS, truncate
from vibe.trading_bot.notifications.payloads import (
    DailySummaryAlert,
    OrderRejectedAlert,
    OrderSentAlert,
    PositionClosedAlert,
    SystemAlert,
    SystemEvent,
)

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def limits(shared_data):
    return load_limits(shared_data)


def closed(exit_price: float) -> PositionClosedAlert:
    return PositionClosedAlert(
        timestamp=T0, symbol="SPY", side=PositionSide.LONG, quantity=10, entry_time=T0,
        entry_price=500.0, exit_time=T0 + timedelta(minutes=65), exit_price=exit_price,
        exit_reason=ExitReason.END_OF_DAY, fees=1.0, slippage_usd=0.5,
    )  # fmt: skip


def test_colour_per_kind_and_content():
    (win,) = format_alert(closed(510.0))
    (loss,) = format_alert(closed(490.0))
    assert win["embeds"][0]["color"] == GREEN
    assert loss["embeds"][0]["color"] == RED
    fields = {f["name"]: f["value"] for f in win["embeds"][0]["fields"]}
    assert fields["P&L"] == "+$99.00 (+1.98%)"
    assert fields["Hold time"] == "1h 05m 00s"
    # human-facing times in New York time with the zone (T0 is 14:30 UTC, 09:30 EST)
    assert fields["Entry"] == "$500.00 at 2024-03-04 09:30:00 EST"
    assert fields["Exit"] == "$510.00 at 2024-03-04 10:35:00 EST"
    assert win["embeds"][0]["timestamp"] == T0.isoformat()
    assert win["embeds"][0]["footer"]["text"]
    sent = OrderSentAlert(
        timestamp=T0, order_id="o1", symbol="SPY", side=OrderSide.BUY, quantity=5,
        order_type=OrderType.LIMIT, limit_price=501.25,
    )  # fmt: skip
    assert format_alert(sent)[0]["embeds"][0]["color"] == BLUE
    system = SystemAlert(timestamp=T0, event=SystemEvent.STARTUP, message="bot started")
    assert format_alert(system)[0]["embeds"][0]["color"] == GREY


def test_truncate_uses_an_ellipsis_and_strips():
    assert truncate("  abc  ", 3) == "abc"
    cut = truncate("x" * 300, 256)
    assert len(cut) == 256 and cut.endswith(ELLIPSIS)


def test_oversized_alert_is_split_losslessly_in_field_count(limits):
    details = {f"detail {i:02d} " + "n" * 300: f"value {i} " + "v" * 2000 for i in range(40)}
    alert = SystemAlert(
        timestamp=T0, event=SystemEvent.CIRCUIT_BREAKER, component="risk",
        message="r" * 10_000, details=details,
    )  # fmt: skip
    messages = format_alert(alert)
    assert len(messages) > 1
    for body in messages:
        assert body_errors(body, limits) == {}
    fields = [f for body in messages for embed in body["embeds"] for f in embed.get("fields", [])]
    assert [f["name"][:9] for f in fields] == [f"detail {i:02d}" for i in range(40)]
    first = messages[0]["embeds"][0]
    assert first["description"].endswith(ELLIPSIS)
    assert all(f["value"].endswith(ELLIPSIS) for f in fields)


def test_rejected_order_with_huge_detail_fits(limits):
    alert = OrderRejectedAlert(
        timestamp=T0, symbol="SPY", side=OrderSide.SELL, quantity=1,
        reason="insufficient_buying_power", detail="d" * 10_000,
    )  # fmt: skip
    (body,) = format_alert(alert)
    assert body_errors(body, limits) == {}
    assert body["embeds"][0]["color"] == RED


def test_daily_summary_with_many_symbols(limits):
    per_symbol = {f"SYM{i}": float(i - 20) for i in range(60)}
    alert = DailySummaryAlert(
        timestamp=T0, session_date=date(2024, 3, 4), trades=60, wins=30, losses=30,
        gross_pnl_usd=-30.0, starting_equity=1e5, ending_equity=99_970.0,
        per_symbol_pnl=per_symbol,
    )  # fmt: skip
    messages = format_alert(alert)
    embeds = [e for body in messages for e in body["embeds"]]
    assert len(embeds) == 3  # 6 headline fields + 60 symbols = 66 fields, 25 per embed
    assert all(body_errors(body, limits) == {} for body in messages)
    assert embeds[0]["color"] == RED


text = st.text(max_size=5000)


@settings(max_examples=40, deadline=None)
@given(
    title=text,
    message=st.text(min_size=1, max_size=12_000).filter(str.strip),
    details=st.dictionaries(st.text(max_size=400), st.text(max_size=3000), max_size=60),
)
def test_any_system_alert_passes_discord_validation(limits, title, message, details):
    alert = SystemAlert(
        timestamp=T0, event=SystemEvent.SYNC_FAILURE, component=title, message=message,
        details=details,
    )  # fmt: skip
    messages = format_alert(alert)
    for body in messages:
        assert body_errors(body, limits) == {}
    fields = sum(len(e.get("fields", [])) for body in messages for e in body["embeds"])
    assert fields == len(details)
