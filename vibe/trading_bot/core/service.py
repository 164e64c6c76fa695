"""Process lifecycle: SIGTERM/SIGINT handling and an ordered, time-limited shutdown.

Components register a shutdown step as they start; :meth:`Service.shutdown`
runs the steps in reverse order of registration (the last thing started stops
first) within ``SHUTDOWN_TIMEOUT_SECONDS``, counted from the stop request (the
signal), so the whole stop fits in the time a supervisor such as Kubernetes
grants before it sends SIGKILL. The steps end :data:`EXIT_RESERVE_SECONDS`
before that deadline (at most a tenth of it), leaving the process the time
to print its summary and exit.

**Budget.** Each step declares a *reserve*: the seconds it needs to do its job
in the normal case (closing the stores, a final sync). A step may use all the
time that is left minus the reserves of the steps after it; so a step that can
use more time (the notifier delivering its queue to a rate-limited Discord)
gets whatever the others do not need, a step that finishes early leaves its
time to the next ones, and one hung step cannot starve the ones after it
(closing the stores comes last and always gets its reserve). When the reserves
add up to more than :data:`MAX_RESERVED_SHARE` of the timeout they are scaled
down. A *budgeted* step is told its budget (seconds) so it can finish in time
(deliver until shortly before it, then close); every step is also cancelled at
its budget as a safety net ("shutdown step timed out"). A failing step is
logged and skipped; the others still run. Each step's outcome, budget and
duration are logged ("shutdown step done"), then the total and the time left
("shutdown finished").

The first SIGTERM or SIGINT asks for a graceful stop; a second one exits at
once with status 130 (the shell convention for "interrupted").

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
#: A step told its budget in seconds (see :meth:`Service.register_budgeted_shutdown_handler`).
BudgetedShutdownHandler = Callable[[float], Awaitable[None] | None]
FORCED_EXIT_STATUS = 130
#: Reserve of a step registered without one, seconds.
DEFAULT_RESERVE_SECONDS = 1.0
#: The reserves together never hold back more than this share of the timeout.
MAX_RESERVED_SHARE = 0.5
#: Kept at the end of the timeout for what follows the steps: the run summary and the
#: interpreter's own teardown (about a second with pandas loaded on a busy machine).
#: Seconds, at most :data:`EXIT_RESERVE_SHARE` of the timeout.
EXIT_RESERVE_SECONDS = 1.5
EXIT_RESERVE_SHARE = 0.1
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True, slots=True)
class ShutdownResult:
    """What happened to one step.

    Attributes:
        name: the step's name.
        outcome: ``ok``, ``failed`` or ``timed_out``.
        seconds: how long it ran (real seconds).
        budget_seconds: the time it was allowed (real seconds).
    """

    name: str
    outcome: str
    seconds: float
    budget_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    run: BudgetedShutdownHandler
    reserve_seconds: float


class Service:
    """Signal handling and the ordered shutdown registry of one daemon process.

    Args:
        shutdown_timeout_seconds: overall budget for all shutdown steps, seconds (> 0),
            counted from the stop request.
        exit_on_second_signal: call ``os._exit(130)`` on a repeated signal.
    """

    def __init__(self, shutdown_timeout_seconds: float, exit_on_second_signal: bool = True) -> None:
        self._timeout = shutdown_timeout_seconds
        self._exit_on_second = exit_on_second_signal
        self._steps: list[_Step] = []
        self._stop = asyncio.Event()
        self._signals_received = 0
        self._stop_requested_at: float | None = None
        self.stop_reason: str | None = None

    @property
    def stop_requested(self) -> bool:
        """True once a signal arrived or :meth:`request_stop` was called."""
        return self._stop.is_set()

    @property
    def shutdown_timeout_seconds(self) -> float:
        """The overall shutdown budget, seconds."""
        return self._timeout

    def register_shutdown_handler(
        self,
        handler: ShutdownHandler,
        name: str | None = None,
        *,
        reserve_seconds: float = DEFAULT_RESERVE_SECONDS,
    ) -> None:
        """Add ``handler`` (sync or async, no arguments); steps run last-registered first.

        Args:
            handler: the step.
            name: its name in logs and results (default: the handler's qualified name).
            reserve_seconds: the time kept for it while earlier steps run, seconds (>= 0).
        """
        label = name or str(getattr(handler, "__qualname__", repr(handler)))

        def run(_budget: float) -> Awaitable[None] | None:
            return handler()

        self._add(_Step(label, run, reserve_seconds))

    def register_budgeted_shutdown_handler(
        self, handler: BudgetedShutdownHandler, name: str, *, reserve_seconds: float
    ) -> None:
        """Add a step that is called with its budget in seconds and should finish within it.

        Args:
            handler: the step; its argument is the time it may use (real seconds).
            name: its name in logs and results.
            reserve_seconds: the time kept for it while earlier steps run, seconds (>= 0).
        """
        self._add(_Step(name, handler, reserve_seconds))

    def _add(self, step: _Step) -> None:
        if not step.reserve_seconds >= 0:
            raise ValueError(f"reserve_seconds={step.reserve_seconds!r}; expected seconds >= 0")
        self._steps.append(step)

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
        """Ask the daemon to stop gracefully (idempotent); the shutdown budget starts now."""
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop_requested_at = time.monotonic()
            self._stop.set()

    async def wait_for_stop(self) -> None:
        """Return once a stop was requested."""
        await self._stop.wait()

    def _reserves(self) -> list[float]:
        reserves = [step.reserve_seconds for step in self._steps]
        total, limit = sum(reserves), self._timeout * MAX_RESERVED_SHARE
        scale = limit / total if total > limit else 1.0
        return [reserve * scale for reserve in reserves]

    def _deadline(self) -> float:
        """Monotonic seconds by which the steps must be done (see module doc)."""
        started = self._stop_requested_at or time.monotonic()
        exit_reserve = min(EXIT_RESERVE_SECONDS, self._timeout * EXIT_RESERVE_SHARE)
        return started + self._timeout - exit_reserve

    def spare_seconds(self) -> float:
        """Seconds of the shutdown budget not reserved by any step (0.0 when none).

        Counted from the stop request (or from now when no stop was requested);
        the orchestrator lets the trading loop finish its step within it.
        """
        left = self._deadline() - time.monotonic()
        return max(0.0, left - sum(self._reserves()))

    async def shutdown(self) -> list[ShutdownResult]:
        """Run every step in reverse order within the overall timeout (see module doc).

        Returns:
            One result per step, in the order they ran.
        """
        started = time.monotonic()
        deadline = self._deadline()
        steps = list(reversed(self._steps))
        reserves = list(reversed(self._reserves()))
        results = []
        for index, step in enumerate(steps):
            later = sum(reserves[index + 1 :])
            budget = max(0.0, deadline - time.monotonic() - later)
            results.append(await self._run_one(step, budget))
        self._steps.clear()
        now = time.monotonic()
        log.info(
            "shutdown finished",
            seconds=round(now - started, 3),
            since_stop_request_seconds=round(now - (self._stop_requested_at or started), 3),
            timeout_seconds=self._timeout,
            left_seconds=round(max(0.0, deadline - now), 3),
            steps={r.name: f"{r.outcome} {r.seconds:.3f}s" for r in results},
        )
        return results

    async def _run_one(self, step: _Step, budget: float) -> ShutdownResult:
        started = time.monotonic()
        outcome = "ok"
        try:
            result = step.run(budget)
            if inspect.isawaitable(result):
                await asyncio.wait_for(_as_coroutine(result), timeout=budget)
        except TimeoutError:
            outcome = "timed_out"
            log.error("shutdown step timed out", step=step.name, budget_seconds=round(budget, 3))
        except Exception as exc:
            outcome = "failed"
            log.error("shutdown step failed", step=step.name, error=repr(exc))
        seconds = time.monotonic() - started
        log.info(
            "shutdown step done",
            step=step.name,
            outcome=outcome,
            seconds=round(seconds, 3),
            budget_seconds=round(budget, 3),
        )
        return ShutdownResult(step.name, outcome, seconds, budget)


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
