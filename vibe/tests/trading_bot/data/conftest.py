"""Fixtures for the data-layer tests: the calendar, the real SPY year, a polling helper."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.frames import dt_index
from vibe.trading_bot.data.providers.replay import ReplayProvider


@pytest.fixture(scope="session")
def scheduler() -> MarketScheduler:
    return MarketScheduler("XNYS", 2022, 2026)


@pytest.fixture(scope="session")
def spy_dir(shared_data) -> Path:
    return Path(shared_data) / "bars_1m" / "alpaca_spy_2024-03_2025-04"


@pytest.fixture(scope="session")
def spy_1m(spy_dir, scheduler) -> pd.DataFrame:
    return ReplayProvider(spy_dir, scheduler).load("SPY", "1m")


def ticks_from_bars(frame: pd.DataFrame) -> list[tuple[int, float, int]]:
    """Trade prints ``(ts_ms, price, size)`` that rebuild each real bar exactly.

    Per bar: open at +0.0 s, high at +15 s, low at +30 s, close at +59.9 s; the
    bar's volume split over the four prints.
    """
    ticks: list[tuple[int, float, int]] = []
    stamps = dt_index(frame).as_unit("ms").asi8
    rows = frame[["open", "high", "low", "close", "volume"]].itertuples(index=False)
    for ms, (o, h, lo, c, v) in zip(stamps.tolist(), rows, strict=True):
        part = int(v) // 4
        sizes = (part, part, part, int(v) - 3 * part)
        for offset, price, size in zip(
            (0, 15_000, 30_000, 59_900), (o, h, lo, c), sizes, strict=True
        ):
            ticks.append((ms + offset, float(price), size))
    return ticks
