from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import yfinance as yf

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.common.errors import NoDataError, RateLimitedError
from vibe.trading_bot.data.frames import dt_index
from vibe.trading_bot.data.providers.yahoo import YahooProvider
from vibe.trading_bot.data.providers.yahoo_rules import plan_chunks

from .yahoo_server import ChartRoute, LocalYahooSession, error_body, start_server

DAY_OPEN = 1727875800  # 2024-10-02 09:30 EDT
# yfinance memoizes identical GET requests in-process: each test asks for its own symbol/range.


@pytest.fixture(scope="module")
def samples(shared_data):
    return shared_data / "api_samples" / "yahoo_chart_v8"


@pytest.fixture(scope="module")
def server(samples, tmp_path_factory):
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf_tz")))
    srv, state = start_server(samples)
    yield srv, state
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def state(server):
    _, st = server
    st.chart_requests.clear()
    st.route = ChartRoute()
    return st


def _provider(server, scheduler, now: datetime) -> YahooProvider:
    srv, _ = server
    clock = SimulatedClock(now)
    return YahooProvider(
        scheduler,
        clock,
        rate_limit_per_second=1000.0,
        session=LocalYahooSession(srv.server_address[1]),
        timer=FakeTimer(wall=clock),  # live polling: the wall clock moves while it waits
    )


@pytest.mark.asyncio
async def test_1m_day_trailing_point_and_null_close(server, state, samples, scheduler):
    state.route = ChartRoute(body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes())
    provider = _provider(server, scheduler, datetime(2024, 10, 4, 12, tzinfo=UTC))
    await provider.connect()
    frame = await provider.get_history(
        "AAPL", "1m", datetime(2024, 10, 2, tzinfo=UTC), datetime(2024, 10, 4, tzinfo=UTC)
    )
    assert len(frame) == 389  # 390 minutes minus the all-null 11:15 row
    assert frame.index[0] == pd.Timestamp("2024-10-02T13:30:00Z")
    assert frame.index[-1] == pd.Timestamp("2024-10-02T19:59:00Z")  # not the 16:00 point
    assert pd.Timestamp("2024-10-02T15:15:00Z") not in frame.index
    assert not frame.isna().any().any()
    assert frame["volume"].dtype == "int64" and str(dt_index(frame).tz) == "UTC"
    first = frame.iloc[0]
    assert first["open"] == pytest.approx(225.89, abs=0.01)
    assert first["volume"] == 1205461


@pytest.mark.asyncio
async def test_bars_not_closed_yet_are_dropped(server, state, samples, scheduler):
    state.route = ChartRoute(body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes())
    provider = _provider(server, scheduler, datetime(2024, 10, 2, 14, 0, 30, tzinfo=UTC))
    frame = await provider.get_history(
        "AAPL", "1m", datetime(2024, 10, 2, 1, tzinfo=UTC), datetime(2024, 10, 3, tzinfo=UTC)
    )
    assert frame.index[-1] == pd.Timestamp("2024-10-02T13:59:00Z")
    assert len(frame) == 30


@pytest.mark.asyncio
async def test_weekend_answer_is_an_empty_frame(server, state, samples, scheduler):
    state.route = ChartRoute(
        body=(samples / "AAPL_1m_weekend_empty_2025-02-01.body.json").read_bytes()
    )
    provider = _provider(server, scheduler, datetime(2025, 2, 3, tzinfo=UTC))
    frame = await provider.get_history(
        "AAPL", "1m", datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 2, 3, tzinfo=UTC)
    )
    assert frame.empty and list(frame.columns) == ["open", "high", "low", "close", "volume"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("http_404_unknown_symbol", "symbol may be delisted"),
        ("http_422_range_too_old_5m", "60 days"),
    ],
)
async def test_404_and_422_become_no_data(server, state, samples, scheduler, key, match):
    status, body = error_body(samples, key)
    state.route = ChartRoute(status=status, body=body)
    provider = _provider(server, scheduler, datetime(2024, 10, 4, tzinfo=UTC))
    with pytest.raises(NoDataError, match=match):
        await provider.get_history(
            key[5:8].upper() + "Z",
            "5m",
            datetime(2024, 10, 2, tzinfo=UTC),
            datetime(2024, 10, 3, tzinfo=UTC),
        )


@pytest.mark.asyncio
async def test_429_becomes_rate_limited(server, state, scheduler):
    state.route = ChartRoute(status=429, body=b"Too Many Requests")
    provider = _provider(server, scheduler, datetime(2024, 10, 4, tzinfo=UTC))
    with pytest.raises(RateLimitedError):
        await provider.get_history(
            "RATE", "1m", datetime(2024, 10, 2, tzinfo=UTC), datetime(2024, 10, 3, tzinfo=UTC)
        )


@pytest.mark.asyncio
async def test_20_day_1m_request_goes_out_in_7_day_chunks(server, state, samples, scheduler):
    state.route = ChartRoute(
        body=(samples / "AAPL_1m_weekend_empty_2025-02-01.body.json").read_bytes(),
        day_start=DAY_OPEN,
        day_body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes(),
    )
    provider = _provider(server, scheduler, datetime(2024, 10, 4, 12, tzinfo=UTC))
    start, end = datetime(2024, 9, 13, tzinfo=UTC), datetime(2024, 10, 3, tzinfo=UTC)
    frame = await provider.get_history("AAPL", "1m", start, end)
    windows = [(int(q["period1"]), int(q["period2"])) for q in state.chart_requests]
    assert len(windows) == 3
    assert windows[0][0] == int(start.timestamp()) and windows[-1][1] == int(end.timestamp())
    assert all(b - a <= 7 * 86400 for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(2))
    assert {q["interval"] for q in state.chart_requests} == {"1m"}
    assert len(frame) == 389


def test_chunk_plan_limits():
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with pytest.raises(NoDataError, match="30 days"):
        plan_chunks("1m", now - timedelta(days=60), now - timedelta(days=40), now)
    clipped = plan_chunks("1m", now - timedelta(days=45), now, now)
    assert clipped[0][0] >= now - timedelta(days=30)
    assert len(plan_chunks("5m", now - timedelta(days=50), now, now)) == 1
    assert len(plan_chunks("1d", now - timedelta(days=5000), now, now)) == 1


@pytest.mark.asyncio
async def test_rate_limit_spaces_requests(server, state, samples, scheduler):
    state.route = ChartRoute(
        body=(samples / "AAPL_1m_weekend_empty_2025-02-01.body.json").read_bytes()
    )
    srv, _ = server
    clock = SimulatedClock(datetime(2024, 10, 4, tzinfo=UTC))
    timer = FakeTimer()
    provider = YahooProvider(
        scheduler,
        clock,
        rate_limit_per_second=2.0,
        session=LocalYahooSession(srv.server_address[1]),
        timer=timer,
    )
    start = datetime(2024, 9, 13, tzinfo=UTC)
    await provider.get_history("PACE", "1m", start, start + timedelta(days=20))
    assert provider.requests == 3
    assert timer.monotonic() == pytest.approx(1.0)  # 3 requests at 2/s: two 0.5 s waits
    assert clock.now() == datetime(2024, 10, 4, tzinfo=UTC)  # waiting is not trading time


@pytest.mark.asyncio
@pytest.mark.parametrize("start_second", [0, 90])  # before the open, inside the first minute
async def test_polling_yields_each_closed_bar_once(server, state, samples, scheduler, start_second):
    state.route = ChartRoute(body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes())
    start = datetime(2024, 10, 2, 13, 29, tzinfo=UTC) + timedelta(seconds=start_second)
    provider = _provider(server, scheduler, start)
    stream = provider.stream_bars(["AAPL"])
    bars = [await anext(stream) for _ in range(5)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert [b.timestamp.strftime("%H:%M") for b in bars] == [
        "13:30",
        "13:31",
        "13:32",
        "13:33",
        "13:34",
    ]
    assert bars[0].volume == 1205461
