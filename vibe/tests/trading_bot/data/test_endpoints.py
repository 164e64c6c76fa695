"""Endpoints: YAHOO_BASE_URL reaches every Yahoo request; FINNHUB_WS_URL with its own query."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pandas as pd
import pytest
import yfinance as yf

from vibe.common.clock import SimulatedClock
from vibe.common.errors import ConfigurationError
from vibe.tests.support import eventually
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.data.factory import build_data_manager
from vibe.trading_bot.data.providers.finnhub import FinnhubProvider
from vibe.trading_bot.data.providers.finnhub_protocol import stream_url
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.data.providers.yahoo import YahooProvider
from vibe.trading_bot.data.providers.yahoo_session import (
    RewritingSession,
    rewrite_yahoo_url,
    yahoo_session,
)

from .finnhub_server import FinnhubServer, Script
from .yahoo_chart_standin import YahooChartStandIn

FIVE_MIN = "bars_5m/yfinance_2025-06_2025-08"


@pytest.fixture(scope="module")
def standin(shared_data, tmp_path_factory):
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf_tz")))
    with YahooChartStandIn(shared_data / FIVE_MIN) as server:
        yield server


def test_rewrite_sends_yahoo_hosts_to_the_base_url():
    base = "http://127.0.0.1:8001/mirror/"
    assert (
        rewrite_yahoo_url(
            "https://query2.finance.yahoo.com/v8/finance/chart/AAPL?interval=1m", base
        )
        == "http://127.0.0.1:8001/mirror/v8/finance/chart/AAPL?interval=1m"
    )
    assert rewrite_yahoo_url("https://fc.yahoo.com", base) == "http://127.0.0.1:8001/mirror/"
    assert rewrite_yahoo_url("https://example.org/x", base) == "https://example.org/x"
    assert yahoo_session("https://query2.finance.yahoo.com/") is None
    assert isinstance(yahoo_session("https://mirror.example"), RewritingSession)


@pytest.mark.asyncio
async def test_yahoo_base_url_serves_history_from_the_mirror(standin, shared_data, scheduler):
    clock = SimulatedClock(datetime(2025, 7, 10, 15, tzinfo=UTC))
    provider = YahooProvider(
        scheduler, clock, rate_limit_per_second=1000.0, base_url=standin.url + "/yahoo-mirror"
    )
    start, end = datetime(2025, 7, 8, tzinfo=UTC), datetime(2025, 7, 10, 15, tzinfo=UTC)
    try:
        frame = await provider.get_history("QQQ", "5m", start, end)
    finally:
        await provider.close()
    expected = ReplayProvider(shared_data / FIVE_MIN, scheduler, timeframe="5m").load("QQQ", "5m")
    expected = expected[(expected.index >= start) & (expected.index < end)]
    assert len(frame) == len(expected) == 78 * 2 + 18
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False, check_freq=False)
    assert "QQQ" in standin.chart_symbols()


def test_factory_hands_yahoo_base_url_to_the_provider(tmp_path, scheduler):
    settings = load_settings(
        None, {"data_dir": str(tmp_path), "yahoo_base_url": "http://127.0.0.1:9/yahoo/"}
    )
    clock = SimulatedClock(datetime(2025, 7, 10, tzinfo=UTC))
    health = RecordingHealthReporter()
    manager = build_data_manager(settings, clock, health, scheduler, wall_clock=clock)
    (yahoo,) = manager._history  # the one history provider
    assert isinstance(yahoo, YahooProvider) and yahoo.base_url == "http://127.0.0.1:9/yahoo"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("finnhub_ws_url", "https://ws.finnhub.io"),
        ("finnhub_ws_url", "wss://"),
        ("finnhub_ws_url", "ws.finnhub.io"),
        ("yahoo_base_url", "ftp://mirror.example"),
        ("yahoo_base_url", "https://mirror.example:99999"),
    ],
)
def test_bad_endpoint_urls_are_configuration_errors(name, value):
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, {name: value})
    assert [issue.variable for issue in caught.value.issues] == [name.upper()]


def test_finnhub_url_with_a_token_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, {"finnhub_ws_url": "wss://ws.finnhub.io/?token=sekrit-123"})
    assert "sekrit-123" not in str(caught.value)


def test_stream_url_keeps_the_query_and_encodes_the_token():
    url = stream_url("wss://proxy.example:8443/finnhub?region=us", "a+b/c&d=e f")
    assert url == "wss://proxy.example:8443/finnhub?region=us&token=a%2Bb%2Fc%26d%3De+f"
    assert stream_url("wss://ws.finnhub.io", "k") == "wss://ws.finnhub.io?token=k"


@pytest.mark.asyncio
async def test_finnhub_connects_through_a_url_with_path_and_query(scheduler):
    token = "tok+en/with&odd=chars"
    server = FinnhubServer([Script([], then_close=False)], valid_token=token)
    await server.start()
    health = RecordingHealthReporter()
    clock = SimulatedClock(datetime(2025, 7, 10, 14, tzinfo=UTC))
    finnhub = FinnhubProvider(
        token,
        scheduler,
        clock,
        health,
        url=f"{server.url}/feed?region=us",
        tick_seconds=0.02,
        rng=random.Random(1),
    )
    stream = finnhub.stream_bars(["SPY"])
    task = asyncio.ensure_future(anext(stream))
    try:
        await eventually(lambda: finnhub.connected and server.subscriptions == [["SPY"]])
    finally:
        task.cancel()
        await server.stop()
    assert server.tokens == [token]
    assert server.paths[0].startswith("/feed?region=us&token=")
    assert all(token not in reason for _, reason in health.states)
