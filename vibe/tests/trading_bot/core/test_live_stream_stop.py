"""The live driver's close never hangs on a stream task that will not stop."""

from __future__ import annotations

import asyncio
import time

import pytest

from vibe.trading_bot.core import live_driver


@pytest.mark.asyncio
async def test_a_stream_that_swallows_one_cancel_is_cancelled_again(monkeypatch):
    monkeypatch.setattr(live_driver, "STREAM_STOP_SECONDS", 0.05)
    swallowed = 0

    async def stream() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.001)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what wait_for does on Python 3.11 (CPython 86296)

    task = asyncio.create_task(stream())
    await asyncio.sleep(0.01)
    await live_driver._stop_task(task)
    assert task.cancelled() and swallowed == 1


@pytest.mark.asyncio
async def test_a_stream_that_never_stops_is_left_behind_within_the_bound(monkeypatch):
    monkeypatch.setattr(live_driver, "STREAM_STOP_SECONDS", 0.05)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.001)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await live_driver._stop_task(task)
    assert time.monotonic() - started < 1.0 and not task.done()
    release.set()
    await task
