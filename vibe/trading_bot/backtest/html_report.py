"""Self-contained interactive HTML report of a backtest, on TradingView Lightweight Charts.

One file that opens from ``file://`` offline: the vendored chart library and our chart
scripts (``web/static/charts/``, ``web/static/report/backtest_report.js``) are inlined
by :func:`~vibe.trading_bot.backtest.html_page.html_page_bytes`, and the data is embedded as
compact JSON (:mod:`.chart_payload`: every bar and equity point, columnar, delta-coded).

Sections: the run's configuration; equity against the buy-and-hold benchmark with the
drawdown below (time scales linked, zoom and pan with the mouse); a candlestick chart
per symbol (symbol picker) with each session's opening range as two dashed lines and
every trade as an entry arrow and an exit circle at its fill prices (hover for side,
quantity, price, reason and P&L), drawn with coarser candles when zoomed out (every bar
is merged into them, none is dropped; the line above the chart names the candle size);
the headline metrics; the analysis tables of :mod:`.summary_tables` (the by-symbol,
by-month and by-weekday ones sortable); trades by exit reason; rejections by rule; and
every trade in a sortable table whose rows move the price chart to the trade on click.
Times are shown in America/New_York with the zone (``EDT``/``EST``); the JSON report
keeps UTC with its offset.

The tables come from the JSON payload (:func:`~vibe.trading_bot.backtest.report.result_to_dict`);
a caller that already built it for the JSON report passes it in to skip a second build.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from vibe.trading_bot.backtest.chart_payload import chart_payload
from vibe.trading_bot.backtest.html_page import html_page_bytes
from vibe.trading_bot.backtest.html_tables import counts_table, table, text_table, trades_table
from vibe.trading_bot.backtest.report import (
    METRIC_LABELS,
    BacktestResult,
    exit_reason_counts,
    format_metric,
    format_number,
    result_to_dict,
    write_report_bytes,
)
from vibe.trading_bot.backtest.summary_tables import analysis_tables
from vibe.trading_bot.utils.timefmt import ZONE_NAME

__all__ = ["render_html", "render_html_bytes", "write_html"]

#: the page's script (after the chart scripts), relative to ``web/static``
REPORT_SCRIPT = "report/backtest_report.js"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
th.sortable{cursor:pointer}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
tr[data-trade]{cursor:pointer}tr[data-trade]:hover{background:#f5f9ff}
tr.selected{background:#e3eeff}
.win{color:#1a9850}.loss{color:#d73027}.note{color:#666;font-size:.85em}
.chart{position:relative;width:100%;max-width:1400px}
#equity-chart{height:340px}#drawdown-chart{height:150px}#price-chart{height:480px}
#price-tooltip{display:none;position:absolute;z-index:3;background:#fff;border:1px solid #bbb;
padding:4px 6px;font-size:.8em;white-space:pre;pointer-events:none;max-width:320px}
.key span{display:inline-block;margin-right:14px}
"""


def _config_section(config: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in config["params"].items()) or "(defaults)"
    rows = [
        ("Symbols", ", ".join(config["symbols"])),
        ("Period", f"{config['start']} to {config['end']}"),
        ("Timeframe", config["timeframe"]),
        ("Initial capital", format_number(config["initial_capital"], "USD")),
        ("Slippage model", config["slippage_model"]),
        ("Commission model", config["commission_model"]),
        ("Parameters", params),
    ]
    return table(["Setting", "Value"], [(html.escape(a), html.escape(str(b))) for a, b in rows])


def _metrics_section(metrics: dict[str, Any]) -> str:
    rows = [
        (html.escape(METRIC_LABELS.get(key, (key, ""))[0]), html.escape(format_metric(key, value)))
        for key, value in metrics.items()
    ]
    return table(["Metric", "Value"], rows)


def _equity_section(result: BacktestResult) -> str:
    if not result.equity_curve:
        return '<h2>Equity and drawdown</h2><p class="note">No equity points.</p>'
    bench = "orange: buy and hold of the same symbols; " if result.benchmark is not None else ""
    return (
        "<h2>Equity and drawdown</h2>"
        f'<p class="note key">Blue: strategy equity (USD); {bench}dotted: initial capital. '
        "Below: drawdown from the running peak (%). Drag to pan, wheel to zoom; the two "
        'charts move together. <span id="equity-info"></span></p>'
        '<div id="equity-chart" class="chart"></div><div id="drawdown-chart" class="chart"></div>'
    )


def _price_section(payload: dict[str, Any]) -> str:
    symbols = list(payload["symbols"])
    if not symbols:
        return '<h2>Price and trades</h2><p class="note">No price bars in this report.</p>'
    options = "".join(f"<option>{html.escape(s)}</option>" for s in symbols)
    return (
        "<h2>Price and trades</h2>"
        f'<p><label for="symbol">Symbol</label> <select id="symbol">{options}</select> '
        '<span id="price-info" class="note"></span></p>'
        f'<p class="note key">Dashed lines: each session\'s opening range (first '
        f"{payload['orb_minutes']} minutes; green high, red low). Arrows: entries at the fill "
        "price (up long, down short); circles: exits (green win, red loss, grey flat). Hover "
        "a marker's candle for the trade; click a row of the trades table to jump to it. "
        f"Times in {ZONE_NAME}.</p>"
        '<div id="price-chart" class="chart"><div id="price-tooltip"></div></div>'
    )


def render_html(result: BacktestResult, payload: dict[str, Any] | None = None) -> str:
    """The whole report as one self-contained HTML document (scripts and data inline).

    The text of :func:`render_html_bytes` (same arguments and errors).
    """
    return render_html_bytes(result, payload).decode("utf-8")


def render_html_bytes(result: BacktestResult, payload: dict[str, Any] | None = None) -> bytes:
    """:func:`render_html` in UTF-8, as written to the file.

    Args:
        result: the backtest's result (the charts and the exit-reason counts read it).
        payload: ``result_to_dict(result)`` if the caller already has it (the JSON
            report's dict); the tables are built from it. ``None``: built here.

    Raises:
        InvalidInputError: a naive timestamp in the result, or a bar with a missing or
            non-finite price.
    """
    data = result_to_dict(result) if payload is None else payload
    config = data["config"]
    charts = chart_payload(result)
    title = f"Backtest {', '.join(config['symbols'])} {config['start']} to {config['end']}"
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _config_section(config),
        _equity_section(result),
        _price_section(charts),
        "<h2>Metrics</h2>",
        _metrics_section(data["metrics"]),
        *(text_table(spec, data) for spec in analysis_tables(data)),
        "<h2>Trades by exit reason</h2>",
        counts_table(exit_reason_counts(result.trades), "Exit reason", "No trades."),
        "<h2>Rejections by rule</h2>",
        counts_table(data["rejections"], "Rule", "No entries were rejected."),
        f"<h2>Trades ({len(data['trades'])})</h2>",
        f'<p class="note">Times in {ZONE_NAME}; P&amp;L net of fees; R: net P&amp;L / '
        "(|entry - initial stop| x quantity). Click a header to sort, a row to see the "
        "trade on the price chart.</p>",
        trades_table(data["trades"]),
    ]
    body = "\n".join(sections)
    return html_page_bytes(title, body, css=_CSS, data=charts, main_script=REPORT_SCRIPT)


def write_html(result: BacktestResult, path: Path, payload: dict[str, Any] | None = None) -> Path:
    """Write the HTML report to ``path`` atomically (parent folders created).

    ``payload``: the already-built ``result_to_dict(result)``, if any (see :func:`render_html`).

    Returns:
        ``path``.

    Raises:
        InvalidInputError: a naive timestamp in the result (nothing is written).
        StorageError: ``path`` cannot be written; the message names it.
    """
    return write_report_bytes(Path(path), render_html_bytes(result, payload))
