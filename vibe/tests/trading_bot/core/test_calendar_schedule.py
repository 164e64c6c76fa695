from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from vibe.common.errors import ConfigurationError
from vibe.trading_bot.core import calendar_schedule
from vibe.trading_bot.core.calendar_history import LAST_YEAR
from vibe.trading_bot.core.calendar_schedule import load_schedule
from vibe.trading_bot.core.scheduler import MarketScheduler


@pytest.fixture
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty in-process schedule memory."""
    monkeypatch.setattr(calendar_schedule, "_memory", {})


#: a year after the shipped history (vibe.trading_bot.core.calendar_history): the
#: current and future years are computed by the library and cached on disk
YEAR = LAST_YEAR + 2


@pytest.fixture(scope="module")
def computed() -> calendar_schedule.Schedule:
    return calendar_schedule.compute_schedule("XNYS", YEAR, YEAR)


def _cache_file(folder: Path) -> Path:
    return folder / f"XNYS_{YEAR}_{YEAR}.json"


def test_disk_cache_round_trip_equals_the_computed_schedule(fresh_memory, tmp_path, computed):
    first = load_schedule("XNYS", YEAR, YEAR, tmp_path)
    assert first == computed
    assert _cache_file(tmp_path).is_file()
    calendar_schedule._memory.clear()
    again = load_schedule("XNYS", YEAR, YEAR, tmp_path)
    assert again == computed
    assert date(YEAR, 12, 25) not in again.dates
    assert 248 <= len(again.dates) <= 253


def test_a_warm_cache_needs_no_pandas_market_calendars(fresh_memory, tmp_path, computed):
    load_schedule("XNYS", YEAR, YEAR, tmp_path)
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from vibe.trading_bot.core.scheduler import MarketScheduler\n"
        f"s = MarketScheduler('XNYS', {YEAR}, {YEAR}, Path({str(tmp_path)!r}))\n"
        f"print(len(s.session_list(date({YEAR}, 1, 1), date({YEAR}, 12, 31))))\n"
        "print('pandas_market_calendars' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(computed.dates)), "False"]


def test_a_cache_from_another_library_install_is_recomputed(fresh_memory, tmp_path, computed):
    load_schedule("XNYS", YEAR, YEAR, tmp_path)
    path = _cache_file(tmp_path)
    payload = json.loads(path.read_text())
    payload["library"] = "some/older/pandas_market_calendars/__init__.py:1"
    payload["dates"] = payload["dates"][:3]
    payload["opens"], payload["closes"] = payload["opens"][:3], payload["closes"][:3]
    path.write_text(json.dumps(payload))
    calendar_schedule._memory.clear()
    assert load_schedule("XNYS", YEAR, YEAR, tmp_path) == computed
    rewritten = json.loads(path.read_text())
    assert len(rewritten["dates"]) == len(computed.dates)
    # stamped with both libraries: XNYS's closures come from exchange_calendars
    assert "pandas_market_calendars" in rewritten["library"]
    assert "exchange_calendars" in rewritten["library"]


@pytest.mark.parametrize("content", ["{not json", '{"library": 1}', "[]"])
def test_a_corrupt_cache_file_is_ignored_and_replaced(fresh_memory, tmp_path, computed, content):
    path = _cache_file(tmp_path)
    path.write_text(content)
    assert load_schedule("XNYS", YEAR, YEAR, tmp_path) == computed
    assert json.loads(path.read_text())["opens"] == computed.opens


def test_an_unwritable_cache_folder_does_not_stop_the_calendar(fresh_memory, tmp_path, computed):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert load_schedule("XNYS", YEAR, YEAR, blocker / "calendar") == computed
    assert list(tmp_path.iterdir()) == [blocker]


def test_an_unknown_calendar_names_the_setting(fresh_memory, tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        MarketScheduler("NOT_A_CALENDAR", 2025, 2025, tmp_path)
    assert "MARKET_CALENDAR" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_name_unsafe_for_a_file_is_not_cached_on_disk(fresh_memory, tmp_path):
    with pytest.raises(ConfigurationError):
        load_schedule("../XNYS", 2025, 2025, tmp_path)
    assert list(tmp_path.parent.glob("XNYS_*.json")) == []
