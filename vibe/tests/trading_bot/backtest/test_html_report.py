"""HTML report: self-contained page, its embedded chart data decoded back exactly (real data).

The page in a real browser: ``test_html_report_browser.py``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import pickle
import re
import subprocess
import sys
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from vibe.common.models import ExitReason, PositionSide
from vibe.tests.trading_bot.backtest.test_report import CAPITAL, DAYS, build_real_result
from vibe.trading_bot.backtest import html_report
from vibe.trading_bot.backtest.chart_payload import chart_payload, packed, price_scale
from vibe.trading_bot.backtest.html_page import html_page_bytes, json_script_bytes
from vibe.trading_bot.backtest.html_report import render_html, write_html
from vibe.trading_bot.backtest.json_values import compact_json
from vibe.trading_bot.backtest.metrics import compute_metrics
from vibe.trading_bot.backtest.price_history import opening_ranges, price_history
from vibe.trading_bot.backtest.report import BacktestResult, result_to_dict
from vibe.trading_bot.data.bar_table import BarTable

SPY_1M = ("bars_1m", "alpaca_spy_2024-03_2025-04", "SPY_1m.csv")
PAYLOAD = re.compile(r'<script type="application/json" id="payload">(.*?)</script>', re.S)
NUMPY = {"i2": "<i2", "i4": "<i4", "f8": "<f8"}


def unpack(column, divisor=1):
    """Python twin of series_codec.js ``unpack`` (NaN steps are skipped in the sum)."""
    steps = np.frombuffer(base64.b64decode(column["data"]), dtype=NUMPY[column["dtype"]])
    steps = steps.astype(float)
    for index, step in column.get("wide", []):
        steps[index] = step
    values = np.cumsum(np.where(np.isnan(steps), 0.0, steps)) / divisor
    return np.where(np.isnan(steps), np.nan, values)


def sessions_of(shared_data, days):
    calendar = pd.read_csv(shared_data / "calendar" / "XNYS_sessions_2024_2026.csv")
    rows = calendar[calendar["date"].isin(days)]
    return [
        (datetime.fromisoformat(d).date(), datetime.fromisoformat(o), datetime.fromisoformat(c))
        for d, o, c in zip(rows["date"], rows["open"], rows["close"], strict=True)
    ]


def bars_5m(shared_data, symbol):
    path = shared_data / "bars_5m" / "yfinance_2025-06_2025-08" / f"{symbol}_5m.csv"
    frame = pd.read_csv(path)
    frame = frame[frame["timestamp"].str[:10].isin(DAYS)]
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))
    return frame.drop(columns="timestamp")


@pytest.fixture(scope="module")
def real_result(shared_data):
    """Two real 5m sessions of SPY and AAPL, their trades, and the bars they traded."""
    result = build_real_result(shared_data)
    tables = {
        symbol: BarTable.from_frame(bars_5m(shared_data, symbol)) for symbol in ("SPY", "AAPL")
    }
    prices = price_history(tables, sessions_of(shared_data, DAYS), 15, 300)
    return dataclasses.replace(result, prices=prices)


def embedded(text):
    match = PAYLOAD.search(text)
    assert match is not None
    return json.loads(match.group(1))


def test_the_report_is_one_self_contained_page(real_result, tmp_path):
    text = write_html(real_result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Lightweight Charts" in text and "VibeCharts" in text  # library and ours inline
    assert " src=" not in text and "<link" not in text and "http://" not in text.split("<script")[0]
    for element in ('id="equity-chart"', 'id="drawdown-chart"', 'id="price-chart"'):
        assert element in text
    assert "<option>SPY</option><option>AAPL</option>" in text
    assert text.count("<tr data-trade=") == len(real_result.trades) == 4
    assert text.count('<table class="sortable">') == 3  # by symbol, month, weekday
    assert '<table id="trades" class="sortable">' in text
    assert "Sharpe ratio" in text and "Trades (4)" in text
    assert "&lt;" not in text.replace("[bold]markup[/bold]", "")  # nothing needed escaping


def test_every_bar_and_equity_point_is_embedded_exactly(real_result, shared_data):
    data = embedded(render_html(real_result))
    for symbol in ("SPY", "AAPL"):
        entry = data["symbols"][symbol]
        frame = bars_5m(shared_data, symbol)
        starts = pd.DatetimeIndex(frame.index).as_unit("s").asi8
        assert unpack(entry["t"]).tolist() == starts.tolist()
        for key, column in zip("ohlc", ("open", "high", "low", "close"), strict=True):
            assert unpack(entry[key], entry["scale"]) == pytest.approx(frame[column], abs=1e-9)
        assert unpack(entry["v"]).tolist() == frame["volume"].tolist()
    equity = np.array([value for _, value in real_result.equity_curve])
    assert unpack(data["equity"]["v"], 100) == pytest.approx(np.round(equity, 2), abs=1e-9)
    closes = [when.timestamp() for when, _ in real_result.equity_curve]
    assert unpack(data["equity"]["t"]).tolist() == closes
    assert data["equity"]["benchmark"] is None  # this result has no benchmark
    assert data["sessions"]["open"] == [1749043800, 1749130200]  # 09:30 EDT
    trade = real_result.trades[0]
    assert data["trades"][0][:5] == [
        "SPY",
        "long",
        50,
        trade.entry_time.timestamp(),
        round(trade.entry_price, 6),
    ]


def test_opening_range_is_the_high_and_low_of_the_first_minutes(real_result, shared_data):
    frame = bars_5m(shared_data, "SPY")
    ranges = opening_ranges(real_result.prices, BarTable.from_frame(frame))
    for i, day in enumerate(DAYS):
        first = frame[frame.index.strftime("%Y-%m-%d") == day].iloc[:3]  # 09:30-09:44
        assert (ranges.high[i], ranges.low[i]) == (first["high"].max(), first["low"].min())
    scale = embedded(render_html(real_result))["symbols"]["SPY"]["scale"]
    payload = embedded(render_html(real_result))["symbols"]["SPY"]
    assert payload["range_high"] == [round(v * scale) for v in ranges.high]
    wider = dataclasses.replace(real_result.prices, orb_minutes=30)
    assert opening_ranges(wider, BarTable.from_frame(frame)).high[0] == frame.iloc[:6]["high"].max()


def test_a_session_without_bars_in_its_first_minutes_has_no_range(real_result, shared_data):
    frame = bars_5m(shared_data, "SPY")
    late = BarTable.from_frame(frame[frame.index.strftime("%H:%M") >= "14:00"])  # from 10:00 EDT
    ranges = opening_ranges(real_result.prices, late)
    assert np.isnan(ranges.high).all() and np.isnan(ranges.low).all()
    entry = chart_payload(dataclasses.replace(real_result, prices=dataclasses.replace(
        real_result.prices, bars={"SPY": late, "AAPL": None})))  # fmt: skip
    assert entry["symbols"]["SPY"]["range_high"] == [None, None]
    assert "AAPL" not in entry["symbols"]  # bars unavailable: no chart, no invented bars


def test_packed_columns_pick_the_narrowest_exact_width(shared_data):
    spy = pd.read_csv(shared_data.joinpath(*SPY_1M), nrows=20_000)
    stamps = pd.DatetimeIndex(pd.to_datetime(spy["timestamp"], utc=True)).as_unit("s").asi8
    column = packed(stamps)
    assert column["dtype"] == "i2" and len(column["wide"]) >= 50  # overnight gaps
    assert unpack(column).tolist() == stamps.tolist()
    scale = price_scale(spy["close"].to_numpy())
    assert scale in (100, 1000, 10_000)
    cents = np.round(spy[["open", "close"]].to_numpy(), 2)  # F-ordered, as a frame's
    assert price_scale(cents) == 100
    cents[-1, -1] += 0.0001  # past the first SCALE_SAMPLE prices tried: all are looked at
    assert price_scale(cents) == 10_000
    assert price_scale(np.array([0.1234567])) == 1_000_000
    closes = np.round(spy["close"].to_numpy() * scale)
    assert unpack(packed(closes), scale) == pytest.approx(spy["close"], abs=1e-9)
    volume = packed(spy["volume"].to_numpy())
    assert volume["dtype"] == "i4" and unpack(volume).tolist() == spy["volume"].tolist()
    halves = packed(spy["close"].to_numpy())  # not whole numbers: exact float64
    assert halves["dtype"] == "f8" and unpack(halves) == pytest.approx(spy["close"], abs=1e-9)
    assert packed(np.zeros(0))["data"] == ""


def test_a_missing_equity_value_is_a_gap_not_a_number(real_result):
    curve = list(real_result.equity_curve)
    curve[40] = (curve[40][0], math.nan)
    data = chart_payload(dataclasses.replace(real_result, equity_curve=curve))
    values = unpack(data["equity"]["v"], 100)
    assert np.isnan(values[40]) and np.isfinite(np.delete(values, 40)).all()
    expected = np.round([value for _, value in curve], 2)
    assert np.delete(values, 40) == pytest.approx(np.delete(expected, 40), abs=1e-9)
    assert not re.search(r"\bNaN\b", json_script_bytes("payload", data).decode())


def test_json_in_the_page_cannot_close_its_script_element():
    text = json_script_bytes("payload", {"rule": "</script><script>alert(1)</script>"}).decode()
    assert text.count("</script>") == 1 and text.endswith("</script>")
    inner = text[text.index(">") + 1 : -len("</script>")]
    assert json.loads(inner) == {"rule": "</script><script>alert(1)</script>"}
    page = html_page_bytes("t", "<p>x</p>", data={"a": 1}, scripts=("charts/series_codec.js",))
    assert page.count(b"<script") == 3  # payload, library, one script


def test_compact_json_is_the_text_of_json_dumps():
    def dumps(value):
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))

    floats = [0.0, -0.0, 1e-4, -1e-4, 9.99e-5, 1.5e-7, 0.1, 512.3456, 1e15, 1e16, 2.5e300]
    texts = ["plain", "é ü 中", "\x00\x1f\x7f\u2028", '"\\/\n\t\b\f\r', "</script>"]
    payloads = [
        {"floats": floats, "texts": texts, "ints": [0, -1, 2**63 - 1], "flags": [True, None]},
        {"nested": [[1, (2.5, "x")], {"k": {"deep": [0.0001]}}]},
        {"big": 2**70},  # beyond orjson's 64 bits
        {1: "an int key"},  # json.dumps writes it as "1"
        [PositionSide.LONG, ExitReason.STOP_LOSS],  # str subclasses
        *([value] for value in floats),
    ]
    for payload in payloads:
        assert compact_json(payload) == dumps(payload).encode("utf-8")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="JSON compliant"):
            compact_json({"x": [1.0, bad]})


def test_html_page_refuses_a_script_outside_the_static_folder():
    with pytest.raises(Exception, match=r"expected a \.js file under"):
        html_page_bytes("t", "", scripts=("../__init__.py",))


def test_payload_is_used_instead_of_rebuilding(real_result, tmp_path, monkeypatch):
    payload = result_to_dict(real_result)
    payload["config"]["commission_model"] = "sentinel-commission-model"

    def rebuilt(_result):
        raise AssertionError("result_to_dict called although the payload was given")

    monkeypatch.setattr(html_report, "result_to_dict", rebuilt)
    text = write_html(real_result, tmp_path / "bt.html", payload).read_text(encoding="utf-8")
    assert "sentinel-commission-model" in text
    assert "sentinel" in render_html(real_result, payload=payload)


def test_html_escapes_user_text(real_result, tmp_path):
    config = dataclasses.replace(real_result.config, symbols=["A&B", "<x>"])
    result = dataclasses.replace(
        real_result, config=config, rejections={"<script>alert(1)</script>": 1}
    )
    text = write_html(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<x>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<title>Backtest A&amp;B, &lt;x&gt; 2025-06-04 to 2025-06-05</title>" in text


def test_html_with_zero_trades_and_one_point(real_result, tmp_path):
    one = real_result.equity_curve[:1]
    equity = pd.Series([one[0][1]], index=pd.DatetimeIndex([one[0][0]]))
    metrics = compute_metrics(equity, [], CAPITAL, 5)
    result = BacktestResult(real_result.config, metrics, [], one, {})
    text = write_html(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert embedded(text)["trades"] == [] and 'id="equity-chart"' in text
    assert "No trades." in text and "No entries were rejected." in text
    assert "No price bars in this report." in text  # no PriceHistory: no price chart


def test_html_without_equity_points(real_result, tmp_path):
    result = dataclasses.replace(real_result, trades=[], equity_curve=[])
    text = write_html(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert 'id="equity-chart"' not in text and "No equity points." in text


def test_rendering_the_report_does_not_import_matplotlib(real_result, tmp_path):
    pickled = tmp_path / "result.pkl"
    pickled.write_bytes(pickle.dumps(real_result))
    code = (
        "import pickle, sys\n"
        "import vibe.trading_bot.backtest.report, vibe.trading_bot.backtest.console\n"
        "from vibe.trading_bot.backtest.html_report import render_html\n"
        f"result = pickle.loads(open({str(pickled)!r}, 'rb').read())\n"
        "assert 'LightweightCharts' in render_html(result)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
