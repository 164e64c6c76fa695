"""Which bars the market calendar says should exist between two times."""

from __future__ import annotations

from datetime import UTC, datetime

from vibe.trading_bot.core.scheduler import MarketScheduler


def expected_starts(
    scheduler: MarketScheduler, start: datetime, end: datetime, interval_seconds: int
) -> list[datetime]:
    """Every bar start ``t`` with ``start <= t < end`` the calendar expects, tz-aware UTC.

    Bars are anchored to each session's open and step by ``interval_seconds``
    up to the session close (early closes included); sessions' dates only for
    daily bars are not covered here (use ``scheduler.sessions``).
    """
    lo, hi = start.timestamp(), end.timestamp()
    opens, closes = scheduler.bounds_array(start, end)
    found: list[datetime] = []
    for open_s, close_s in zip(opens.tolist(), closes.tolist(), strict=True):
        first = open_s
        if lo > open_s:
            steps = -(-(lo - open_s) // interval_seconds)
            first = open_s + int(steps) * interval_seconds
        stop = min(close_s, hi)
        t = first
        while t < stop:
            found.append(datetime.fromtimestamp(t, tz=UTC))
            t += interval_seconds
    return found
