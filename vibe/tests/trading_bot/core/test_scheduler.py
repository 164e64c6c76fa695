from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from vibe.common.errors import ConfigurationError, InvalidInputError
from vibe.trading_bot.core.scheduler import MarketScheduler


@pytest.fixture(scope="module")
def scheduler() -> MarketScheduler:
    return MarketScheduler("XNYS", 2024, 2026)


@pytest.fixture(scope="module")
def reference(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "calendar" / "XNYS_sessions_2024_2026.csv")
    frame["open"] = pd.to_datetime(frame["open"], utc=True)
    frame["close"] = pd.to_datetime(frame["close"], utc=True)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def test_every_session_2024_2026_matches_reference(scheduler, reference):
    ours = scheduler.sessions(date(2024, 1, 1), date(2026, 12, 31))
    assert list(ours.index) == list(reference["date"])
    assert (ours["open"].to_numpy() == reference["open"].to_numpy()).all()
    assert (ours["close"].to_numpy() == reference["close"].to_numpy()).all()
    assert list(ours["early_close"]) == [str(v) == "True" for v in reference["early_close"]]
    for row in reference.itertuples():
        assert scheduler.session(row.date) == (row.open.to_pydatetime(), row.close.to_pydatetime())


def test_holidays_and_early_closes_from_press_releases(scheduler, shared_data):
    listing = pd.read_csv(shared_data / "calendar" / "NYSE_holidays_early_closes_2024_2026.csv")
    assert len(listing) > 20
    for row in listing.itertuples():
        day = date.fromisoformat(str(row.date))
        if row.status == "closed":
            assert scheduler.session(day) is None, day
        else:
            bounds = scheduler.session(day)
            assert bounds is not None
            assert scheduler.is_early_close(day)
            assert bounds[1].astimezone(scheduler_tz()).strftime("%H:%M") == "13:00"


def scheduler_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def test_named_traps(scheduler):
    assert scheduler.session(date(2025, 1, 9)) is None  # National Day of Mourning
    assert scheduler.session(date(2025, 12, 26)) is not None  # federal closure, NYSE open
    assert scheduler.session(date(2026, 7, 3)) is None
    assert scheduler.is_early_close(date(2025, 7, 3))
    assert not scheduler.is_early_close(date(2025, 7, 2))


def test_is_open_edges_and_dst(scheduler):
    # EDT: 09:30 ET = 13:30 UTC; EST: 14:30 UTC.
    assert scheduler.is_open(datetime(2025, 7, 2, 13, 30, tzinfo=UTC))
    assert not scheduler.is_open(datetime(2025, 7, 2, 13, 29, 59, tzinfo=UTC))
    assert not scheduler.is_open(datetime(2025, 7, 2, 20, 0, tzinfo=UTC))
    assert scheduler.is_open(datetime(2025, 12, 2, 14, 30, tzinfo=UTC))
    assert not scheduler.is_open(datetime(2025, 12, 2, 13, 30, tzinfo=UTC))
    assert not scheduler.is_open(datetime(2025, 7, 3, 17, 0, tzinfo=UTC))  # early close
    assert scheduler.is_open(datetime(2025, 7, 3, 16, 59, tzinfo=UTC))


def test_next_open_and_close(scheduler):
    friday_after_close = datetime(2025, 7, 3, 17, 0, tzinfo=UTC)
    assert scheduler.next_open(friday_after_close) == datetime(2025, 7, 7, 13, 30, tzinfo=UTC)
    assert scheduler.next_close(friday_after_close) == datetime(2025, 7, 7, 20, 0, tzinfo=UTC)
    in_session = datetime(2025, 7, 3, 15, 0, tzinfo=UTC)
    assert scheduler.next_close(in_session) == datetime(2025, 7, 3, 17, 0, tzinfo=UTC)
    assert scheduler.next_open(datetime(2025, 1, 8, 22, tzinfo=UTC)) == datetime(
        2025, 1, 10, 14, 30, tzinfo=UTC
    )
    # crosses the precomputed range: extends on demand
    assert scheduler.next_open(datetime(2026, 12, 31, 22, tzinfo=UTC)).year == 2027


def test_session_minutes_respect_early_close(scheduler):
    start = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
    minutes = scheduler.session_minutes(start, start + timedelta(days=1))
    assert len(minutes) == 210
    assert minutes[-1] == datetime(2025, 7, 3, 16, 59, tzinfo=UTC)


def test_bad_inputs():
    with pytest.raises(ConfigurationError):
        MarketScheduler("NOT_A_CALENDAR")
    sched = MarketScheduler("XNYS", 2025, 2025)
    with pytest.raises(InvalidInputError):
        sched.is_open(datetime(2025, 7, 2, 13, 30))  # noqa: DTZ001


def test_session_list_matches_reference(scheduler, reference):
    ours = scheduler.session_list(date(2024, 1, 1), date(2026, 12, 31))
    expected = [
        (row.date, row.open.to_pydatetime(), row.close.to_pydatetime())
        for row in reference.itertuples()
    ]
    assert ours == expected
    assert scheduler.session_list(date(2025, 1, 9), date(2025, 1, 9)) == []  # closure
