"""The SQL behind the dashboard API: blocking reads, run in the API's reader pool.

Every function takes read-only stores (see :class:`~.context.StoreReader`) and
returns domain records; nothing here writes. Cursors for the event stream are
SQLite ``rowid``/``id`` values, which only grow: a fill's ``rowid`` in
``trades.db`` (a closed trade travels with the fill that closed it), a log
line's ``id`` in ``logs.db``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vibe.common.models import Fill, Trade
from vibe.trading_bot.core.health_reporter import STATE_CHANGED
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.sqlite import from_iso, to_iso
from vibe.trading_bot.storage.trade_schema import row_to_fill, row_to_trade
from vibe.trading_bot.storage.trade_store import TradeStore

HEALTH_CHANGE_MESSAGE = STATE_CHANGED  # the log line of every health state change
_CLOSED_BETWEEN = (
    "SELECT * FROM trades WHERE status = 'closed' AND exit_time >= ? AND exit_time <= ?"
)


#: One trade as the JSON of :class:`~vibe.trading_bot.api.schemas.TradeOut`, built by SQLite
#: (P&L as :class:`~vibe.common.models.Trade` computes it: gross minus fees, USD).
_TRADE_JSON = """json_object(
    'id', id, 'symbol', symbol, 'side', side, 'quantity', quantity,
    'entry_time', entry_time, 'entry_price', entry_price,
    'exit_time', exit_time, 'exit_price', exit_price, 'status', status,
    'pnl_usd', CASE WHEN exit_price IS NULL THEN NULL ELSE round(
        (exit_price - entry_price) * quantity * (CASE side WHEN 'long' THEN 1 ELSE -1 END)
        - fees, 2) END,
    'pnl_pct', CASE WHEN exit_price IS NULL THEN NULL ELSE round(
        ((exit_price - entry_price) * quantity * (CASE side WHEN 'long' THEN 1 ELSE -1 END)
        - fees) / (entry_price * quantity) * 100.0, 4) END,
    'fees_usd', round(fees, 2), 'slippage_cost_usd', round(slippage_cost, 2),
    'exit_reason', exit_reason, 'strategy', strategy)"""


def recent_trades_json(
    store: TradeStore, symbol: str | None, since: datetime | None, limit: int
) -> str:
    """Trades entered at or after ``since`` (oldest ``limit``), else the newest ``limit``.

    Oldest entry first either way, as one JSON array of
    :class:`~vibe.trading_bot.api.schemas.TradeOut` objects built by SQLite: no
    Python object per row, so 500 trades cost about as much as one.
    """
    clauses, params = [], []
    if symbol is not None:
        clauses.append("symbol = ?")
        params.append(symbol)
    if since is not None:
        clauses.append("entry_time >= ?")
        params.append(to_iso(since))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    newest = since is None
    order = "entry_time DESC, id DESC" if newest else "entry_time, id"
    # where/order: fixed text above; values are bound parameters
    sql = (
        f"SELECT json_group_array(json(doc)) FROM (SELECT doc FROM (SELECT {_TRADE_JSON} AS doc, "  # noqa: S608
        f"entry_time, id FROM trades {where} ORDER BY {order} LIMIT ?) "
        "ORDER BY entry_time, id)"
    )
    return str(store.db.query(sql, [*params, limit])[0][0])


def fees_before(store: TradeStore, start: datetime) -> float:
    """Commissions (USD) of the fills before ``start``."""
    rows = store.db.query(
        "SELECT COALESCE(SUM(commission), 0) FROM fills WHERE timestamp < ?", (to_iso(start),)
    )
    return float(rows[0][0])


@dataclass(frozen=True, slots=True)
class StoredFill:
    """A fill with its place in ``trades.db`` and the trade it closed, if any.

    Attributes:
        rowid: the fill's ``rowid`` (grows with every fill stored).
        fill: the fill.
        closed: the round trip this fill closed (its last exit fill), else ``None``.
    """

    rowid: int
    fill: Fill
    closed: Trade | None


def fills_after(store: TradeStore, rowid: int, limit: int) -> list[StoredFill]:
    """Fills stored after ``rowid`` (at most ``limit``, in storing order), each with its close.

    One read transaction: a fill and the trade update it causes are committed
    together (one unit of work in the executor), so a fill read here comes with
    its trade closed. A trade is matched to the fill that closed it by symbol
    and exit time (the trade's exit time is its last exit fill's time).
    """
    conn = store.db.connection()
    conn.execute("BEGIN")
    try:
        rows = conn.execute(
            "SELECT rowid AS seq, * FROM fills WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (rowid, limit),
        ).fetchall()
        times = sorted({row["timestamp"] for row in rows})
        closed = conn.execute(_CLOSED_BETWEEN, (times[0], times[-1])).fetchall() if times else []
    finally:
        conn.execute("COMMIT")
    by_exit = {(t.symbol, t.exit_time): t for t in map(row_to_trade, closed)}
    found = []
    for row in reversed(rows):  # a trade goes with the last of its exit fills
        fill = row_to_fill(row)
        trade = by_exit.pop((fill.symbol, fill.timestamp), None)
        found.append(StoredFill(int(row["seq"]), fill, trade))
    found.reverse()
    return found


def last_fill_rowid(store: TradeStore) -> int:
    """The newest fill's ``rowid`` (0 when there is none)."""
    return int(store.db.query("SELECT COALESCE(MAX(rowid), 0) FROM fills")[0][0])


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A component's state change, as logged.

    Attributes:
        id: the log line's id in ``logs.db``.
        at: when (trading clock, tz-aware UTC).
        component: the component's name.
        previous: its state before.
        state: its new state.
        reason: why (redacted as logged).
    """

    id: int
    at: datetime
    component: str
    previous: str
    state: str
    reason: str


def health_changes_after(store: LogStore, line_id: int, limit: int) -> list[HealthChange]:
    """Health state changes logged after log line ``line_id``, oldest first."""
    rows = store.db.query(
        "SELECT id, timestamp, extra_data FROM service_logs WHERE id > ? AND message = ? "
        "ORDER BY id LIMIT ?",
        (line_id, HEALTH_CHANGE_MESSAGE, limit),
    )
    changes = []
    for row in rows:
        extra: dict[str, Any] = json.loads(row["extra_data"])
        changes.append(
            HealthChange(
                int(row["id"]),
                from_iso(row["timestamp"]),
                str(extra.get("component", "")),
                str(extra.get("previous", "")),
                str(extra.get("state", "")),
                str(extra.get("reason", "")),
            )
        )
    return changes


def last_log_id(store: LogStore) -> int:
    """The newest log line's id (0 when the log is empty)."""
    return int(store.db.query("SELECT COALESCE(MAX(id), 0) FROM service_logs")[0][0])


def last_health_id(store: LogStore, after: int) -> int:
    """Id of the newest health change logged (``after`` when none is newer than it).

    Only lines after ``after`` are scanned (a range of the primary key).
    """
    rows = store.db.query(
        "SELECT MAX(id) FROM service_logs WHERE id > ? AND message = ?",
        (after, HEALTH_CHANGE_MESSAGE),
    )
    found = rows[0][0]
    return after if found is None else int(found)


def daily_figures(store: MetricsStore, limit: int) -> dict[str, dict[str, float]]:
    """``session (ISO date) -> metric name -> value`` of the last ``limit`` sessions."""
    rows = store.db.query(
        "SELECT metric_name, metric_value, json_extract(dimensions, '$.session') AS session "
        "FROM metrics WHERE metric_type = 'daily' AND session IN ("
        "SELECT DISTINCT json_extract(dimensions, '$.session') AS s FROM metrics "
        "WHERE metric_type = 'daily' ORDER BY s DESC LIMIT ?)",
        (limit,),
    )
    sessions: dict[str, dict[str, float]] = {}
    for row in rows:
        sessions.setdefault(str(row["session"]), {})[row["metric_name"]] = float(
            row["metric_value"]
        )
    return dict(sorted(sessions.items()))
