"""Process lifecycle: SIGTERM/SIGINT handling and an ordered, time-limited shutdown.

Components register a shutdown handler as they start; :meth:`Service.shutdown`
runs them in reverse order of registration (the last thing started stops
first) within ``SHUTDOWN_TIMEOUT_SECONDS`` overall; each step may use an equal
share of the time still left, so one hung step cannot starve the ones after
it (closing the stores comes last and always gets its turn). A failing or
slow handler is logged and skipped; the others still run. The first SIGTERM or
SIGINT asks for a graceful stop; a second one exits at once with status 130
(the shell convention for "interrupted").

:class:`TradingService` is the daemon as a library object, for scripts::

    settings = AppSettings()                       # the environment and .env
    service = TradingService(config=settings)      # live; or plan=RunPlan(...)
    service.register_shutdown_handler(on_stop)     # runs after the daemon's own steps
    outcome = asyncio.run(service.start())         # until SIGTERM/SIGINT or request_stop()
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    from vibe.trading_bot.config.settings import AppSettings
    from vibe.trading_bot.core.orchestrator import RunOutcome
    from vibe.trading_bot.core.run_plan import RunPlan

log = get_logger(__name__)

ShutdownHandler = Callable[[], Awaitable[None] | None]
FORCED_EXIT_STATUS = 130
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True, slots=True)
class ShutdownResult:
    """What happened to one handler: ``ok``, ``failed`` or ``timed_out``, and its seconds."""

    name: str
    outcome: str
    seconds: float


class Service:
    """Signal handling and the ordered shutdown registry of one daemon process.

    Args:
        shutdown_timeout_seconds: overall budget for all shutdown handlers (> 0).
        exit_on_second_signal: call ``os._exit(130)`` on a repeated signal.
    """

    def __init__(self, shutdown_timeout_seconds: float, exit_on_second_signal: bool = True) -> None:
        self._timeout = shutdown_timeout_seconds
        self._exit_on_second = exit_on_second_signal
        self._handlers: list[tuple[str, ShutdownHandler]] = []
        self._stop = asyncio.Event()
        self._signals_received = 0
        self.stop_reason: str | None = None

    @property
    def stop_requested(self) -> bool:
        """True once a signal arrived or :meth:`request_stop` was called."""
        return self._stop.is_set()

    def register_shutdown_handler(self, handler: ShutdownHandler, name: str | None = None) -> None:
        """Add ``handler`` (sync or async, no arguments); handlers run last-registered first."""
        label = name or str(getattr(handler, "__qualname__", repr(handler)))
        self._handlers.append((label, handler))

    def install_signal_handlers(self) -> None:
        """Route SIGTERM and SIGINT to :meth:`request_stop` on the running event loop."""
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove_signal_handlers(self) -> None:
        """Restore the default signal behaviour."""
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signals_received += 1
        if self._signals_received > 1 and self._exit_on_second:
            log.error("second signal: exiting now", signal=sig.name)
            os._exit(FORCED_EXIT_STATUS)
        log.info("stop requested", signal=sig.name)
        self.request_stop(sig.name)

    def request_stop(self, reason: str = "requested") -> None:
        """Ask the daemon to stop gracefully (idempotent)."""
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    async def wait_for_stop(self) -> None:
        """Return once a stop was requested."""
        await self._stop.wait()

    async def shutdown(self) -> list[ShutdownResult]:
        """Run every handler in reverse order within the overall timeout.

        Returns:
            One result per handler, in the order they ran.
        """
        deadline = time.monotonic() + self._timeout
        results = []
        pending = list(reversed(self._handlers))
        for index, (name, handler) in enumerate(pending):
            share = max(0.0, deadline - time.monotonic()) / (len(pending) - index)
            results.append(await self._run_one(name, handler, share))
        self._handlers.clear()
        return results

    async def _run_one(self, name: str, handler: ShutdownHandler, budget: float) -> ShutdownResult:
        started = time.monotonic()
        outcome = "ok"
        try:
            result = handler()
            if inspect.isawaitable(result):
                await asyncio.wait_for(_as_coroutine(result), timeout=budget)
        except TimeoutError:
            outcome = "timed_out"
            log.error("shutdown step timed out", step=name, budget_seconds=round(budget, 3))
        except Exception as exc:
            outcome = "failed"
            log.error("shutdown step failed", step=name, error=repr(exc))
        return ShutdownResult(name, outcome, time.monotonic() - started)


class TradingService(Service):
    """The whole daemon behind the :class:`Service` interface: ``TradingService(config=settings)``.

    :meth:`start` does what ``python -m vibe.trading_bot run`` does after parsing
    its options: it takes the ``DATA_DIR`` lock (one daemon per folder), refuses a
    folder made by another mode (:mod:`~vibe.trading_bot.storage.folder_mode`),
    builds the components in their start-up phases, trades until the data ends
    (replay) or a stop is requested (SIGTERM/SIGINT, :meth:`request_stop`), then
    runs every shutdown handler within ``SHUTDOWN_TIMEOUT_SECONDS``. Handlers
    registered before :meth:`start` run after the daemon's own steps (stores
    closed, logging stopped), last-registered first. A service starts once.

    Args:
        config: the validated settings (``AppSettings()`` or ``load_settings()``).
        plan: what to run; default live trading of ``SYMBOLS`` on ``TIMEFRAME`` bars
            with ``DATA_DIR``'s databases.
        handle_signals: route SIGTERM/SIGINT to a graceful stop (main thread only).
        exit_on_second_signal: exit at once (status 130) on a repeated signal.
    """

    def __init__(
        self,
        config: AppSettings,
        plan: RunPlan | None = None,
        *,
        handle_signals: bool = True,
        exit_on_second_signal: bool = True,
    ) -> None:
        super().__init__(config.service.shutdown_timeout_seconds, exit_on_second_signal)
        from vibe.trading_bot.core.run_plan import RunMode, RunPlan

        trading = config.trading
        self.config = config
        self.plan = plan or RunPlan(
            RunMode.LIVE, config.storage.data_dir, tuple(trading.symbols), trading.timeframe
        )
        self._handle_signals = handle_signals
        self._started = False

    async def start(self) -> RunOutcome:
        """Run the daemon until the data ends or a stop is requested; then shut it down.

        Returns:
            How the run ended (stop reason, shutdown steps, sessions traded).

        Raises:
            RuntimeError: the service was started before.
            DataDirInUseError: another daemon holds the ``DATA_DIR`` lock.
            FolderModeError: ``DATA_DIR`` was made by another mode and the plan does
                not allow the change.
            VibeError: a start-up phase failed (after shutting down what started).
        """
        if self._started:
            raise RuntimeError("a TradingService starts once; build a new one to run again")
        self._started = True
        from vibe.trading_bot.core.orchestrator import Orchestrator
        from vibe.trading_bot.storage.data_dir_lock import DataDirLock
        from vibe.trading_bot.storage.folder_mode import check_folder_mode

        plan = self.plan
        with DataDirLock(plan.data_dir):
            mode = plan.folder_mode
            if mode is not None:
                check_folder_mode(plan.data_dir, mode, plan.allow_mode_change)
            orchestrator = Orchestrator(
                self.config, plan, handle_signals=self._handle_signals, service=self
            )
            return await orchestrator.run()


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable
