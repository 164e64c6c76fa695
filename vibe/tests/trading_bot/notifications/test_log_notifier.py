"""Without a webhook each alert is one log line, and nothing is kept in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe.trading_bot.notifications.log_notifier import LogNotifier
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent

WHEN = datetime(2025, 7, 3, 14, 0, tzinfo=UTC)


@pytest.mark.asyncio
async def test_each_alert_is_one_line_and_nothing_accumulates(capsys) -> None:
    notifier = LogNotifier()
    for i in range(500):
        assert await notifier.notify(
            SystemAlert(timestamp=WHEN, event=SystemEvent.STARTUP, message=f"n{i}")
        )
    broken = SystemAlert(timestamp=WHEN, event=SystemEvent.SYNC_FAILURE, message="s3 down")
    assert await notifier.notify(broken)
    assert notifier.logged == 501
    assert not [name for name in vars(notifier) if name != "logged"]  # no list of alerts kept
    lines = [line for line in capsys.readouterr().out.splitlines() if " alert " in line]
    assert len(lines) == 501
    assert "warning" in lines[-1] and "s3 down" in lines[-1] and "Sync failure" in lines[-1]
    assert "info" in lines[0] and "n0" in lines[0]
