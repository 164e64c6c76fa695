"""YAHOO_BASE_URL: yfinance's real requests reach a local Yahoo stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import InvalidInputError
from vibe.trading_bot.data.providers.yahoo import YahooProvider
from vibe.trading_bot.data.providers.yahoo_mirror import yahoo_session

from .yahoo_server import ChartRoute, start_server


def test_the_public_url_keeps_yfinance_session_and_a_bad_url_is_refused():
    assert yahoo_session("https://query2.finance.yahoo.com/") is None
    with pytest.raises(InvalidInputError, match="YAHOO_BASE_URL"):
        yahoo_session("ftp://example")


@pytest.mark.asyncio
async def test_history_comes_from_the_base_url(shared_data, scheduler):
    samples = shared_data / "api_samples" / "yahoo_chart_v8"
    server, state = start_server(samples)
    try:
        state.route = ChartRoute(body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes())
        port = server.server_address[1]
        clock = SimulatedClock(datetime(2024, 10, 3, tzinfo=UTC))
        session = yahoo_session(f"http://127.0.0.1:{port}")
        provider = YahooProvider(scheduler, clock, 100, session=session)
        frame = await provider.get_history(
            "AAPL",
            "1m",
            datetime(2024, 10, 2, 13, 30, tzinfo=UTC),
            datetime(2024, 10, 2, 20, tzinfo=UTC),
        )
        assert session is not None
        session.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(frame) > 300
    assert state.chart_requests and state.chart_requests[0]["interval"] == "1m"
