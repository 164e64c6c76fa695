"""Live 1-minute bars rolled up incrementally equal the replay's resampled bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.models import Bar
from vibe.trading_bot.data.frames import frame_to_bars
from vibe.trading_bot.data.live_resample import LiveResampler
from vibe.trading_bot.data.resample import resample_bars


@pytest.mark.parametrize("timeframe", ["5m", "15m", "1h"])
def test_live_rollup_equals_resample_bars_over_real_days(spy_1m, scheduler, timeframe):
    # three weeks with the 2024-07-03 early close (13:00): buckets cut at the close
    frame = spy_1m.loc["2024-06-27":"2024-07-10"]
    live = LiveResampler(timeframe, scheduler)
    got: list[Bar] = []
    for bar in frame_to_bars("SPY", frame, 60):
        got.extend(live.add(bar))
    got.extend(live.flush_all())
    expected = resample_bars(frame, timeframe, scheduler)
    period = {"5m": 300, "15m": 900, "1h": 3600}[timeframe]
    assert got == list(frame_to_bars("SPY", expected, period))
    early = [b for b in got if b.timestamp.date().isoformat() == "2024-07-03"]
    assert early[-1].timestamp + timedelta(seconds=period) >= datetime(2024, 7, 3, 17, tzinfo=UTC)


def test_a_bucket_is_emitted_with_its_last_minute_or_when_due(scheduler):
    live = LiveResampler("5m", scheduler, grace_seconds=5.0)
    start = datetime(2024, 7, 1, 13, 30, tzinfo=UTC)  # 09:30 ET

    def minute(i: int, price: float) -> Bar:
        return Bar("SPY", start + timedelta(minutes=i), price, price + 1, price - 1, price, 100)

    assert live.add(minute(0, 10.0)) == []
    assert live.add(minute(3, 11.0)) == []  # 09:31-09:32 had no trade
    assert live.flush_due(start + timedelta(minutes=5, seconds=4)) == []
    (bar,) = live.flush_due(start + timedelta(minutes=5, seconds=5))
    assert (bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        start,
        10.0,
        12.0,
        9.0,
        11.0,
        200,
    )
    assert bar.interval_seconds == 300
    assert live.add(minute(5, 12.0)) == []
    (closed,) = live.add(minute(9, 13.0))  # the bucket's last minute completes it
    assert closed.timestamp == start + timedelta(minutes=5) and closed.volume == 200
    assert live.add(minute(7, 9.0)) == []  # a minute of an emitted bucket: too late
    assert live.dropped == 1


def test_1m_passes_through_and_out_of_session_minutes_are_dropped(scheduler):
    at = datetime(2024, 7, 1, 13, 30, tzinfo=UTC)
    bar = Bar("SPY", at, 1.0, 1.0, 1.0, 1.0, 1)
    assert LiveResampler("1m", scheduler).add(bar) == [bar]
    live = LiveResampler("5m", scheduler)
    assert live.add(bar._replace(timestamp=at - timedelta(hours=1))) == []
    assert live.dropped == 1
