"""The NYSE sessions shipped with the package equal pandas-market-calendars' XNYS."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from vibe.trading_bot.core import calendar_history, calendar_schedule
from vibe.trading_bot.core.calendar_history import FIRST_YEAR, LAST_YEAR, history_rows
from vibe.trading_bot.core.calendar_schedule import Schedule, compute_schedule, load_schedule

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def library() -> Schedule:
    """Every shipped year as the installed libraries compute it (~0.3 s)."""
    return compute_schedule("XNYS", FIRST_YEAR, LAST_YEAR)


def test_every_shipped_year_equals_the_installed_library(library):
    """Fails after an upgrade that corrects history: write the file again (module doc)."""
    shipped = history_rows("XNYS", FIRST_YEAR, LAST_YEAR)
    assert shipped is not None
    assert Schedule(*shipped) == library
    for year in (FIRST_YEAR, 2008, 2020, LAST_YEAR):  # any slice of whole years too
        part = Schedule(*history_rows("NYSE", year, year))  # type: ignore[misc]
        assert part == compute_schedule("XNYS", year, year)


def _new_york(seconds: int) -> tuple[int, int]:
    when = datetime.fromtimestamp(seconds, UTC).astimezone(NEW_YORK)
    return when.hour, when.minute


def test_known_closures_and_early_closes_are_in_the_file():
    dates, opens, closes = history_rows("XNYS", 2001, 2025)  # type: ignore[misc]
    assert date(2025, 1, 9) not in dates  # National Day of Mourning (President Carter)
    assert date(2012, 10, 29) not in dates and date(2012, 10, 30) not in dates  # Sandy
    assert date(2001, 9, 11) not in dates and date(2001, 9, 17) in dates
    early = dates.index(date(2024, 7, 3))
    assert _new_york(opens[early]) == (9, 30) and _new_york(closes[early]) == (13, 0)
    winter, summer = dates.index(date(2024, 1, 2)), dates.index(date(2024, 7, 2))
    assert closes[winter] - opens[winter] == closes[summer] - opens[summer] == 6.5 * 3600
    assert opens[winter] % 86_400 == 14 * 3600 + 1800  # 09:30 EST = 14:30 UTC
    assert opens[summer] % 86_400 == 13 * 3600 + 1800  # 09:30 EDT = 13:30 UTC


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [("XNYS", FIRST_YEAR - 1, 2005), ("XNYS", 2024, LAST_YEAR + 1), ("XLON", 2024, 2024)],
)
def test_outside_the_file_the_library_answers(name, first, last):
    assert history_rows(name, first, last) is None


def test_a_range_past_the_file_is_computed_and_equals_the_library(monkeypatch, tmp_path):
    monkeypatch.setattr(calendar_schedule, "_memory", {})
    crossing = load_schedule("XNYS", LAST_YEAR, LAST_YEAR + 1, tmp_path)
    assert crossing == compute_schedule("XNYS", LAST_YEAR, LAST_YEAR + 1)
    assert (tmp_path / f"XNYS_{LAST_YEAR}_{LAST_YEAR + 1}.json").is_file()


def test_past_years_need_no_calendar_library_and_no_cache(tmp_path):
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from vibe.trading_bot.core.scheduler import MarketScheduler\n"
        f"s = MarketScheduler('XNYS', 2023, 2024, Path({str(tmp_path)!r}))\n"
        "print(len(s.session_list(date(2023, 1, 1), date(2024, 12, 31))))\n"
        "print(s.is_early_close(date(2024, 7, 3)))\n"
        "print('pandas_market_calendars' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["502", "True", "False", "False"]  # 250 + 252 sessions
    assert list(tmp_path.iterdir()) == []


def test_a_broken_file_falls_back_to_the_library(monkeypatch, tmp_path):
    broken = tmp_path / "xnys_history.json"
    broken.write_text(json.dumps({"first_day": 1, "day_steps": [1], "open_minutes": []}))
    monkeypatch.setattr(calendar_history, "HISTORY_FILE", broken)
    calendar_history._history.cache_clear()
    try:
        assert history_rows("XNYS", 2024, 2024) is None
    finally:
        calendar_history._history.cache_clear()


def test_the_payload_refuses_edges_off_the_minute():
    with pytest.raises(ValueError, match="whole minutes"):
        calendar_history.history_payload([date(2024, 1, 2)], [1704205830], [1704229200])
