from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.common.errors import OperationalError
from vibe.tests.support import eventually
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.data.frames import bars_to_frame
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.providers.finnhub import FinnhubProvider
from vibe.trading_bot.data.providers.finnhub_protocol import MalformedMessageError, parse_message
from vibe.trading_bot.data.providers.replay import ReplayProvider

from .conftest import ticks_from_bars
from .finnhub_server import FinnhubServer, Script, trade_messages

OPEN = datetime(2024, 3, 26, 13, 30, tzinfo=UTC)  # first session of the SPY file, 09:30 EDT


@pytest.fixture
def samples(shared_data):
    return shared_data / "api_samples" / "finnhub_ws"


def _provider(server, scheduler, clock, health, **kwargs) -> FinnhubProvider:
    return FinnhubProvider(
        kwargs.pop("api_key", "test-token"),
        scheduler,
        clock,
        health,
        url=server.url,
        tick_seconds=0.02,
        rng=random.Random(7),
        **kwargs,
    )


def test_parses_recorded_messages(samples):
    recorded = parse_message((samples / "trade_US_TSLA_AAPL_recorded_2022-12-29.json").read_text())
    assert recorded.kind == "trade" and len(recorded.trades) == 9
    first = recorded.trades[0]
    assert (first.symbol, first.ts_ms, first.price, first.size) == ("TSLA", 1672348887195, 122.1, 1)
    assert first.conditions == ("1", "8", "24", "12")
    crypto = parse_message((samples / "trade_docs_example_BINANCE_BTCUSDT.json").read_text())
    assert crypto.trades[0].conditions == () and crypto.trades[0].size == 0
    assert parse_message((samples / "ping.json").read_text()).kind == "ping"
    error = parse_message((samples / "error_too_many_symbols.json").read_text())
    assert (error.kind, error.error) == ("error", "Subscribing to too many symbols")
    for garbage in (
        "not json",
        "[1,2]",
        '{"type":"trade","data":[{"s":"SPY"}]}',
        '{"type":"trade"}',
    ):
        with pytest.raises(MalformedMessageError):
            parse_message(garbage)


@pytest.mark.asyncio
async def test_stream_reconnects_resubscribes_and_gap_is_backfilled(
    samples, scheduler, spy_1m, spy_dir
):
    day = spy_1m.loc[OPEN : OPEN + timedelta(minutes=10, seconds=59)]
    assert len(day) == 11
    before, after = day.iloc[:5], day.iloc[7:]  # 09:35 and 09:36 are lost in the disconnect
    first = [
        (samples / "ping.json").read_text(),
        "definitely not json",
        '{"type":"trade","data":[{"s":"SPY","p":"x"}]}',
        (samples / "error_too_many_symbols.json").read_text(),
        (samples / "trade_US_TSLA_AAPL_recorded_2022-12-29.json").read_text(),
        *trade_messages("SPY", ticks_from_bars(before)),
    ]
    server = FinnhubServer(
        [Script(first), Script(trade_messages("SPY", ticks_from_bars(after)), then_close=False)]
    )
    await server.start()
    clock = SimulatedClock(OPEN)
    health = RecordingHealthReporter()
    finnhub = _provider(server, scheduler, clock, health, silence_seconds=3600)
    manager = DataManager(
        scheduler,
        clock,
        health,
        history_providers=[ReplayProvider(spy_dir)],
        live_providers=[finnhub],
    )
    received = []

    async def consume():
        async for bar in manager.stream_bars(["SPY"]):
            received.append(bar)

    task = asyncio.create_task(consume())
    try:
        await eventually(lambda: len(received) >= 10)
        clock.advance_to(day.index[-1] + timedelta(minutes=1, seconds=2))  # timer closes 09:40
        await eventually(lambda: len(received) >= 11)
    finally:
        task.cancel()
        await server.stop()
    rebuilt = bars_to_frame(received)
    assert (rebuilt.index == day.index).all()
    np.testing.assert_array_equal(rebuilt.to_numpy(), day.to_numpy())
    assert server.subscriptions == [["SPY"], ["SPY"]]
    assert finnhub.reconnects == 1
    assert (finnhub.malformed_messages, finnhub.error_messages, finnhub.pings) == (2, 1, 1)
    assert finnhub.aggregator.out_of_session_ticks == 9  # the recorded after-hours prints
    report = manager.health_report()
    assert report.gaps_detected == 1 and report.backfilled_bars == 2
    assert report.reconnects == 1 and report.connected_provider == "finnhub"
    assert report.rejected_bars == 0
    assert any("too many symbols" in e for e in health.errors)


@pytest.mark.asyncio
async def test_silent_stream_is_reported_and_recycled(scheduler):
    server = FinnhubServer([Script([], then_close=False)])
    await server.start()
    clock = SimulatedClock(OPEN)
    health = RecordingHealthReporter()
    timer = FakeTimer()
    finnhub = _provider(server, scheduler, clock, health, silence_seconds=30, timer=timer)
    stream = finnhub.stream_bars(["SPY"])
    task = asyncio.ensure_future(anext(stream))
    try:
        await eventually(lambda: finnhub.connected)
        timer.advance(31)  # silence is waiting time: the trading clock stays at the open
        await eventually(lambda: finnhub.silent_streams == 1 and server.connections == 2)
    finally:
        task.cancel()
        await server.stop()
    assert any(state is HealthState.DEGRADED and "silent" in why for state, why in health.states)
    assert "test-token" not in " ".join(health.errors)


@pytest.mark.asyncio
async def test_refused_key_falls_back_to_next_live_provider(scheduler, shared_data):
    server = FinnhubServer([Script([])])
    await server.start()
    clock = SimulatedClock(OPEN)
    health = RecordingHealthReporter()
    finnhub = _provider(server, scheduler, clock, health, api_key="wrong-key")
    replay = ReplayProvider(
        shared_data / "bars_5m" / "yfinance_2025-06_2025-08",
        scheduler,
        timeframe="5m",
        start=datetime(2025, 7, 3, tzinfo=UTC),
        end=datetime(2025, 7, 4, tzinfo=UTC),
    )
    manager = DataManager(scheduler, clock, health, live_providers=[finnhub, replay])
    try:
        bars = [bar async for bar in manager.stream_bars(["AAPL"])]
    finally:
        await server.stop()
    assert len(bars) == 42
    assert manager.health_report().fallbacks == 1
    assert manager.health_report().connected_provider == "replay"
    assert not any("wrong-key" in e for e in health.errors)


@pytest.mark.asyncio
async def test_gives_up_after_max_attempts_with_backoff(scheduler):
    server = FinnhubServer([Script([])])
    await server.start()
    url = server.url
    await server.stop()  # nothing listens any more: every connect is refused
    clock = SimulatedClock(OPEN)
    health = RecordingHealthReporter()
    timer = FakeTimer()
    finnhub = FinnhubProvider(
        "k", scheduler, clock, health, url=url, max_attempts=4, rng=random.Random(1), timer=timer
    )
    with pytest.raises(OperationalError, match="4 times"):
        async for _ in finnhub.stream_bars(["SPY"]):
            pass
    assert finnhub.reconnects == 3
    # slept 3 backoffs of 1, 2 and 4 s with 50-100 % jitter
    assert 3.5 <= timer.monotonic() <= 7.0
    assert clock.now() == OPEN  # waiting never moves the trading clock
    assert health.state is HealthState.UNHEALTHY


def test_backoff_grows_and_is_capped(scheduler):
    finnhub = FinnhubProvider(
        "k",
        scheduler,
        SimulatedClock(OPEN),
        RecordingHealthReporter(),
        max_backoff_seconds=10,
        rng=random.Random(3),
    )
    delays = [finnhub.backoff_seconds(n) for n in range(1, 9)]
    assert all(
        0.5 * min(10, 2 ** (n - 1)) <= d <= min(10, 2 ** (n - 1)) for n, d in enumerate(delays, 1)
    )
    assert max(delays) <= 10 and len(set(delays)) == len(delays)


@pytest.mark.asyncio
async def test_cancel_always_stops_a_stream_that_keeps_receiving(scheduler):
    """After-hours prints keep coming; every cancel stops the stream (no wait_for race)."""
    after_close = OPEN + timedelta(hours=8)  # 17:30 ET: prints out of session, no bars
    ms = int(after_close.timestamp() * 1000)
    # one message per print, 700 minutes (until 05:10 ET): a stream that never goes quiet
    prints = trade_messages("SPY", [(ms + i * 60_000, 500.0, 1) for i in range(700)])
    server = FinnhubServer([Script(prints, then_close=False)])
    await server.start()
    clock = SimulatedClock(after_close)
    health = RecordingHealthReporter()
    rng = random.Random(3)
    try:
        for _ in range(30):
            provider = _provider(server, scheduler, clock, health)

            async def consume(p: FinnhubProvider = provider) -> None:
                async for _bar in p.stream_bars(["SPY"]):
                    pass

            task = asyncio.create_task(consume())
            await eventually(lambda p=provider: p.aggregator.out_of_session_ticks > 0)
            await asyncio.sleep(rng.random() * 0.01)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done and task.cancelled()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_minute_split_over_messages_survives_a_clock_that_ran_on(scheduler, spy_1m):
    """After a stall the clock is past 09:30's grace while its prints are still unread.

    The prints of the real 09:30 bar come in two messages, then 09:31's; the clock
    already reads 09:32:30. Every print of 09:30 must land in its bar (a flush on the
    clock after the first message used to close it half-built and drop the rest).
    """
    day = spy_1m.loc[OPEN : OPEN + timedelta(minutes=1, seconds=59)]
    ticks = ticks_from_bars(day)
    first_minute, second_minute = ticks[:4], ticks[4:]
    messages = [
        *trade_messages("SPY", first_minute[:2]),
        *trade_messages("SPY", first_minute[2:]),
        *trade_messages("SPY", second_minute),
    ]
    server = FinnhubServer([Script(messages, then_close=False)])
    await server.start()
    clock = SimulatedClock(OPEN + timedelta(minutes=2, seconds=30))
    finnhub = _provider(server, scheduler, clock, RecordingHealthReporter(), silence_seconds=3600)
    received = []

    async def consume() -> None:
        async for bar in finnhub.stream_bars(["SPY"]):
            received.append(bar)

    task = asyncio.create_task(consume())
    try:
        await eventually(lambda: len(received) >= 2)
    finally:
        task.cancel()
        await server.stop()
    rebuilt = bars_to_frame(received[:2])
    np.testing.assert_array_equal(rebuilt.to_numpy(), day.to_numpy())
    assert finnhub.aggregator.late_ticks == 0
