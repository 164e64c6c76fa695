"""Without a webhook each alert is one log line, and nothing is kept in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vibe.trading_bot.notifications.log_notifier import LogNotifier
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent

WHEN = datetime(2025, 7, 3, 14, 0, tzinfo=UTC)


class Lines:
    """A logger stand-in that keeps ``(level, event, fields)``."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append(("warning", event, fields))


@pytest.mark.asyncio
async def test_each_alert_is_one_line_and_nothing_accumulates() -> None:
    log = Lines()
    notifier = LogNotifier(log)
    for i in range(500):
        alert = SystemAlert(timestamp=WHEN, event=SystemEvent.STARTUP, message=f"n{i}")
        assert await notifier.notify(alert)
    broken = SystemAlert(timestamp=WHEN, event=SystemEvent.SYNC_FAILURE, message="s3 down")
    assert await notifier.notify(broken)
    assert notifier.logged == 501
    assert set(vars(notifier)) == {"_log", "logged"}  # no list of alerts kept
    assert len(log.lines) == 501
    assert log.lines[0][:2] == ("info", "alert") and log.lines[0][2]["description"] == "n0"
    level, event, fields = log.lines[-1]
    assert (level, event, fields["kind"], fields["title"]) == (
        "warning",
        "alert",
        "system",
        "Sync failure",
    )
