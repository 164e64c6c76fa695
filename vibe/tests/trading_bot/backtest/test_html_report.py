"""HTML report and its hand-built SVG chart, checked by parsing the SVG (real market data)."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, date

import numpy as np
import pandas as pd
import pytest

from vibe.tests.trading_bot.backtest.test_report import CAPITAL, build_real_result
from vibe.trading_bot.backtest import html_report
from vibe.trading_bot.backtest.html_report import render_html, write_html
from vibe.trading_bot.backtest.metrics import compute_metrics
from vibe.trading_bot.backtest.report import BacktestResult, result_to_dict
from vibe.trading_bot.backtest.svg_chart import (
    ENVELOPE_COLUMNS,
    envelope_indices,
    nice_ticks,
    render_chart_svg,
)
from vibe.trading_bot.utils.timefmt import et_text

NS = "{http://www.w3.org/2000/svg}"
GREEN, RED = "#1a9850", "#d73027"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
SPY_1M = ("bars_1m", "alpaca_spy_2024-03_2025-04", "SPY_1m.csv")


@pytest.fixture(scope="module")
def real_result(shared_data):
    return build_real_result(shared_data)


@pytest.fixture(scope="module")
def spy_year(shared_data, real_result):
    """Buy-and-hold equity on every real SPY 1-minute close (~99,000 bars), no trades."""
    frame = pd.read_csv(shared_data.joinpath(*SPY_1M))
    closes = frame["close"].to_numpy(dtype=float)
    ends = pd.to_datetime(frame["timestamp"], utc=True) + pd.Timedelta(minutes=1)
    equity = CAPITAL * closes / closes[0]
    curve = list(zip(ends.dt.to_pydatetime().tolist(), equity.tolist(), strict=True))
    config = dataclasses.replace(
        real_result.config,
        symbols=["SPY"],
        timeframe="1m",
        start=curve[0][0].date(),
        end=curve[-1][0].date(),
    )
    result = dataclasses.replace(real_result, config=config, trades=[], equity_curve=curve)
    return result, equity


def svg_of(text):
    start = text.index("<svg")
    end = text.index("</svg>") + len("</svg>")
    return ET.fromstring(text[start:end])  # noqa: S314 - our own output


def by_id(svg, gid):
    found = [element for element in svg.iter() if element.get("id") == gid]
    assert len(found) == 1, gid
    return found[0]


def polyline_points(element):
    return np.array(NUMBER.findall(element.get("points")), dtype=float).reshape(-1, 2)


def path_points(element):
    return np.array(NUMBER.findall(element.get("d")), dtype=float).reshape(-1, 2)


def parse_label(text):
    return float(text.replace("$", "").replace(",", "").replace("%", "").strip())


def tick_scale(svg, gid):
    """value -> y pixel, fitted from the tick labels; checks a round 1-2-5 step."""
    labels = [(parse_label(t.text), float(t.get("y"))) for t in by_id(svg, gid)]
    assert len(labels) >= 3
    values = np.array([v for v, _ in labels])
    ys = np.array([y for _, y in labels])
    steps = np.diff(values)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert round(mantissa, 6) in {1.0, 2.0, 5.0}
    slope = (ys[-1] - ys[0]) / (values[-1] - values[0])
    assert slope < 0  # larger values higher up
    assert np.allclose(ys, ys[0] + slope * (values - values[0]), atol=0.06)
    return lambda value: ys[0] + slope * (np.asarray(value) - values[0])


def plot_x_range(svg):
    frame = next(r for r in svg.iter(f"{NS}rect") if r.get("fill") == "none")
    left = float(frame.get("x"))
    return left, left + float(frame.get("width"))


def markers_by_title(svg):
    """title text -> (group id, element) for every trade marker."""
    out = {}
    for gid in ("entries-long", "entries-short", "exits"):
        for element in by_id(svg, gid):
            out[element.find(f"{NS}title").text] = (gid, element)
    return out


def test_html_report_has_chart_markers_and_tables(real_result, tmp_path):
    path = write_html(real_result, tmp_path / "bt.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for symbol in {t.symbol for t in real_result.trades}:
        assert f'<td class="l">{symbol}</td>' in text
    svg = svg_of(text)
    assert svg.get("viewBox") == "0 0 1200 660"
    assert len(by_id(svg, "entries-long")) == 2
    assert len(by_id(svg, "entries-short")) == 2
    assert len(by_id(svg, "exits")) == 4
    legend = {t.text for t in by_id(svg, "legend").iter(f"{NS}text")}
    assert {"equity", "long entry", "short entry", "exit", "winning trade"} <= legend
    assert "Drawdown (%)" in text and "Equity (USD)" in text
    assert [t.text for t in by_id(svg, "x-ticks")] == ["2025-06-04", "2025-06-05"]
    assert "Sharpe ratio" in text and "Trades (4)" in text
    assert "&lt;" not in text.replace("[bold]markup[/bold]", "")  # nothing needed escaping
    assert "<script" not in text and "<link" not in text and " src=" not in text
    assert "href" not in text


def test_markers_have_side_shape_outcome_colour_and_position(real_result):
    svg = svg_of(render_chart_svg(real_result))
    to_y = tick_scale(svg, "equity-y-ticks")
    left, right = plot_x_range(svg)
    curve = real_result.equity_curve
    times = [when for when, _ in curve]
    equity = np.array([value for _, value in curve])

    def to_x(i):
        return left + i * (right - left) / (len(curve) - 1)

    markers = markers_by_title(svg)
    pnls = [t.pnl for t in real_result.trades]
    assert min(pnls) < 0 < max(pnls)  # a known winner and a known loser
    for trade in real_result.trades:
        colour = GREEN if trade.pnl > 0 else RED
        i, j = times.index(trade.entry_time), times.index(trade.exit_time)
        entry = f"{trade.symbol} {trade.side.value} entry {et_text(trade.entry_time)} @ "
        [(gid, polygon)] = [v for k, v in markers.items() if k.startswith(entry)]
        assert gid == ("entries-long" if trade.side.value == "long" else "entries-short")
        assert polygon.get("fill") == colour
        vertices = np.array(NUMBER.findall(polygon.get("points")), dtype=float).reshape(3, 2)
        apex = vertices[0]
        base_y = vertices[1:, 1]
        assert (apex[1] < base_y).all() if trade.side.value == "long" else (apex[1] > base_y).all()
        assert vertices.mean(axis=0) == pytest.approx((to_x(i), to_y(equity[i])), abs=0.1)
        exit_ = f"{trade.symbol} {trade.side.value} exit {et_text(trade.exit_time)} @ "
        [(gid, circle)] = [v for k, v in markers.items() if k.startswith(exit_)]
        assert gid == "exits" and circle.tag == f"{NS}circle"
        assert circle.get("fill") == colour
        center = (float(circle.get("cx")), float(circle.get("cy")))
        assert center == pytest.approx((to_x(j), to_y(equity[j])), abs=0.06)
        pnl = f"-${-trade.pnl:,.2f}" if trade.pnl < 0 else f"${trade.pnl:,.2f}"
        tooltip = next(k for k in markers if k.startswith(exit_))
        assert tooltip.endswith(f"({trade.exit_reason.value}); P&L {pnl}")
    segments = "".join(p.get("d") for p in by_id(svg, "connectors"))
    assert segments.count("M") == len(real_result.trades)


def test_short_curve_is_drawn_point_for_point(real_result):
    svg = svg_of(render_chart_svg(real_result))
    to_y = tick_scale(svg, "equity-y-ticks")
    labels = [t.text for t in by_id(svg, "equity-y-ticks")]
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*(\.\d+)?", label) for label in labels), labels
    equity = np.array([value for _, value in real_result.equity_curve])
    points = polyline_points(by_id(svg, "equity-line"))
    assert len(points) == len(equity)
    assert points[:, 1] == pytest.approx(to_y(equity), abs=0.06)
    dd_labels = [t.text for t in by_id(svg, "drawdown-y-ticks")]
    assert all(label.endswith(" %") for label in dd_labels) and parse_label(dd_labels[-1]) == 0


def test_long_curve_is_thinned_but_exact_at_extremes(spy_year):
    result, equity = spy_year
    svg = svg_of(render_chart_svg(result))
    to_y = tick_scale(svg, "equity-y-ticks")
    left, right = plot_x_range(svg)
    points = polyline_points(by_id(svg, "equity-line"))
    assert ENVELOPE_COLUMNS < len(points) <= 4 * ENVELOPE_COLUMNS < len(equity) / 10
    assert points[:, 1].min() == pytest.approx(to_y(equity.max()), abs=0.06)
    assert points[:, 1].max() == pytest.approx(to_y(equity.min()), abs=0.06)
    assert points[0] == pytest.approx((left, to_y(equity[0])), abs=0.06)
    assert points[-1] == pytest.approx((right, to_y(equity[-1])), abs=0.06)
    assert (np.diff(points[:, 0]) >= 0).all()
    # every kept point is a real bar: some bar within the x rounding has that equity
    per_px = (len(equity) - 1) / (right - left)
    for x, y in points:
        lo = max(0, math.floor((x - 0.051 - left) * per_px))
        hi = math.ceil((x + 0.051 - left) * per_px) + 1
        assert np.abs(to_y(equity[lo:hi]) - y).min() <= 0.06


def test_long_curve_drawdown_area_and_session_ticks(spy_year):
    result, equity = spy_year
    svg = svg_of(render_chart_svg(result))
    to_y = tick_scale(svg, "drawdown-y-ticks")
    zero = float(to_y(0.0))
    area = path_points(by_id(svg, "drawdown-area"))
    assert by_id(svg, "drawdown-area").get("d").endswith("Z")
    assert (area[:, 1] >= zero - 0.06).all()  # SVG y grows downwards: all values <= 0 %
    assert area[0, 1] == pytest.approx(zero, abs=0.06) and area[-1, 1] == pytest.approx(zero)
    peaks = np.maximum.accumulate(np.maximum(equity, CAPITAL))
    deepest = ((equity / peaks - 1.0) * 100.0).min()
    assert deepest < -5  # the real 2025 sell-off
    assert area[:, 1].max() == pytest.approx(to_y(deepest), abs=0.06)

    left, right = plot_x_range(svg)
    ticks = list(by_id(svg, "x-ticks"))
    assert 6 <= len(ticks) <= 12
    days = [when.astimezone(UTC).date() for when, _ in result.equity_curve]
    for tick in ticks:
        i = round((float(tick.get("x")) - left) * (len(days) - 1) / (right - left))
        assert date.fromisoformat(tick.text) == days[i]
        assert i == 0 or days[i - 1] != days[i]  # the first bar of its session


def test_envelope_keeps_first_low_high_last_of_each_column(shared_data):
    frame = pd.read_csv(shared_data.joinpath(*SPY_1M), nrows=20_000)
    values = frame["close"].to_numpy(dtype=float)
    columns = np.arange(values.size) * 300 // values.size
    kept = envelope_indices(columns, values)
    expected = set()
    for column in np.unique(columns):
        idx = np.flatnonzero(columns == column)
        chunk = values[idx]
        expected |= {idx[0], idx[-1], idx[np.argmin(chunk)], idx[np.argmax(chunk)]}
    assert kept.tolist() == sorted(int(i) for i in expected)
    assert envelope_indices(np.zeros(0, dtype=int), np.zeros(0)).size == 0


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (99_412.0, 100_220.0, [99_400.0 + 200 * k for k in range(6)]),
        (-5.63, 0.0, [-6.0, -4.0, -2.0, 0.0]),
        (100_000.0, 100_000.0, [99_000.0 + 500 * k for k in range(5)]),
        (-0.37, 0.0, [-0.4, -0.2, 0.0]),
    ],
)
def test_nice_ticks_use_round_steps(lo, hi, expected):
    ticks, _ = nice_ticks(lo, hi, target=6 if hi > 1 or lo == hi else 4)
    assert ticks == pytest.approx(expected)
    assert ticks[0] <= lo and ticks[-1] >= hi


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
    assert "<script>" not in text and "<x>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    svg = svg_of(text)  # parses: the chart's title was escaped too
    titles = [t.text for t in svg.iter(f"{NS}text")]
    assert any(t.startswith("A&B, <x> 5m 2025-06-04 to 2025-06-05") for t in titles if t)


def test_html_with_zero_trades_and_one_point(real_result, tmp_path):
    one = real_result.equity_curve[:1]
    equity = pd.Series([one[0][1]], index=pd.DatetimeIndex([one[0][0]]))
    metrics = compute_metrics(equity, [], CAPITAL, 5)
    result = BacktestResult(real_result.config, metrics, [], one, {})
    text = write_html(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    svg = svg_of(text)
    assert len(by_id(svg, "exits")) == 0
    assert len(polyline_points(by_id(svg, "equity-line"))) == 1
    assert "No trades." in text and "No entries were rejected." in text


def test_chart_skips_a_missing_equity_value(real_result):
    curve = list(real_result.equity_curve)
    curve[40] = (curve[40][0], math.nan)
    svg = svg_of(render_chart_svg(dataclasses.replace(real_result, equity_curve=curve)))
    assert len(polyline_points(by_id(svg, "equity-line"))) == len(curve) - 1
    assert not re.search(r"\bnan\b", ET.tostring(svg, encoding="unicode"), re.IGNORECASE)


def test_html_without_equity_points(real_result, tmp_path):
    result = dataclasses.replace(real_result, trades=[], equity_curve=[])
    text = write_html(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert "<svg" not in text and "No equity points." in text


def test_rendering_the_report_does_not_import_matplotlib(real_result, tmp_path):
    pickled = tmp_path / "result.pkl"
    pickled.write_bytes(pickle.dumps(real_result))
    code = (
        "import pickle, sys\n"
        "import vibe.trading_bot.backtest.report, vibe.trading_bot.backtest.console\n"
        "from vibe.trading_bot.backtest.html_report import render_html\n"
        f"result = pickle.loads(open({str(pickled)!r}, 'rb').read())\n"
        "assert '<svg' in render_html(result)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
