"""What the dashboard API reads and drives: one object handed to every route.

:class:`DashboardApi` bundles the running daemon's parts the routes need (built
once by :func:`dashboard_api` from the components) and :class:`StoreReader`,
which reads ``trades.db``, ``metrics.db`` and ``logs.db`` through read-only
SQLite connections in a small thread pool of its own: a slow query never
blocks the event loop, and a burst of API calls never takes the worker
threads the trading loop uses (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from vibe.common.clock import Clock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.execution.trade_executor import TradeExecutor
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.sqlite import SQLiteStore
from vibe.trading_bot.storage.trade_store import TradeStore

if TYPE_CHECKING:
    from vibe.trading_bot.core.daemon import RunContext

_T = TypeVar("_T")
_S = TypeVar("_S", bound=SQLiteStore)
READ_THREADS = 4


class StoreReader:
    """Read-only views of the daemon's databases, queried off the event loop.

    Args:
        data_dir: ``DATA_DIR`` (its ``trades.db``, ``metrics.db`` and ``logs.db`` exist).
        clock: the run's clock (the stores' time stamps; nothing is written).
        threads: size of the reader pool.

    Raises:
        StorageError: a database is missing or not a database of this bot (on first use).
    """

    def __init__(self, data_dir: Path, clock: Clock, threads: int = READ_THREADS) -> None:
        self._data_dir = data_dir
        self._clock = clock
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="api-read")
        self._stores: dict[str, SQLiteStore] = {}
        self._lock = threading.Lock()

    @property
    def trades(self) -> TradeStore:
        """``trades.db``, read-only (call from :meth:`run` only)."""
        return self._open("trades", TradeStore)

    @property
    def metrics(self) -> MetricsStore:
        """``metrics.db``, read-only (call from :meth:`run` only)."""
        return self._open("metrics", MetricsStore)

    @property
    def logs(self) -> LogStore:
        """``logs.db``, read-only (call from :meth:`run` only)."""
        return self._open("logs", LogStore)

    def _open(self, name: str, kind: type[_S]) -> _S:
        store = self._stores.get(name)
        if store is None:
            with self._lock:  # two pool threads may ask at once
                store = self._stores.get(name)
                if store is None:
                    store = kind.in_data_dir(self._data_dir, self._clock, read_only=True)
                    self._stores[name] = store
        return cast(_S, store)

    async def run(self, query: Callable[[StoreReader], _T]) -> _T:
        """``query(self)`` in the reader pool (stores open there); returns what it returns.

        Raises:
            Exception: whatever ``query`` raised (e.g. ``StorageError``).
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, query, self)

    def close(self) -> None:
        """Stop the pool and close the connections (idempotent)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for store in self._stores.values():
            with contextlib.suppress(Exception):
                store.close()


@dataclass
class DashboardApi:
    """The daemon's parts the ``/api/v1`` routes and the page use.

    Attributes:
        settings: the configuration (``API_TOKEN``, symbols, capital).
        mode: ``live`` or ``replay``.
        clock: trading time (``now`` in answers).
        scheduler: the market calendar (next open and close).
        monitor: health per component and the service state.
        executor: portfolio, session counters and the entries switch; touched only
            on the event loop while holding ``trading_lock``.
        tape: traded bars and equity marks.
        trading_lock: held by the trading loop while it trades a bar group off the loop.
        reader: the databases, read-only.
        poll_seconds: real seconds between looks at the stores for new events.
        symbols: the symbols this run trades (default ``SYMBOLS``).
        fees_before: commissions (USD) paid before a session open, by open (a cache).
    """

    settings: AppSettings
    mode: str
    clock: Clock
    scheduler: MarketScheduler
    monitor: HealthMonitor
    executor: TradeExecutor
    tape: BarTape
    trading_lock: asyncio.Lock
    reader: StoreReader
    poll_seconds: float = 0.05
    symbols: frozenset[str] = field(default_factory=frozenset)
    fees_before: dict[datetime, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.symbols:
            self.symbols = frozenset(self.settings.trading.symbols)

    @property
    def control_enabled(self) -> bool:
        """True when ``API_TOKEN`` is set (the control endpoints need it)."""
        return self.settings.health.api_token is not None


def dashboard_api(
    context: RunContext, executor: TradeExecutor, tape: BarTape, trading_lock: asyncio.Lock
) -> DashboardApi:
    """The :class:`DashboardApi` of a daemon being built (its trading stack built).

    Its reader is closed by the health server when it stops (after the last request).
    """
    return DashboardApi(
        settings=context.settings,
        mode=context.plan.mode.value,
        clock=context.clock,
        scheduler=context.scheduler,
        monitor=context.monitor,
        executor=executor,
        tape=tape,
        trading_lock=trading_lock,
        reader=StoreReader(context.plan.data_dir, context.clock),
        symbols=frozenset(context.plan.symbols),
    )
