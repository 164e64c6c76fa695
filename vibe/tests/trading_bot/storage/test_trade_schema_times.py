"""Times as ``trades.db`` stores them: :func:`utc_iso` with its last-time shortcut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.storage.trade_schema import utc_iso


def test_repeated_and_changing_times_each_get_their_own_text():
    t0 = datetime(2024, 3, 26, 13, 31, tzinfo=UTC)
    later = t0 + timedelta(microseconds=1)
    new_york = t0.astimezone(ZoneInfo("America/New_York"))  # the same instant
    for value in (t0, t0, later, later, t0, new_york, later, new_york):
        assert utc_iso(value) == value.astimezone(UTC).isoformat(timespec="microseconds")
    assert utc_iso(later) == "2024-03-26T13:31:00.000001+00:00"


def test_a_naive_time_is_refused_after_a_utc_one():
    when = datetime(2024, 3, 26, 13, 31, tzinfo=UTC)
    utc_iso(when)
    with pytest.raises(InvalidInputError):
        utc_iso(when.replace(tzinfo=None))
