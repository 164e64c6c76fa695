"""End-of-backtest summary on the console (rich tables)."""

from __future__ import annotations

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
)

TOP_REJECTIONS = 5


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


def print_summary(result: BacktestResult, console: Console) -> None:
    """Print the metrics table, trades per exit reason and the top 5 rejection rules.

    Symbols and rule names are printed literally (no rich markup is interpreted).
    """
    console.print(_header(result))
    console.print(_metrics_table(result))
    reasons = list(exit_reason_counts(result.trades).items())
    if reasons:
        console.print(_counts_table("Trades by exit reason", "Exit reason", reasons))
    rejections = sorted(result.rejections.items(), key=lambda item: (-item[1], item[0]))
    if rejections:
        top = rejections[:TOP_REJECTIONS]
        title = "Top rejections" if len(rejections) > TOP_REJECTIONS else "Rejections"
        console.print(_counts_table(title, "Rule", top))
