"""End-of-backtest summary on the console (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vibe.trading_bot.backtest.report import (
    METRIC_LABELS,
    BacktestResult,
    exit_reason_counts,
    format_metric,
    format_number,
    metrics_dict,
    result_to_dict,
)
from vibe.trading_bot.backtest.summary_tables import TextTable, analysis_tables


def _header(result: BacktestResult) -> Text:
    config = result.config
    return Text(
        f"Backtest {', '.join(config.symbols)} {config.start.isoformat()} to "
        f"{config.end.isoformat()} ({config.timeframe}), initial capital "
        f"{format_number(config.initial_capital, 'USD')}",
        style="bold",
    )


def _metrics_table(result: BacktestResult) -> Table:
    table = Table(title="Metrics", title_justify="left")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for key, value in metrics_dict(result.metrics).items():
        table.add_row(METRIC_LABELS.get(key, (key, ""))[0], format_metric(key, value))
    return table


def _counts_table(title: str, column: str, counts: list[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(column)
    table.add_column("Count", justify="right")
    for name, count in counts:
        table.add_row(Text(name), f"{count:,}")
    return table


def _rejections_table(rejections: dict[str, int]) -> Table:
    from vibe.trading_bot.core.entry_rejections import stage_of

    table = Table(title="Rejected entries", title_justify="left")
    table.add_column("Rule")
    table.add_column("Refused by")
    table.add_column("Count", justify="right")
    for rule, count in sorted(rejections.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(Text(rule), stage_of(rule).value, f"{count:,}")
    return table


def _text_table(spec: TextTable) -> Table:
    table = Table(title=spec.title, title_justify="left", caption=spec.note or None)
    table.caption_justify = "left"
    for i, header in enumerate(spec.headers):
        table.add_column(header, justify="left" if i < spec.left else "right")
    for row in spec.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def print_summary(
    result: BacktestResult, console: Console, payload: dict[str, Any] | None = None
) -> None:
    """Print the metrics, the analysis tables, trades per exit reason and refused entries.

    The analysis tables (:mod:`.summary_tables`): strategy against equal-weight buy and
    hold, the max drawdown's peak, trough and recovery (America/New_York time, zone
    shown), trade statistics, and the trades by symbol, month and weekday. Refused
    entries are those of the strategy's rules, the risk manager and the venue, each
    with who refused it (see :mod:`vibe.trading_bot.core.entry_rejections`).

    ``payload``: ``result_to_dict(result)`` when the caller has it already.
    Symbols and rule names are printed literally (no rich markup is interpreted).
    """
    data = result_to_dict(result) if payload is None else payload
    console.print(_header(result))
    console.print(_metrics_table(result))
    for spec in analysis_tables(data):
        console.print(_text_table(spec))
    reasons = list(exit_reason_counts(result.trades).items())
    if reasons:
        console.print(_counts_table("Trades by exit reason", "Exit reason", reasons))
    if result.rejections:
        console.print(_rejections_table(result.rejections))
