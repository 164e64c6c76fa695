"""HTML tables of the backtest report, some sortable in the browser.

A sortable table has ``class="sortable"``; the page's ``sortable_tables.js`` sorts its
rows when a header is clicked. A cell's sort key is its ``data-v`` attribute (a number,
or ``""`` for a figure that is n/a, which sorts last); a cell without ``data-v`` sorts
by its text (times are ``YYYY-MM-DD HH:MM`` New York text, which sorts in time order).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from vibe.trading_bot.backtest.report import format_number
from vibe.trading_bot.backtest.summary_tables import TextTable
from vibe.trading_bot.utils.timefmt import et_text

#: a cell's sort key: a number, ``""`` (n/a: sorts last) or ``None`` (sort by the text)
SortKey = float | int | str | None

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: analysis table title -> (breakdown key, the raw field behind each column)
_BREAKDOWN_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "By symbol": (
        "by_symbol",
        ("symbol", "trades", "win_rate_pct", "net_pnl", "profit_factor", "buy_and_hold_return_pct"),
    ),
    "By month": ("by_month", ("month", "trades", "win_rate_pct", "net_pnl")),
    "By weekday": ("by_weekday", ("weekday", "trades", "win_rate_pct", "net_pnl")),
}


def _attribute(key: SortKey) -> str:
    if key is None:
        return ""
    return f' data-v="{html.escape(str(key))}"'


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: int = 1,
    *,
    keys: Sequence[Sequence[SortKey]] | None = None,
    row_attributes: Sequence[str] | None = None,
    table_id: str = "",
) -> str:
    """An HTML table; the first ``left`` columns are left-aligned. Cells must be escaped.

    Args:
        headers: escaped header HTML.
        rows: escaped cell HTML, one sequence per row.
        left: how many leading columns are labels (left-aligned).
        keys: each row's sort keys (same shape as ``rows``); given: the table is sortable.
        row_attributes: extra attribute text of each ``<tr>`` (e.g. ``' data-trade="3"'``).
        table_id: the table's ``id``, or ``""``.
    """

    def cls(i: int) -> str:
        return ' class="l"' if i < left else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        row_keys: Sequence[SortKey] = keys[r] if keys is not None else [None] * len(row)
        cells = "".join(
            f"<td{cls(i)}{_attribute(key)}>{cell}</td>"
            for i, (cell, key) in enumerate(zip(row, row_keys, strict=True))
        )
        extra = row_attributes[r] if row_attributes is not None else ""
        body.append(f"<tr{extra}>{cells}</tr>")
    attributes = f' id="{html.escape(table_id)}"' if table_id else ""
    attributes += ' class="sortable"' if keys is not None else ""
    rows_html = "".join(body)
    return f"<table{attributes}><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>"


def _number_key(value: Any) -> SortKey:
    return "" if value is None else value


def _breakdown_keys(spec: TextTable, data: dict[str, Any]) -> list[list[SortKey]] | None:
    columns = _BREAKDOWN_COLUMNS.get(spec.title)
    if columns is None:
        return None
    section, fields = columns
    keys: list[list[SortKey]] = []
    for row in data["breakdown"][section]:
        label = row[fields[0]]
        first: SortKey = _WEEKDAYS.index(label) if label in _WEEKDAYS else None
        keys.append([first, *(_number_key(row[name]) for name in fields[1:])])
    return keys if len(keys) == len(spec.rows) else None


def text_table(spec: TextTable, data: dict[str, Any]) -> str:
    """An analysis table: ``<h2>`` title, the table (sortable for the breakdowns), its note."""
    rows = [[html.escape(cell) for cell in row] for row in spec.rows]
    headers = [html.escape(header) for header in spec.headers]
    note = f'<p class="note">{html.escape(spec.note)}</p>' if spec.note else ""
    keys = _breakdown_keys(spec, data)
    return f"<h2>{html.escape(spec.title)}</h2>\n{table(headers, rows, spec.left, keys=keys)}{note}"


_TRADE_HEADERS: tuple[str, ...] = ("Symbol", "Side", "Qty", "Entry time", "Entry", "Exit time")
_TRADE_HEADERS += ("Exit", "P&amp;L", "P&amp;L %", "Fees", "Slippage", "Exit reason")
_TRADE_HEADERS += ("Initial stop", "R")
_TRADE_NUMBERS: tuple[str, ...] = ("entry_price", "exit_price", "pnl", "pnl_pct", "fees")
_TRADE_NUMBERS += ("slippage_cost", "initial_stop", "r_multiple")


def _trade_row(trade: dict[str, Any]) -> tuple[list[str], list[SortKey]]:
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
    n = {name: _number_key(trade[name]) for name in _TRADE_NUMBERS}
    keys: list[SortKey] = [None, None, trade["quantity"], None, n["entry_price"], None]
    keys += [n["exit_price"], n["pnl"], n["pnl_pct"], n["fees"], n["slippage_cost"], None]
    keys += [n["initial_stop"], n["r_multiple"]]
    escaped = [html.escape(cell) for cell in cells]
    escaped[7] = f'<span class="{css}">{escaped[7]}</span>'
    return escaped, keys


def trades_table(trades: list[dict[str, Any]]) -> str:
    """Every trade, sortable; a row's ``data-trade`` is its index in the payload's trades."""
    if not trades:
        return '<p class="note">No trades.</p>'
    built = [_trade_row(trade) for trade in trades]
    rows = [cells for cells, _ in built]
    keys = [row_keys for _, row_keys in built]
    attributes = [f' data-trade="{i}" title="Show on the price chart"' for i in range(len(trades))]
    return table(_TRADE_HEADERS, rows, 2, keys=keys, row_attributes=attributes, table_id="trades")


def counts_table(counts: dict[str, int], what: str, empty: str) -> str:
    """``name -> count`` as a two-column table, most frequent first; ``empty`` when none."""
    if not counts:
        return f'<p class="note">{html.escape(empty)}</p>'
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [(html.escape(name), str(count)) for name, count in ordered]
    return table([what, "Count"], rows)
