"""Live bars are released as whole bar groups, oldest first, sorted by symbol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vibe.common.models import Bar
from vibe.trading_bot.core.bar_groups import BarGroups

T0 = datetime(2025, 11, 17, 14, 30, tzinfo=UTC)


def _bar(symbol: str, minute: int) -> Bar:
    return Bar(symbol, T0 + timedelta(minutes=minute), 1.0, 1.0, 1.0, 1.0, 10)


def _names(groups: list[list[Bar]]) -> list[list[tuple[str, int]]]:
    return [[(b.symbol, int((b.timestamp - T0).total_seconds() // 60)) for b in g] for g in groups]


def test_a_group_waits_for_every_symbol_and_comes_out_in_symbol_order():
    groups = BarGroups(["AAPL", "MSFT"], wait_seconds=15)
    assert groups.add(_bar("MSFT", 0), 0.0) == []
    assert _names(groups.add(_bar("AAPL", 0), 0.0)) == [[("AAPL", 0), ("MSFT", 0)]]


def test_a_symbol_without_a_bar_does_not_hold_the_group_back():
    groups = BarGroups(["AAPL", "MSFT"], wait_seconds=15)
    assert groups.add(_bar("AAPL", 0), 0.0) == []
    # MSFT had no trade at minute 0: its minute-1 bar completes minute 0's group
    assert _names(groups.add(_bar("MSFT", 1), 60.0)) == [[("AAPL", 0)]]
    assert _names(groups.add(_bar("AAPL", 2), 120.0)) == [[("MSFT", 1)]]
    assert groups.add(_bar("AAPL", 3), 180.0) == []  # MSFT went silent: groups 2 and 3 wait
    assert groups.due(134.9) == []  # real seconds since group 2's first bar arrived
    assert _names(groups.due(135.0)) == [[("AAPL", 2)]]
    assert _names(groups.flush()) == [[("AAPL", 3)]]


def test_a_bar_of_a_released_group_is_late_and_dropped():
    groups = BarGroups(["AAPL", "MSFT"], wait_seconds=15)
    groups.add(_bar("AAPL", 0), 0.0)
    groups.add(_bar("MSFT", 0), 0.0)
    assert groups.add(_bar("MSFT", 0), 0.0) == []
    assert groups.late_bars == 1
