"""Fixtures: the Discord stand-in on 127.0.0.1, notifier settings matched to its window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from vibe.tests.trading_bot.notifications.discord_standin import (
    DiscordStandIn,
    StandInServer,
    load_limits,
)

#: A faster window than Discord's 2 s so a 100-alert burst takes seconds; same 5-request size.
TEST_PERIOD_SECONDS = 0.2


@pytest_asyncio.fixture
async def discord(shared_data: Path) -> AsyncIterator[DiscordStandIn]:
    stand_in = DiscordStandIn(load_limits(shared_data), limit=5, period=TEST_PERIOD_SECONDS)
    async with StandInServer(stand_in) as running:
        yield running
