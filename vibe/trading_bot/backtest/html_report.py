"""Self-contained HTML report of a backtest: charts as inline SVG, tables, no JS.

The chart plots equity (USD) and drawdown (% from the running peak) against the bar
index, so nights, weekends and holidays leave no flat gaps; the x axis is labelled with
the UTC date at each session's first bar (the UTC and New York dates agree during US
regular trading hours). Trade entries are triangles (up: long, down: short), exits are
circles; green marks a winning trade, red a losing one, grey a flat or still open one.

matplotlib is imported inside :func:`render_chart_svg` only, so importing this module
stays cheap for the CLI; it draws on a bare ``Figure`` (Agg-free, no pyplot state).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vibe.trading_bot.backtest.report import (
    METRIC_LABELS,
    BacktestResult,
    exit_reason_counts,
    format_metric,
    format_number,
    result_to_dict,
    write_text_atomic,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from vibe.common.models import Trade

WIN_COLOR = "#1a9850"
LOSS_COLOR = "#d73027"
FLAT_COLOR = "#7f7f7f"
EQUITY_COLOR = "#1f4e9c"
MAX_DATE_TICKS = 12
MAX_DRAWDOWN_POINTS = 4000
MANY_TRADES = 100

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.win{color:#1a9850}.loss{color:#d73027}.chart svg{max-width:100%;height:auto}
.note{color:#666;font-size:.85em}
"""


def _outcome_color(trade: Trade) -> str:
    pnl = trade.pnl
    if pnl is None or pnl == 0:
        return FLAT_COLOR
    return WIN_COLOR if pnl > 0 else LOSS_COLOR


def _bar_index(times: np.ndarray, when: float) -> int:
    """Index of the first bar close at or after ``when`` (POSIX seconds), clipped."""
    return min(int(np.searchsorted(times, when, side="left")), times.size - 1)


def _session_ticks(times: np.ndarray) -> tuple[list[int], list[str]]:
    """Bar indexes where a new UTC date starts and their labels, thinned to ~12."""
    days = np.floor(times / 86_400.0)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(days) != 0) + 1))
    step = max(1, math.ceil(starts.size / MAX_DATE_TICKS))
    picked = starts[::step]
    labels = [datetime.fromtimestamp(float(times[i]), UTC).date().isoformat() for i in picked]
    return [int(i) for i in picked], labels


def _drawdown_envelope(dd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, drawdown) reduced to ~MAX_DRAWDOWN_POINTS by bucket minimum (keeps the troughs)."""
    x = np.arange(dd.size, dtype=float)
    if dd.size <= MAX_DRAWDOWN_POINTS:
        return x, dd
    edges = np.linspace(0, dd.size, MAX_DRAWDOWN_POINTS + 1).astype(int)
    return x[edges[:-1]], np.minimum.reduceat(dd, edges[:-1])


def _marker_points(
    trades: Sequence[Trade], times: np.ndarray
) -> dict[str, tuple[list[int], list[str]]]:
    """Marker group id -> (bar indexes, colors) for long/short entries and exits."""
    groups: dict[str, tuple[list[int], list[str]]] = {
        "entries-long": ([], []),
        "entries-short": ([], []),
        "exits": ([], []),
    }
    for trade in trades:
        color = _outcome_color(trade)
        entry = groups["entries-long" if trade.side.sign > 0 else "entries-short"]
        entry[0].append(_bar_index(times, trade.entry_time.timestamp()))
        entry[1].append(color)
        if trade.exit_time is not None:
            groups["exits"][0].append(_bar_index(times, trade.exit_time.timestamp()))
            groups["exits"][1].append(color)
    return groups


def _plot_trades(ax: Axes, trades: Sequence[Trade], times: np.ndarray, equity: np.ndarray) -> None:
    """Entry/exit markers (SVG groups ``entries-long``, ``entries-short``, ``exits``)."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    groups = _marker_points(trades, times)
    scale = 1.0 if len(trades) <= MANY_TRADES else 0.5
    styles = {"entries-long": ("^", 46), "entries-short": ("v", 46), "exits": ("o", 26)}
    for gid, (marker, size) in styles.items():
        idx, colors = groups[gid]
        if idx:
            ax.scatter(idx, equity[idx], marker=marker, s=size * scale, c=colors, zorder=4, gid=gid)
    closed = [t for t in trades if t.exit_time is not None]
    if closed:
        ends = groups["exits"][0]
        starts = [_bar_index(times, t.entry_time.timestamp()) for t in closed]
        segments = [[(i, equity[i]), (j, equity[j])] for i, j in zip(starts, ends, strict=True)]
        colors = [_outcome_color(t) for t in closed]
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.8, alpha=0.45))
    legend = [
        Line2D([], [], color=EQUITY_COLOR, label="equity"),
        Line2D([], [], ls="", marker="^", color=FLAT_COLOR, label="long entry"),
        Line2D([], [], ls="", marker="v", color=FLAT_COLOR, label="short entry"),
        Line2D([], [], ls="", marker="o", color=FLAT_COLOR, label="exit"),
        Line2D([], [], ls="", marker="s", color=WIN_COLOR, label="winning trade"),
        Line2D([], [], ls="", marker="s", color=LOSS_COLOR, label="losing trade"),
    ]
    ax.figure.legend(handles=legend, loc="outside upper center", fontsize=8, ncols=6)


def _draw(fig: Any, result: BacktestResult, times: np.ndarray, equity: np.ndarray) -> None:
    from matplotlib.ticker import StrMethodFormatter

    ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    x = np.arange(equity.size, dtype=float)
    ax_eq.plot(x, equity, color=EQUITY_COLOR, lw=1.1, marker="o" if equity.size == 1 else "")
    ax_eq.axhline(result.config.initial_capital, color="#999", lw=0.8, ls="--")
    _plot_trades(ax_eq, result.trades, times, equity)
    ax_eq.set_ylabel("Equity (USD)")
    ax_eq.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax_eq.grid(alpha=0.3)
    peaks = np.maximum.accumulate(np.maximum(equity, result.config.initial_capital))
    dd_x, dd = _drawdown_envelope((equity / peaks - 1.0) * 100.0)
    ax_dd.fill_between(dd_x, dd, 0.0, color=LOSS_COLOR, alpha=0.35, lw=0, step="post")
    ax_dd.plot(dd_x, dd, color=LOSS_COLOR, lw=0.7, drawstyle="steps-post")
    ax_dd.set_ylabel("Drawdown (%)")
    ax_dd.grid(alpha=0.3)
    ticks, labels = _session_ticks(times)
    ax_dd.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=8)
    ax_dd.set_xlabel("Session (bar index; overnight gaps removed)")
    fig.align_ylabels()


def render_chart_svg(result: BacktestResult) -> str:
    """Equity curve with trade markers above a drawdown panel, as an ``<svg>`` element.

    Returns ``""`` when the equity curve is empty. Imports matplotlib (slow: ~0.5 s).
    """
    if not result.equity_curve:
        return ""
    import matplotlib
    from matplotlib.figure import Figure

    times = np.array([when.timestamp() for when, _ in result.equity_curve], dtype=float)
    equity = np.array([value for _, value in result.equity_curve], dtype=float)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "vibe-backtest"}):
        fig = Figure(figsize=(12, 6.5), layout="constrained")
        _draw(fig, result, times, equity)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


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


def _trade_row(trade: dict[str, Any]) -> list[str]:
    pnl = trade["pnl"]
    css = "win" if pnl is not None and pnl > 0 else "loss" if pnl is not None and pnl < 0 else ""
    cells = [
        trade["symbol"],
        trade["side"],
        str(trade["quantity"]),
        trade["entry_time"],
        format_number(trade["entry_price"], "", 4),
        trade["exit_time"] or "-",
        format_number(trade["exit_price"], "", 4),
        format_number(pnl, "USD"),
        format_number(trade["pnl_pct"], "%"),
        format_number(trade["fees"], "USD"),
        format_number(trade["slippage_cost"], "USD"),
        trade["exit_reason"] or "open",
    ]
    escaped = [html.escape(cell) for cell in cells]
    escaped[7] = f'<span class="{css}">{escaped[7]}</span>'
    return escaped


def _trades_section(trades: list[dict[str, Any]]) -> str:
    if not trades:
        return '<p class="note">No trades.</p>'
    headers = ["Symbol", "Side", "Qty", "Entry time (UTC)", "Entry", "Exit time (UTC)", "Exit"]
    headers += ["P&amp;L", "P&amp;L %", "Fees", "Slippage", "Exit reason"]
    return _table(headers, [_trade_row(t) for t in trades], left=2)


def _counts_section(counts: dict[str, int], what: str, empty: str) -> str:
    if not counts:
        return f'<p class="note">{html.escape(empty)}</p>'
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [(html.escape(name), str(count)) for name, count in ordered]
    return _table([what, "Count"], rows)


def render_html(result: BacktestResult) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no scripts or links).

    Raises:
        InvalidInputError: a naive timestamp in the result.
    """
    data = result_to_dict(result)
    config = data["config"]
    title = f"Backtest {', '.join(config['symbols'])} {config['start']} to {config['end']}"
    chart = render_chart_svg(result) or '<p class="note">No equity points.</p>'
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _config_section(config),
        f'<h2>Equity and drawdown</h2><div class="chart">{chart}</div>',
        "<h2>Metrics</h2>",
        _metrics_section(data["metrics"]),
        "<h2>Trades by exit reason</h2>",
        _counts_section(exit_reason_counts(result.trades), "Exit reason", "No trades."),
        "<h2>Rejections by rule</h2>",
        _counts_section(data["rejections"], "Rule", "No entries were rejected."),
        f"<h2>Trades ({len(data['trades'])})</h2>",
        _trades_section(data["trades"]),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_html(result: BacktestResult, path: Path) -> Path:
    """Write the HTML report to ``path`` atomically (parent folders created).

    Returns:
        ``path``.

    Raises:
        InvalidInputError: a naive timestamp in the result (nothing is written).
        StorageError: ``path`` cannot be written; the message names it.
    """
    return write_text_atomic(Path(path), render_html(result))
