from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter

import pytest

from vibe.tests.support import eventually
from vibe.tests.trading_bot.notifications.helpers import make_notifier, number_of
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox

TOKEN = "crash-token-0123456789"


@pytest.mark.asyncio
@pytest.mark.slow
async def test_killed_process_leaves_unsent_alerts_that_a_new_notifier_sends_once(
    discord, tmp_path
):
    url = discord.add_webhook("555", TOKEN)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vibe.tests.trading_bot.notifications.crash_child",
        str(tmp_path), url, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line.strip() == b"stored 30"
        await eventually(lambda: len(discord.accepted) >= 5)  # partway through the burst
        discord.outage = True  # Discord goes down: the child keeps retrying
        await eventually(lambda: discord.requests[-1].status == 503)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    delivered_before = len(discord.accepted)
    assert 5 <= delivered_before < 30
    discord.outage = False

    notifier = make_notifier(tmp_path, url)
    await notifier.start()
    assert notifier.stats()["queue_depth"] == 30 - delivered_before
    await eventually(lambda: notifier.stats()["queue_depth"] == 0, within=15)
    await notifier.stop()

    numbers = [number_of(body) for body in discord.bodies("555")]
    assert numbers == list(range(30))  # every alert once, in order, across the crash
    assert Counter(numbers).most_common(1)[0][1] == 1
    outbox = Outbox(tmp_path / OUTBOX_FILENAME)
    assert (outbox.count("sent"), outbox.count("pending")) == (30, 0)
    outbox.close()
