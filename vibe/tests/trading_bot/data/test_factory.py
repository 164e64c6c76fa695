from __future__ import annotations

from datetime import UTC, datetime

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.data.factory import build_data_manager


def _names(manager):
    return [p.name for p in manager._history], [p.name for p in manager._live]


def test_live_chain_depends_on_finnhub_key(tmp_path, scheduler):
    clock = SimulatedClock(datetime(2025, 7, 2, tzinfo=UTC))
    health = RecordingHealthReporter()
    plain = load_settings(None, {"data_dir": str(tmp_path)})
    manager = build_data_manager(plain, clock, health, scheduler, wall_clock=clock)
    assert _names(manager) == (["yahoo"], ["yahoo"])
    keyed = load_settings(None, {"data_dir": str(tmp_path), "finnhub_api_key": "abc"})
    manager = build_data_manager(keyed, clock, health, scheduler, wall_clock=clock)
    assert _names(manager) == (["yahoo"], ["finnhub", "yahoo"])
    assert (tmp_path / "cache" / "bars").is_dir()


def test_replay_chain(shared_data, scheduler):
    clock = SimulatedClock(datetime(2025, 7, 2, tzinfo=UTC))
    settings = load_settings(None, {"timeframe": "5m"})
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    manager = build_data_manager(
        settings, clock, RecordingHealthReporter(), scheduler, folder, wall_clock=clock
    )
    assert _names(manager) == (["replay"], ["replay"])
