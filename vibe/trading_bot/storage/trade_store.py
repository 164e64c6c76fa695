"""TradeStore: round-trip trades, orders, order status history and fills in ``trades.db``.

Every write is one ``BEGIN IMMEDIATE`` transaction on the shared
:class:`~vibe.trading_bot.storage.sqlite.SQLiteDatabase` (WAL, ``synchronous=NORMAL``:
a committed write survives ``kill -9``; only an OS crash or power cut can lose the
last commits). When a method returns, its rows are committed, unless the caller
opened :meth:`TradeStore.batch`: then every write of that thread inside the block
joins one transaction, committed when the block ends, or rolled back entirely.
Methods are blocking: call them from async code through ``asyncio.to_thread``.

Checkpoints: by default the file is opened with ``wal_autocheckpoint=0`` and a
:class:`~vibe.trading_bot.storage.wal_checkpointer.WalCheckpointer` moves the WAL
into the database from a background thread when the writer is quiet, so that no
commit on the trading path pays for a checkpoint's fsyncs; the WAL is capped at
``max_wal_bytes`` (one inline checkpoint when a burst reaches it).
:meth:`TradeStore.checkpoint` runs one on demand (e.g. at the end of a session).

Input is validated before anything is written: a NaN or non-positive price, a
quantity that is not a positive whole number, or a naive datetime raises
:class:`~vibe.common.errors.InvalidInputError` naming the value, and the file is
left unchanged.

why-large: the one gateway to ``trades.db``: trades, orders and fills share one schema,
one connection and one batching transaction; each method is a query of a few lines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from vibe.common.clock import Clock, LiveClock
from vibe.common.errors import InvalidInputError
from vibe.common.models import (
    Fill,
    Order,
    OrderStatus,
    Position,
    Trade,
    require_quantity,
)
from vibe.trading_bot.storage.order_rows import INSERT_FILL, OrderRows
from vibe.trading_bot.storage.sqlite import (
    DEFAULT_BUSY_TIMEOUT_MS,
    SQLiteDatabase,
    SQLiteStore,
    from_iso,
    store_path,
    to_iso,
    translate_error,
)
from vibe.trading_bot.storage.trade_schema import (
    OPEN_STATUSES_SQL,
    SCRATCH_DROPPED_INDEXES,
    TRADE_MIGRATIONS,
    UPDATABLE_TRADE_FIELDS,
    fill_values,
    row_to_fill,
    row_to_order,
    row_to_trade,
    trade_values,
    validate_fill,
    validate_trade,
)
from vibe.trading_bot.storage.unit_of_work import BatchBlock, UnitOfWork
from vibe.trading_bot.storage.wal_checkpointer import (
    DEFAULT_MAX_WAL_BYTES,
    DEFAULT_WAKE_BYTES,
    WalCheckpointer,
)

DEFAULT_FILENAME = "trades.db"
DEFAULT_PAGE_SIZE = 1024

_INSERT_TRADE = """
INSERT INTO trades (
    symbol, side, quantity, entry_price, exit_price, entry_time, exit_time, status,
    pnl, pnl_pct, fees, slippage_cost, exit_reason, strategy, created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_UPDATE_TRADE = """
UPDATE trades SET
    symbol = ?, side = ?, quantity = ?, entry_price = ?, exit_price = ?, entry_time = ?,
    exit_time = ?, status = ?, pnl = ?, pnl_pct = ?, fees = ?, slippage_cost = ?,
    exit_reason = ?, strategy = ?, updated_at = ?
WHERE id = ?
"""
_PNL_STATS = """
SELECT count(*), coalesce(sum(pnl > 0), 0), coalesce(sum(pnl < 0), 0),
    coalesce(sum(pnl), 0.0), max(pnl), min(pnl),
    coalesce(sum(CASE WHEN pnl > 0 THEN pnl END), 0.0),
    coalesce(-sum(CASE WHEN pnl < 0 THEN pnl END), 0.0)
FROM trades"""
# the WHERE matches the partial index idx_orders_open (schema version 2)
_OPEN_ORDERS = f"SELECT * FROM orders WHERE status IN {OPEN_STATUSES_SQL} ORDER BY created_at, id"  # noqa: S608


class TradeStatus(StrEnum):
    """Whether a trade's exit is known."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PnLStats:
    """Realized P&L over closed trades (open trades are not counted).

    Attributes:
        count: closed trades.
        wins: trades with net P&L > 0.
        losses: trades with net P&L < 0 (break-even trades are neither).
        win_rate: ``wins / count`` as a fraction in [0, 1]; 0.0 with no trades.
        total_pnl: sum of net P&L in USD.
        avg_pnl: mean net P&L per trade in USD; 0.0 with no trades.
        best_pnl: largest net P&L in USD; ``None`` with no trades.
        worst_pnl: smallest net P&L in USD; ``None`` with no trades.
        gross_profit: sum of winning P&L in USD.
        gross_loss: absolute sum of losing P&L in USD (>= 0).
        profit_factor: ``gross_profit / gross_loss`` (freqtrade's definition); ``None``
            when there is no losing trade (the ratio is undefined).
    """

    count: int
    wins: int
    losses: int
    win_rate: float
    total_pnl: float
    avg_pnl: float
    best_pnl: float | None
    worst_pnl: float | None
    gross_profit: float
    gross_loss: float
    profit_factor: float | None


class TradeStore(SQLiteStore):
    """Trades, orders and fills in one SQLite file (default ``DATA_DIR/trades.db``).

    Args:
        path: the database file (created with its parent folder when missing); or
            give it as ``db_path=`` (``TradeStore(db_path="./data/trades.db")``).
        clock: source of the ``created_at`` / ``updated_at`` record times (and of the
            exit time that ``update_trade(..., status="closed")`` fills in); default
            :class:`~vibe.common.clock.LiveClock` (the wall clock, UTC).
        busy_timeout_ms: how long a writer waits for the file lock, in milliseconds.
        checkpoint_wake_bytes: WAL growth (bytes) that asks for a background checkpoint
            (run once the writer is quiet); ``None`` keeps SQLite's automatic
            checkpoint in the committing thread instead.
        max_wal_bytes: WAL file size (bytes) at which a commit checkpoints inline
            (>= ``checkpoint_wake_bytes``).
        page_size: bytes per page of a new file (1 KiB: the rows are small, and a
            commit writes whole pages to the WAL); an existing file keeps its own.
        read_only: open an existing file for reading only (``show-status``; no
            checkpointer, every write raises :class:`StorageError`).
        db_path: the database file, as a keyword (instead of ``path``).
        scratch: a file thrown away after the run (a backtest's): never synced to
            the disk (:class:`~vibe.trading_bot.storage.sqlite.SQLiteDatabase`), and
            without the daemon's order indexes
            (:data:`~.trade_schema.SCRATCH_DROPPED_INDEXES`: same rows, cheaper writes).

    Raises:
        StorageError: the file exists but is not a readable database of this bot
            (read-only: or it is missing).
        InvalidInputError: no file given, ``path`` and ``db_path`` differ, a checkpoint
            threshold below 1, or the cap below the wake size.
    """

    FILENAME = DEFAULT_FILENAME
    MIGRATIONS = TRADE_MIGRATIONS

    def __init__(  # noqa: PLR0913 - the documented seed API plus one option each
        self,
        path: Path | str | None = None,
        clock: Clock | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        checkpoint_wake_bytes: int | None = DEFAULT_WAKE_BYTES,
        max_wal_bytes: int = DEFAULT_MAX_WAL_BYTES,
        page_size: int = DEFAULT_PAGE_SIZE,
        *,
        read_only: bool = False,
        db_path: Path | str | None = None,
        scratch: bool = False,
    ) -> None:
        file = store_path(path, db_path, DEFAULT_FILENAME)
        if read_only:
            checkpoint_wake_bytes = None
        background = checkpoint_wake_bytes is not None
        self.db = SQLiteDatabase(
            file,
            TRADE_MIGRATIONS,
            busy_timeout_ms,
            wal_autocheckpoint=0 if background else None,
            page_size=page_size,
            journal_size_limit=checkpoint_wake_bytes,
            read_only=read_only,
            scratch=scratch,
        )
        self.checkpointer: WalCheckpointer | None = None
        if checkpoint_wake_bytes is not None:
            try:
                self.checkpointer = WalCheckpointer(self.db, checkpoint_wake_bytes, max_wal_bytes)
            except InvalidInputError:
                self.db.close()
                raise
        self._clock: Clock = clock if clock is not None else LiveClock()
        self._work = UnitOfWork(self.db, self.checkpointer)
        self._rows = OrderRows()
        if scratch:
            self._drop_daemon_indexes()

    def _drop_daemon_indexes(self) -> None:
        """Drop :data:`SCRATCH_DROPPED_INDEXES` (a scratch file's writes skip them)."""
        with self._work.batch() as batch:
            for name in SCRATCH_DROPPED_INDEXES:
                self._work.execute(batch, f"DROP INDEX IF EXISTS {name}")

    # ----------------------------------------------------- transactions, WAL

    def batch(self) -> BatchBlock:
        """Run every write of this thread inside the block in one transaction.

        Re-entrant (an inner block joins the outer one). The writes are committed
        when the outermost block ends, or all rolled back when an exception leaves
        it. Reads inside the block see the block's own writes.

        Returns:
            The block (``with store.batch(): ...``).

        Raises:
            StorageError | TemporaryError: the commit failed (nothing was written).
        """
        return self._work.batch()

    def flush(self) -> None:
        """Commit the writes of this thread's open :meth:`batch` now (no-op outside one).

        Raises:
            StorageError | TemporaryError: the commit failed.
        """
        self._work.flush()

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy the WAL into the database now (``PASSIVE``), e.g. at the end of a session.

        Returns:
            ``(busy, wal_frames, checkpointed_frames)``.

        Raises:
            StorageError | TemporaryError: translated SQLite errors.
        """
        if self.checkpointer is not None:
            return self.checkpointer.checkpoint()
        return self.db.checkpoint()

    def close(self) -> None:
        """Stop the background checkpoints, checkpoint and close the file. Idempotent."""
        if self.checkpointer is not None:
            self.checkpointer.close()
        self._rows.forget()
        self.db.close()

    # ----------------------------------------------------------------- trades

    def insert_trade(self, trade: Trade) -> int:
        """Store a new trade and return its id (also set on ``trade.id``).

        ``pnl`` and ``pnl_pct`` are taken from the trade's properties.

        Raises:
            InvalidInputError: bad values (see :func:`validate_trade`) or the trade already
                has an id (it was stored before); nothing is written.
            StorageError | TemporaryError: the write failed (rolled back).
        """
        if trade.id is not None:
            raise InvalidInputError(
                f"trade {trade.symbol} already has id={trade.id!r} (stored); "
                "use update_trade to change it"
            )
        checked = validate_trade(trade)
        now = to_iso(self._clock.now())
        cursor = self._work.run(_INSERT_TRADE, (*trade_values(checked), now, now))
        trade_id = int(cursor.lastrowid or 0)
        trade.id = trade_id
        return trade_id

    def update_trade(
        self, trade_id: int, status: TradeStatus | str | None = None, **fields: Any
    ) -> Trade:
        """Change fields of a stored trade (e.g. ``exit_price=``, ``exit_time=``, ``fees=``).

        The row is read, changed and re-validated inside one transaction; ``status``,
        ``pnl`` and ``pnl_pct`` are recomputed from the exit fields (a trade is
        closed exactly when its exit price is known). Allowed fields:
        :data:`~vibe.trading_bot.storage.trade_schema.UPDATABLE_TRADE_FIELDS`.

        ``status`` may be given too, as a statement of what the update means, and is
        checked against the exit fields after the update:

        * ``"closed"`` needs an exit price (USD per share, given or already stored);
          when no exit time is given or stored it is the store clock's now, so
          ``update_trade(trade_id, exit_price=155.0, status="closed")`` closes the
          trade at 155.0 now;
        * ``"open"`` needs no exit: reopen a trade with ``exit_price=None,
          exit_time=None``.

        Returns:
            The trade as stored after the update.

        Raises:
            InvalidInputError: unknown field, bad value, no trade with this id, an
                unknown status, or a status the exit fields contradict (the message
                names the missing or extra field); nothing is written.
            StorageError | TemporaryError: the write failed (rolled back).
        """
        unknown = sorted(set(fields) - UPDATABLE_TRADE_FIELDS)
        if unknown:
            raise InvalidInputError(
                f"cannot update trade field(s) {unknown}; expected some of "
                f"{sorted(UPDATABLE_TRADE_FIELDS)} (and status)"
            )
        wanted = None if status is None else _enum(TradeStatus, status, "status")
        with self._work.batch() as batch:
            row = self._work.execute(
                batch, "SELECT * FROM trades WHERE id = ?", (trade_id,)
            ).fetchone()
            if row is None:
                raise InvalidInputError(f"trade id={trade_id!r} not found in {self.path}")
            changed = replace(row_to_trade(row), **fields)
            if wanted is not None:
                changed = self._with_status(trade_id, changed, wanted)
            updated = validate_trade(changed)
            self._work.execute(
                batch, _UPDATE_TRADE, (*trade_values(updated), to_iso(self._clock.now()), trade_id)
            )
        return updated

    def _with_status(self, trade_id: int, trade: Trade, status: TradeStatus) -> Trade:
        """``trade`` made consistent with ``status``, or the error naming the field at odds."""
        if status is TradeStatus.CLOSED:
            if trade.exit_price is None:
                raise InvalidInputError(
                    f"trade id={trade_id}: status='closed' needs exit_price (USD per share); "
                    "it is missing: pass exit_price=..."
                )
            if trade.exit_time is None:
                return replace(trade, exit_time=self._clock.now())
            return trade
        extra = [name for name in ("exit_price", "exit_time") if getattr(trade, name) is not None]
        if extra:
            raise InvalidInputError(
                f"trade id={trade_id}: status='open' but {' and '.join(extra)} is set; "
                f"pass {', '.join(f'{name}=None' for name in extra)} to reopen it"
            )
        return trade

    def get_trade(self, trade_id: int) -> Trade | None:
        """The trade with this id, or ``None``."""
        rows = self.db.query("SELECT * FROM trades WHERE id = ?", (trade_id,))
        return row_to_trade(rows[0]) if rows else None

    def get_trades(
        self,
        symbol: str | None = None,
        status: TradeStatus | str | None = None,
        strategy: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Trade]:
        """Trades matching every given filter, oldest entry first.

        Args:
            symbol: ticker.
            status: ``open`` or ``closed``.
            strategy: strategy name.
            start: entry time >= start (tz-aware).
            end: entry time < end (tz-aware).
            limit: at most this many (the oldest ones), > 0.

        Raises:
            InvalidInputError: unknown status, naive datetime or a limit <= 0.
        """
        where, params = _trade_filters(symbol, status, strategy, start, end)
        # where: fixed column names from _trade_filters; values are bound parameters
        sql = "SELECT * FROM trades" + where + " ORDER BY entry_time, id"  # noqa: S608
        if limit is not None:
            require_quantity("limit", limit)
            sql += " LIMIT ?"
            params.append(limit)
        return [row_to_trade(row) for row in self.db.query(sql, params)]

    def count_entries(self, start: datetime, split: datetime) -> tuple[int, int]:
        """``(entries in [start, split), entries at or after split)`` by entry time.

        One indexed aggregate query, no rows built (the per-session day-trade count).

        Raises:
            InvalidInputError: a naive datetime.
        """
        lo, mid = to_iso(start), to_iso(split)
        sql = (
            "SELECT COALESCE(SUM(entry_time < ?), 0), COALESCE(SUM(entry_time >= ?), 0) "
            "FROM trades WHERE entry_time >= ?"
        )
        (before, after), *_ = self.db.query(sql, (mid, mid, lo))
        return int(before), int(after)

    def get_pnl_stats(self, symbol: str | None = None, strategy: str | None = None) -> PnLStats:
        """P&L statistics over closed trades, optionally for one symbol and/or strategy."""
        where, params = _trade_filters(symbol, TradeStatus.CLOSED, strategy, None, None)
        row = self.db.query(_PNL_STATS + where, params)[0]
        count, wins, losses, total, best, worst, profit, loss = tuple(row)
        return PnLStats(
            count=count,
            wins=wins,
            losses=losses,
            win_rate=wins / count if count else 0.0,
            total_pnl=total,
            avg_pnl=total / count if count else 0.0,
            best_pnl=best,
            worst_pnl=worst,
            gross_profit=profit,
            gross_loss=loss,
            profit_factor=profit / loss if loss > 0 else None,
        )

    # ---------------------------------------------------------- orders, fills

    def upsert_order(self, order: Order) -> None:
        """Insert or update an order with its status history and fills, in one transaction.

        History entries and fills already stored are kept (idempotent).

        Raises:
            InvalidInputError: bad order or fill values; nothing is written.
            StorageError: e.g. another order already uses this ``client_order_id``.
        """
        self.upsert_orders((order,))

    def upsert_orders(self, orders: Iterable[Order]) -> None:
        """Store several orders (see :meth:`upsert_order`) in one transaction: all or none.

        Every order is checked before anything is written. After the first write of
        an order, later writes only add what changed (see
        :mod:`~vibe.trading_bot.storage.order_rows`).

        Raises:
            InvalidInputError: a bad order or fill value; nothing is written.
            StorageError: e.g. a duplicate ``client_order_id``; nothing is written.
        """
        orders = list(orders)
        for order in orders:
            self._rows.check(order)
        with self._work.batch() as batch:
            for order in orders:
                try:
                    batch.after_commit.append(self._rows.write(batch.conn, order))
                except sqlite3.Error as exc:
                    raise translate_error(exc, self.path) from exc

    def upsert_fill(self, fill: Fill) -> None:
        """Store one fill; storing the same ``fill_id`` again is a no-op.

        Raises:
            InvalidInputError: bad fill values; nothing is written.
        """
        validate_fill(fill)
        self._work.run(INSERT_FILL, fill_values(fill))

    def get_order(self, order_id: str) -> Order | None:
        """The stored order with its fills and status history, or ``None``."""
        rows = self.db.query("SELECT * FROM orders WHERE id = ?", (order_id,))
        return self._load_order(rows[0]) if rows else None

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        """The stored order with this client order id (unique), or ``None``."""
        rows = self.db.query("SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,))
        return self._load_order(rows[0]) if rows else None

    def child_orders(self, parent_id: str) -> list[Order]:
        """The bracket legs of entry ``parent_id``, oldest first (indexed by parent)."""
        rows = self.db.query(
            "SELECT * FROM orders WHERE parent_id = ? ORDER BY created_at, id", (parent_id,)
        )
        return [self._load_order(row) for row in rows]

    def get_orders(
        self, symbol: str | None = None, status: OrderStatus | str | None = None
    ) -> list[Order]:
        """Orders (with fills and history), oldest first, optionally filtered."""
        clauses, params = [], []
        if symbol is not None:
            clauses.append("symbol = ?")
            params.append(symbol)
        if status is not None:
            clauses.append("status = ?")
            params.append(_enum(OrderStatus, status, "order status").value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = "SELECT * FROM orders" + where + " ORDER BY created_at, id"  # noqa: S608
        rows = self.db.query(sql, params)
        return [self._load_order(row) for row in rows]

    def open_orders(self) -> list[Order]:
        """Orders not yet filled, cancelled, rejected or expired, oldest first."""
        rows = self.db.query(_OPEN_ORDERS)
        return [self._load_order(row) for row in rows]

    def get_fills(self, order_id: str | None = None, symbol: str | None = None) -> list[Fill]:
        """Fills, oldest first, optionally for one order and/or symbol."""
        clauses, params = [], []
        if order_id is not None:
            clauses.append("order_id = ?")
            params.append(order_id)
        if symbol is not None:
            clauses.append("symbol = ?")
            params.append(symbol)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = "SELECT * FROM fills" + where + " ORDER BY timestamp, rowid"  # noqa: S608
        rows = self.db.query(sql, params)
        return [row_to_fill(row) for row in rows]

    def open_positions(self) -> dict[str, Position]:
        """Net positions rebuilt by replaying every stored fill (average-cost method).

        Returns:
            ``symbol -> Position`` for symbols whose net quantity is not zero; each
            position's ``realized_pnl`` and ``fees`` (USD) cover all fills of the symbol.
        """
        positions: dict[str, Position] = {}
        for fill in self.get_fills():
            position = positions.setdefault(fill.symbol, Position(fill.symbol))
            position.apply_fill(fill.side, fill.quantity, fill.price, fill.commission)
        return {symbol: p for symbol, p in positions.items() if p.quantity != 0}

    def _load_order(self, row: Any) -> Order:
        order_id = row["id"]
        events = self.db.query(
            "SELECT status, at FROM order_events WHERE order_id = ? ORDER BY seq", (order_id,)
        )
        history = [(OrderStatus(e["status"]), from_iso(e["at"])) for e in events]
        return row_to_order(row, self.get_fills(order_id=order_id), history)


def _enum(kind: type[StrEnum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInputError(
            f"{name}={value!r}; expected one of {[m.value for m in kind]}"
        ) from None


def _trade_filters(
    symbol: str | None,
    status: TradeStatus | str | None,
    strategy: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, op, value in (
        ("symbol", "=", symbol),
        ("status", "=", None if status is None else _enum(TradeStatus, status, "status").value),
        ("strategy", "=", strategy),
        ("entry_time", ">=", None if start is None else to_iso(start)),
        ("entry_time", "<", None if end is None else to_iso(end)),
    ):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params
