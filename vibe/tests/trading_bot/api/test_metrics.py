from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vibe.common.errors import InvalidInputError
from vibe.common.models import OrderStatus
from vibe.tests.trading_bot.api.support import T0, Stack
from vibe.trading_bot.api.metrics import METRIC_NAMES, TradingMetrics


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """Family name as exposed -> {(sample name, sorted labels): value}."""
    families = {}
    for family in text_string_to_metric_families(text):
        exposed = family.name + ("_total" if family.type == "counter" else "")
        families[exposed] = {
            (s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples
        }
    return families


def value(
    families: dict[str, dict[tuple, float]], family: str, sample: str | None = None, **labels: str
) -> float:
    return families[family][(sample or family, tuple(sorted(labels.items())))]


@pytest.mark.asyncio
async def test_metrics_endpoint_parses_and_has_every_name(stack: Stack):
    response = await stack.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    families = parse(text)
    assert set(METRIC_NAMES) <= set(families)
    for name in METRIC_NAMES:
        assert f"# HELP {name} " in text
        assert f"# TYPE {name} " in text
    for status in OrderStatus:
        assert value(families, "vibe_orders_total", status=status.value) == 0


@pytest.mark.asyncio
async def test_updates_show_up_in_the_scrape(stack: Stack):
    m = stack.metrics
    for _ in range(3):
        m.record_bar("AAPL")
    m.record_bar("MSFT")
    m.record_bar_rejected("AAPL", "high_below_low")
    m.record_order(OrderStatus.SUBMITTED)
    m.record_order("filled")
    m.record_fill("AAPL", "buy")
    m.record_trade("AAPL", 12.5)
    m.record_trade("AAPL", -3.0)
    m.set_account(equity_usd=25_009.5, realized_pnl_net_usd=9.5, open_positions=1)
    m.record_alert("trade", sent=True)
    m.record_alert("error", sent=False)
    m.set_alerts_queued(4)
    m.record_rate_limit_wait("discord", 0.75)
    m.record_rate_limit_wait("discord", 0.25)
    m.record_sync(succeeded=True, at=T0)
    m.record_sync(succeeded=False, at=T0 + timedelta(hours=1))
    m.record_reconnect("finnhub")
    m.record_log_records_dropped(7)
    stack.timer.advance(90)

    f = parse((await stack.client.get("/metrics")).text)
    assert value(f, "vibe_bars_processed_total", symbol="AAPL") == 3
    assert value(f, "vibe_bars_processed_total", symbol="MSFT") == 1
    assert value(f, "vibe_bars_rejected_total", symbol="AAPL", reason="high_below_low") == 1
    assert value(f, "vibe_orders_total", status="submitted") == 1
    assert value(f, "vibe_orders_total", status="filled") == 1
    assert value(f, "vibe_fills_total", symbol="AAPL", side="buy") == 1
    assert value(f, "vibe_trades_total", symbol="AAPL", outcome="win") == 1
    assert value(f, "vibe_trades_total", symbol="AAPL", outcome="loss") == 1
    assert value(f, "vibe_equity_usd") == 25_009.5
    assert value(f, "vibe_realized_pnl_net_usd") == 9.5
    assert value(f, "vibe_open_positions") == 1
    assert value(f, "vibe_alerts_sent_total", kind="trade") == 1
    assert value(f, "vibe_alerts_failed_total", kind="error") == 1
    assert value(f, "vibe_alerts_queued") == 4
    assert value(f, "vibe_rate_limit_waits_total", limiter="discord") == 2
    assert value(f, "vibe_rate_limit_wait_seconds_total", limiter="discord") == 1.0
    assert value(f, "vibe_cloud_syncs_total", result="ok") == 1
    assert value(f, "vibe_cloud_syncs_total", result="failed") == 1
    assert value(f, "vibe_cloud_sync_last_success_timestamp_seconds") == T0.timestamp()
    assert value(f, "vibe_data_reconnects_total", provider="finnhub") == 1
    assert value(f, "vibe_log_records_dropped_total") == 7
    assert value(f, "vibe_uptime_seconds") == 90  # real (here fake) seconds, not trading time


@pytest.mark.asyncio
async def test_loop_lag_gauge_reads_the_monitor(stack: Stack):
    f = parse((await stack.client.get("/metrics")).text)
    assert value(f, "vibe_event_loop_lag_seconds") < 0.5
    time.sleep(0.8)  # noqa: ASYNC251 - deliberately block the event loop
    f = parse((await stack.client.get("/metrics")).text)
    assert value(f, "vibe_event_loop_lag_seconds") >= 0.5


def test_each_instance_has_its_own_registry():
    a, b = TradingMetrics(), TradingMetrics()  # no "Duplicated timeseries" error
    a.record_bar("AAPL")
    fa, fb = parse(a.render().decode()), parse(b.render().decode())
    assert value(fa, "vibe_bars_processed_total", symbol="AAPL") == 1
    assert fb["vibe_bars_processed_total"] == {}


def test_bad_updates_are_named():
    m = TradingMetrics()
    with pytest.raises(InvalidInputError, match="status='done'"):
        m.record_order("done")
    with pytest.raises(InvalidInputError, match="seconds=-1"):
        m.record_rate_limit_wait("discord", -1)
    with pytest.raises(InvalidInputError, match="naive"):
        m.record_sync(succeeded=True, at=datetime(2024, 1, 1))  # noqa: DTZ001
    m.record_sync(succeeded=True, at=datetime(2024, 1, 1, tzinfo=UTC))
