"""``validate-config --check-connections`` probes Yahoo, Finnhub and cloud sync: one line each.

The real CLI in a subprocess, against stand-ins on 127.0.0.1: the chart-v8
Yahoo stand-in (real daily bars) and the Finnhub-protocol websocket server.
"""

from __future__ import annotations

import asyncio

import pytest

from .data.finnhub_server import FinnhubServer, Script
from .data.yahoo_chart_standin import YahooChartStandIn
from .test_cli import run_cli

TOKEN = "fh-secret/+&token"


@pytest.fixture
def yahoo(shared_data):
    with YahooChartStandIn(shared_data / "bars_daily" / "tiingo_unadjusted_2024-2026") as server:
        yield server


async def _cli(tmp_path, **env: str):
    base = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "CLOUD_SYNC_DIR": str(tmp_path / "b")}
    return await asyncio.to_thread(
        run_cli, "validate-config", "--check-connections", cwd=tmp_path, **base, **env
    )


@pytest.mark.asyncio
async def test_every_endpoint_probed_one_line_each(tmp_path, yahoo):
    finnhub = FinnhubServer([Script([], then_close=True, expect_subscriptions=0)], TOKEN)
    await finnhub.start()
    ws_url = f"{finnhub.url}/ws?region=us"
    try:
        result = await _cli(
            tmp_path,
            SYMBOLS="SPY,QQQ",
            YAHOO_BASE_URL=yahoo.url,
            FINNHUB_API_KEY=TOKEN,
            FINNHUB_WS_URL=ws_url,
        )
    finally:
        await finnhub.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith(f"yahoo {yahoo.url}: ok")]
    assert [line for line in lines if line.startswith(f"finnhub {ws_url}: ok")]
    assert [line for line in lines if line.startswith("cloud sync [local, disabled]")]
    assert finnhub.tokens == [TOKEN]
    assert "SPY" in yahoo.chart_symbols()
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.asyncio
async def test_unreachable_yahoo_and_refused_key_exit_1_without_the_key(tmp_path):
    finnhub = FinnhubServer([Script([])], valid_token="another-key")
    await finnhub.start()
    try:
        result = await _cli(
            tmp_path,
            YAHOO_BASE_URL="http://127.0.0.1:9",
            FINNHUB_API_KEY=TOKEN,
            FINNHUB_WS_URL=finnhub.url,
        )
    finally:
        await finnhub.stop()
    assert result.returncode == 1
    yahoo_line = next(line for line in result.stdout.splitlines() if line.startswith("yahoo "))
    finnhub_line = next(line for line in result.stdout.splitlines() if line.startswith("finnhub "))
    assert "FAILED" in yahoo_line
    assert "FAILED - the key was refused (HTTP 401)" in finnhub_line
    assert TOKEN not in result.stdout + result.stderr
