"""The analysis sections as plain text tables, shared by the console and the HTML report.

Each :class:`TextTable` holds formatted cells (units shown, times in America/New_York
with the zone), built only from the JSON payload's keys
(:func:`~vibe.trading_bot.backtest.report.result_to_dict`, see :mod:`.sections`), so any
renderer gets the same figures the JSON holds. Cells are plain text: a renderer
escapes them for its medium.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vibe.trading_bot.backtest.report import format_number
from vibe.trading_bot.utils.timefmt import ZONE_NAME, et_text

BENCHMARK_NOTE = (
    "Buy and hold: the initial capital split equally between the symbols, each bought at "
    "the open of its first bar (fractional shares, no fees or slippage), marked at every "
    "bar close. Excess: strategy minus buy and hold, in percentage points (pp)."
)


@dataclass(frozen=True, slots=True)
class TextTable:
    """A titled table of text cells; the first ``left`` columns are labels (left-aligned)."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""
    left: int = 1


def duration_text(minutes: float | None) -> str:
    """``262.27`` -> ``4 h 22 min``; under an hour ``35 min``; ``None`` -> ``n/a``."""
    if minutes is None:
        return "n/a"
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _pp(value: float | None) -> str:
    text = format_number(value, "")
    return text if value is None else f"{'+' if value > 0 else ''}{text} pp"


def benchmark_table(data: dict[str, Any]) -> TextTable | None:
    """Strategy against buy and hold: return, max drawdown, final equity, excess."""
    bench = data.get("benchmark")
    if bench is None:
        return None
    metrics = data["metrics"]
    rows = [
        (
            "Total return",
            format_number(metrics["total_return_pct"], "%"),
            format_number(bench["total_return_pct"], "%"),
            _pp(bench["excess_return_pct"]),
        ),
        (
            "Max drawdown",
            format_number(metrics["max_drawdown_pct"], "%"),
            format_number(bench["max_drawdown_pct"], "%"),
            _pp(_minus(metrics["max_drawdown_pct"], bench["max_drawdown_pct"])),
        ),
        (
            "Final equity",
            format_number(metrics["final_equity"], "USD"),
            format_number(bench["final_equity"], "USD"),
            format_number(_minus(metrics["final_equity"], bench["final_equity"]), "USD"),
        ),
    ]
    headers = ("", "Strategy", "Buy and hold", "Strategy - B&H")
    return TextTable("Benchmark (equal-weight buy and hold)", headers, rows, BENCHMARK_NOTE)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _period_cells(period: dict[str, Any] | None) -> tuple[str, ...]:
    if period is None:
        return ("0.00 %", "-", "-", "-", "-", "no drawdown")
    recovery = period["recovery_time"]
    return (
        format_number(period["depth_pct"], "%"),
        et_text(period["peak_time"]),
        format_number(period["peak_equity"], "USD"),
        et_text(period["trough_time"]),
        format_number(period["trough_equity"], "USD"),
        et_text(recovery) if recovery else "not recovered",
    )


_PERIOD_LABELS = ("Depth", "Peak", "Peak equity", "Trough", "Trough equity", "Recovered")


def drawdown_table(data: dict[str, Any]) -> TextTable:
    """The max drawdown's depth, peak, trough and recovery: strategy and buy and hold."""
    columns = [_period_cells(data.get("drawdown"))]
    headers = ["", "Strategy"]
    bench = data.get("benchmark")
    if bench is not None:
        columns.append(_period_cells(bench["drawdown"]))
        headers.append("Buy and hold")
    rows = [(label, *cells) for label, *cells in zip(_PERIOD_LABELS, *columns, strict=True)]
    note = (
        f"Times in {ZONE_NAME}. Peak: last bar close at the high-water mark; recovered: "
        "first bar close back at the peak's equity."
    )
    return TextTable("Max drawdown period", tuple(headers), rows, note)


def _span_text(entry: str, exit_: str | None) -> str:
    """``2025-08-08 10:00-12:25 EDT`` on one day, else both times in full."""
    first, last = et_text(entry), et_text(exit_)
    day, _, rest = last.partition(" ")
    if first.startswith(day + " ") and first.endswith(rest[-3:]):
        return f"{first[:-4]}-{rest}"
    return f"{first} to {last}"


def _trade_text(trade: dict[str, Any] | None) -> str:
    if trade is None:
        return "n/a"
    r_text = "" if trade["r_multiple"] is None else f", {trade['r_multiple']:.2f} R"
    span = _span_text(trade["entry_time"], trade["exit_time"])
    return (
        f"{format_number(trade['pnl'], 'USD')} ({format_number(trade['pnl_pct'], '%')}{r_text})"
        f", {trade['symbol']} {trade['side']}, {span}"
    )


def _day_text(day: dict[str, Any] | None) -> str:
    if day is None:
        return "n/a"
    return (
        f"{format_number(day['pnl'], 'USD')} ({format_number(day['return_pct'], '%')}) "
        f"on {day['date']}"
    )


def trade_stats_table(data: dict[str, Any]) -> TextTable:
    """Best/worst trade and day, durations, streaks, average R-multiple."""
    stats = data["trade_stats"]
    r_count = stats["r_multiple_trades"]
    avg_r = stats["avg_r_multiple"]
    rows = [
        ("Best trade", _trade_text(stats["best_trade"])),
        ("Worst trade", _trade_text(stats["worst_trade"])),
        ("Best day", _day_text(stats["best_day"])),
        ("Worst day", _day_text(stats["worst_day"])),
        ("Average duration, winners", duration_text(stats["avg_win_minutes"])),
        ("Average duration, losers", duration_text(stats["avg_loss_minutes"])),
        ("Longest winning streak", f"{stats['longest_win_streak']} trades"),
        ("Longest losing streak", f"{stats['longest_loss_streak']} trades"),
        (
            "Average R-multiple",
            "n/a" if avg_r is None else f"{avg_r:.2f} R over {r_count} trades",
        ),
    ]
    note = (
        f"P&L net of fees; times in {ZONE_NAME}; days by equity change (open positions "
        "marked); R = |entry - initial stop| x shares."
    )
    return TextTable("Trade statistics", ("", "Value"), rows, note, left=2)


def _group_cells(row: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(row["trades"]),
        format_number(row["win_rate_pct"], "%"),
        format_number(row["net_pnl"], "USD"),
    )


def symbol_table(data: dict[str, Any]) -> TextTable:
    """Per symbol: trades, win rate, net P&L, profit factor, buy-and-hold return."""
    rows = [
        (
            row["symbol"],
            *_group_cells(row),
            format_number(row["profit_factor"], ""),
            format_number(row["buy_and_hold_return_pct"], "%"),
        )
        for row in data["breakdown"]["by_symbol"]
    ]
    headers = ("Symbol", "Trades", "Win rate", "Net P&L", "Profit factor", "Buy and hold")
    return TextTable("By symbol", headers, rows)


def month_table(data: dict[str, Any]) -> TextTable:
    """Per month of exit (New York time): trades, win rate, net P&L."""
    rows = [(row["month"], *_group_cells(row)) for row in data["breakdown"]["by_month"]]
    note = f"By the month of the exit, {ZONE_NAME}."
    return TextTable("By month", ("Month", "Trades", "Win rate", "Net P&L"), rows, note)


def weekday_table(data: dict[str, Any]) -> TextTable:
    """Per weekday of exit (New York time): trades, win rate, net P&L."""
    rows = [(row["weekday"], *_group_cells(row)) for row in data["breakdown"]["by_weekday"]]
    note = f"By the weekday of the exit, {ZONE_NAME}."
    return TextTable("By weekday", ("Weekday", "Trades", "Win rate", "Net P&L"), rows, note)


def analysis_tables(data: dict[str, Any]) -> list[TextTable]:
    """Every analysis table, in report order (the benchmark only when there is one)."""
    tables = [benchmark_table(data), drawdown_table(data), trade_stats_table(data)]
    tables += [symbol_table(data), month_table(data), weekday_table(data)]
    return [table for table in tables if table is not None]
