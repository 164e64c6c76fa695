"""Self-contained HTML report of a backtest: inline CSS and SVG, tables, no JS.

Sections: the run's configuration, the equity and drawdown chart
(:func:`vibe.trading_bot.backtest.svg_chart.render_chart_svg`: hand-built SVG, equity in
USD above drawdown in % against the bar index, trade entries as triangles, exits as
circles, green for wins, red for losses, grey for flat or open trades), the headline
metrics, the analysis tables of :mod:`.summary_tables` (strategy against equal-weight
buy and hold, the max drawdown's peak, trough and recovery, trade statistics, and the
trades by symbol, month and weekday), trades by exit reason, rejections by rule and
every trade. Times are shown in America/New_York with the zone (``EDT``/``EST``); the
JSON report keeps UTC with its offset. No plotting library:
the whole report of a 1-minute year (98,520 bars) renders in tens of milliseconds.

The tables come from the JSON payload (:func:`~vibe.trading_bot.backtest.report.result_to_dict`);
a caller that already built it for the JSON report passes it in to skip a second build.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vibe.trading_bot.backtest.report import (
    METRIC_LABELS,
    BacktestResult,
    exit_reason_counts,
    format_metric,
    format_number,
    result_to_dict,
    write_text_atomic,
)
from vibe.trading_bot.backtest.summary_tables import TextTable, analysis_tables
from vibe.trading_bot.backtest.svg_chart import render_chart_svg
from vibe.trading_bot.utils.timefmt import ZONE_NAME, et_text

__all__ = ["render_chart_svg", "render_html", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.win{color:#1a9850}.loss{color:#d73027}.chart svg{max-width:100%;height:auto}
.note{color:#666;font-size:.85em}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """HTML table; the first ``left`` columns are left-aligned. Cells must be escaped."""

    def cls(i: int) -> str:
        return ' class="l"' if i < left else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    return _table(["Setting", "Value"], [(html.escape(a), html.escape(str(b))) for a, b in rows])


def _metrics_section(metrics: dict[str, Any]) -> str:
    rows = [
        (html.escape(METRIC_LABELS.get(key, (key, ""))[0]), html.escape(format_metric(key, value)))
        for key, value in metrics.items()
    ]
    return _table(["Metric", "Value"], rows)


def _text_table(spec: TextTable) -> str:
    """An analysis table: ``<h2>`` title, the table, its note (every cell escaped)."""
    rows = [[html.escape(cell) for cell in row] for row in spec.rows]
    headers = [html.escape(header) for header in spec.headers]
    note = f'<p class="note">{html.escape(spec.note)}</p>' if spec.note else ""
    return f"<h2>{html.escape(spec.title)}</h2>\n{_table(headers, rows, spec.left)}{note}"


def _trade_row(trade: dict[str, Any]) -> list[str]:
    pnl = trade["pnl"]
    css = "win" if pnl is not None and pnl > 0 else "loss" if pnl is not None and pnl < 0 else ""
    cells = [
        trade["symbol"],
        trade["side"],
        str(trade["quantity"]),
        et_text(trade["entry_time"]),
        format_number(trade["entry_price"], "", 4),
        et_text(trade["exit_time"]),
        format_number(trade["exit_price"], "", 4),
        format_number(pnl, "USD"),
        format_number(trade["pnl_pct"], "%"),
        format_number(trade["fees"], "USD"),
        format_number(trade["slippage_cost"], "USD"),
        trade["exit_reason"] or "open",
        format_number(trade["initial_stop"], "", 4),
        format_number(trade["r_multiple"], ""),
    ]
    escaped = [html.escape(cell) for cell in cells]
    escaped[7] = f'<span class="{css}">{escaped[7]}</span>'
    return escaped


def _trades_section(trades: list[dict[str, Any]]) -> str:
    if not trades:
        return '<p class="note">No trades.</p>'
    headers = ["Symbol", "Side", "Qty", "Entry time", "Entry", "Exit time", "Exit"]
    headers += ["P&amp;L", "P&amp;L %", "Fees", "Slippage", "Exit reason", "Initial stop", "R"]
    return _table(headers, [_trade_row(t) for t in trades], left=2)


def _counts_section(counts: dict[str, int], what: str, empty: str) -> str:
    if not counts:
        return f'<p class="note">{html.escape(empty)}</p>'
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [(html.escape(name), str(count)) for name, count in ordered]
    return _table([what, "Count"], rows)


def render_html(result: BacktestResult, payload: dict[str, Any] | None = None) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no scripts or links).

    Args:
        result: the backtest's result (the chart and the exit-reason counts read it).
        payload: ``result_to_dict(result)`` if the caller already has it (the JSON
            report's dict); the tables are built from it. ``None``: built here.

    Raises:
        InvalidInputError: a naive timestamp in the result.
    """
    data = result_to_dict(result) if payload is None else payload
    config = data["config"]
    title = f"Backtest {', '.join(config['symbols'])} {config['start']} to {config['end']}"
    chart = render_chart_svg(result) or '<p class="note">No equity points.</p>'
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _config_section(config),
        f'<h2>Equity and drawdown</h2><div class="chart">{chart}</div>',
        "<h2>Metrics</h2>",
        _metrics_section(data["metrics"]),
        *(_text_table(spec) for spec in analysis_tables(data)),
        "<h2>Trades by exit reason</h2>",
        _counts_section(exit_reason_counts(result.trades), "Exit reason", "No trades."),
        "<h2>Rejections by rule</h2>",
        _counts_section(data["rejections"], "Rule", "No entries were rejected."),
        f"<h2>Trades ({len(data['trades'])})</h2>",
        f'<p class="note">Times in {ZONE_NAME}; P&amp;L net of fees; R: net P&amp;L / '
        "(|entry - initial stop| x quantity).</p>",
        _trades_section(data["trades"]),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_html(result: BacktestResult, path: Path, payload: dict[str, Any] | None = None) -> Path:
    """Write the HTML report to ``path`` atomically (parent folders created).

    ``payload``: the already-built ``result_to_dict(result)``, if any (see :func:`render_html`).

    Returns:
        ``path``.

    Raises:
        InvalidInputError: a naive timestamp in the result (nothing is written).
        StorageError: ``path`` cannot be written; the message names it.
    """
    return write_text_atomic(Path(path), render_html(result, payload))
