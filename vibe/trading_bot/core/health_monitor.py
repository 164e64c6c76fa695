"""The health monitor: component states, start-up phases, loop lag, heartbeat.

Components register with a name and a criticality and get a
:class:`~vibe.trading_bot.core.health_reporter.ComponentHealth` reporter. The
monitor aggregates their states, tracks the start-up phases, measures the
event loop's responsiveness and answers the three probe questions (alive?
ready? started?) plus the full state that ``api/health.py`` serves.

Loop lag is measured by a ticker task that sleeps ``loop_check_interval_seconds``
on the loop's own monotonic clock (``loop.time()``, not the wall clock and not
the injected clock, because lag is a property of the real process) and records
how late it woke. A tick that is overdue also counts, so a probe handled right
after the loop unblocks already sees the stall. While the loop is blocked no
probe can be answered at all (the server runs in the same loop): the kubelet
sees a timeout, which it counts as a failure. Right after the loop unblocks,
``/health/live`` answers 503 until the next tick measures a normal lag. A
watchdog thread was rejected: it could not answer the probe either, and it
would add a second thread touching the monitor's state.

Two kinds of time (see :mod:`vibe.common.clock`): timestamps, the session
schedule and the newest bar's age are *trading time* (the injected
:class:`~vibe.common.clock.Clock`); uptime, the heartbeat interval and the
per-component error window are *waiting time*, real seconds on a
:class:`~vibe.common.clock.Timer` in every mode. The heartbeat is emitted from
the same ticker whenever ``heartbeat_interval_seconds`` real seconds have
passed, so a replay at ``--speed max`` logs one every interval, not thousands.

why-large: the three probes, the phases and the per-component states are one snapshot
under one lock; the reporters (:mod:`.health_reporter`) and the HTTP side
(:mod:`vibe.trading_bot.api.health`) are separate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import InvalidInputError
from vibe.common.models import require_aware
from vibe.trading_bot.config.logging_config import SecretRedactor
from vibe.trading_bot.config.settings import HealthSettings
from vibe.trading_bot.core.health_reporter import (
    CheckResult,
    ComponentHealth,
    ComponentStatus,
    HealthState,
    LivenessReport,
    LoopStatus,
    MarketStatus,
    PhaseStatus,
    PositionsSummary,
    ReadinessReport,
    ServiceState,
    StartupReport,
    SyncStatus,
    aggregate,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_T = TypeVar("_T")


class HealthMonitor:
    """Collects component health and answers the liveness, readiness and startup probes.

    Args:
        settings: heartbeat interval (s), max loop lag for liveness (s), max bar
            age for readiness (s).
        clock: trading time, for timestamps and the age of the newest bar.
        mode: what the daemon runs as (e.g. ``"paper"``), shown in the state.
        startup_phases: names of the start-up phases, in order; startup is
            complete when every one is done (an empty list means complete at once).
        secrets: plain secret values masked in every reason and error message
            (``AppSettings.secret_values()``); secret-shaped text is masked too.
        error_window_seconds: rolling window for per-component error counts, s.
        loop_check_interval_seconds: how often the loop-lag ticker wakes, s.
        timer: waiting time, for uptime, the heartbeat interval and the error window
            (default the real :class:`~vibe.common.clock.MonotonicTimer`).

    Raises:
        InvalidInputError: duplicate phase names or a non-positive window or interval.
    """

    def __init__(
        self,
        settings: HealthSettings,
        clock: Clock,
        *,
        mode: str = "paper",
        startup_phases: Sequence[str] = (),
        secrets: Iterable[str] = (),
        error_window_seconds: float = 300.0,
        loop_check_interval_seconds: float = 0.5,
        timer: Timer | None = None,
    ) -> None:
        if loop_check_interval_seconds <= 0:
            raise InvalidInputError(
                f"loop_check_interval_seconds={loop_check_interval_seconds!r}; expected > 0"
            )
        if error_window_seconds <= 0:
            raise InvalidInputError(f"error_window_seconds={error_window_seconds!r}; expected > 0")
        if len(set(startup_phases)) != len(startup_phases):
            raise InvalidInputError(f"startup_phases={list(startup_phases)!r} has duplicates")
        self._settings = settings
        self._clock = clock
        self._timer = timer or MonotonicTimer()
        self._redact = SecretRedactor(secrets).redact
        self._error_window = error_window_seconds
        self._tick_interval = loop_check_interval_seconds
        self._components: dict[str, ComponentHealth] = {}
        self._phases = {name: PhaseStatus(name=name) for name in startup_phases}
        self._mode = mode
        self._started_at = clock.now()
        self._started_mono = self._timer.monotonic()
        self._positions: Callable[[], PositionsSummary | None] | None = None
        self._session_open: Callable[[], datetime | None] | None = None
        self._next_open: Callable[[], datetime | None] | None = None
        self._missing_history: Callable[[], Mapping[str, str] | None] | None = None
        self._newest_bar_end: datetime | None = None
        self._sync: SyncStatus | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_tick = 0.0
        self._last_lag = 0.0
        self._max_lag_since_heartbeat = 0.0
        self._last_heartbeat = self._timer.monotonic()
        self.heartbeats = 0

    def register(self, name: str, *, critical: bool = True) -> ComponentHealth:
        """Register a component; pass the returned reporter to it.

        Args:
            name: unique component name (e.g. ``"data"``, ``"notifier"``).
            critical: ``True`` if this component being unhealthy makes the service
                unhealthy and not ready.

        Raises:
            InvalidInputError: ``name`` is blank or already registered.
        """
        if name in self._components:
            raise InvalidInputError(f"component name={name!r} is already registered")
        reporter = ComponentHealth(
            name,
            critical=critical,
            clock=self._clock,
            timer=self._timer,
            error_window_seconds=self._error_window,
            redact=self._redact,
        )
        self._components[name] = reporter
        return reporter

    def set_health_state(self, name: str, state: HealthState, reason: str = "") -> None:
        """Thin convenience: ``register``-ed component ``name`` reports ``state``.

        Raises:
            InvalidInputError: ``name`` is not registered.
        """
        self._component(name).set_state(state, reason)

    def components(self) -> list[ComponentStatus]:
        """A snapshot of every registered component, in registration order."""
        return [component.status() for component in self._components.values()]

    def overall(self) -> HealthState:
        """The aggregated state (see :func:`~vibe.trading_bot.core.health_reporter.aggregate`)."""
        return aggregate(self.components())

    def _component(self, name: str) -> ComponentHealth:
        try:
            return self._components[name]
        except KeyError:
            known = sorted(self._components)
            raise InvalidInputError(f"component name={name!r}; expected one of {known}") from None

    def begin_phase(self, name: str) -> None:
        """Mark start-up phase ``name`` running. Raises InvalidInputError for an unknown name."""
        self._phase(name).begin(self._clock.now())

    def complete_phase(self, name: str) -> None:
        """Mark start-up phase ``name`` done. Raises InvalidInputError for an unknown name."""
        self._phase(name).finish(self._clock.now(), "done", "")

    def fail_phase(self, name: str, reason: str) -> None:
        """Mark start-up phase ``name`` failed with ``reason`` (redacted).

        Raises:
            InvalidInputError: ``name`` is not a declared phase.
        """
        self._phase(name).finish(self._clock.now(), "failed", self._redact(reason))

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """``with monitor.phase("stores"):`` begins, then completes or fails (and re-raises)."""
        self.begin_phase(name)
        try:
            yield
        except BaseException as exc:
            self.fail_phase(name, f"{type(exc).__name__}: {exc}")
            raise
        self.complete_phase(name)

    def _phase(self, name: str) -> PhaseStatus:
        try:
            return self._phases[name]
        except KeyError:
            known = list(self._phases)
            raise InvalidInputError(f"startup phase={name!r}; expected one of {known}") from None

    def set_mode(self, mode: str) -> None:
        """Set the run mode shown in the state (e.g. ``"paper"``)."""
        self._mode = mode

    def set_positions_provider(self, provider: Callable[[], PositionsSummary | None]) -> None:
        """Give a callable returning the current :class:`PositionsSummary`."""
        self._positions = provider

    def set_market_providers(
        self,
        *,
        session_open: Callable[[], datetime | None] | None = None,
        next_open: Callable[[], datetime | None] | None = None,
        missing_history: Callable[[], Mapping[str, str] | None] | None = None,
    ) -> None:
        """Give the market schedule and the data layer's history gaps.

        Args:
            session_open: returns the open time (tz-aware) of the session in
                progress, or ``None`` while the market is closed.
            next_open: returns the next session's open time (tz-aware), or ``None``.
            missing_history: returns symbol -> why its warm-up history is missing.
        """
        self._session_open = session_open
        self._next_open = next_open
        self._missing_history = missing_history

    def record_bar(self, bar_end: datetime) -> None:
        """Note a bar that just arrived, by its END time (``Bar.end``), for readiness.

        Raises:
            InvalidInputError: ``bar_end`` is naive.
        """
        bar_end = require_aware("bar_end", bar_end)
        if self._newest_bar_end is None or bar_end > self._newest_bar_end:
            self._newest_bar_end = bar_end

    def record_sync(self, succeeded: bool, detail: str = "") -> None:
        """Note a cloud sync attempt that ended now, with its outcome and a detail (redacted)."""
        now = self._clock.now()
        last_success = now if succeeded else (self._sync.last_success_at if self._sync else None)
        self._sync = SyncStatus(
            last_attempt_at=now,
            result="ok" if succeeded else "failed",
            last_success_at=last_success,
            detail=self._redact(detail),
        )

    async def start(self) -> None:
        """Start the loop-lag ticker (and heartbeat) as a task in the running loop."""
        if self._ticker is not None and not self._ticker.done():
            return
        self._loop = asyncio.get_running_loop()
        self._last_tick = self._loop.time()
        self._last_lag = 0.0
        self._last_heartbeat = self._timer.monotonic()
        self._ticker = asyncio.create_task(self._tick_forever(), name="health-monitor-ticker")
        self._ticker.add_done_callback(_log_task_end)

    async def stop(self) -> None:
        """Cancel the ticker and wait for it to end."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self._tick_interval
            await asyncio.sleep(self._tick_interval)
            now = loop.time()
            self._last_tick = now
            self._last_lag = max(0.0, now - expected)
            self._max_lag_since_heartbeat = max(self._max_lag_since_heartbeat, self._last_lag)
            interval = self._settings.heartbeat_interval_seconds
            if self._timer.monotonic() - self._last_heartbeat >= interval:
                self.heartbeat()

    def loop_lag_seconds(self) -> float | None:
        """Seconds the loop is (or last was) late, counting an overdue tick; ``None`` if stopped."""
        if self._ticker is None or self._ticker.done() or self._loop is None:
            return None
        overdue = self._loop.time() - self._last_tick - self._tick_interval
        return max(self._last_lag, overdue, 0.0)

    def uptime_seconds(self) -> float:
        """Real seconds since the monitor was built (waiting time, in every mode)."""
        return self._timer.monotonic() - self._started_mono

    def heartbeat(self) -> dict[str, Any]:
        """Log the heartbeat line and return its fields (also called by the ticker)."""
        components = self.components()
        positions = self._call("positions", self._positions)
        summary: dict[str, Any] = {
            "status": aggregate(components).value,
            "mode": self._mode,
            "uptime_seconds": round(self.uptime_seconds(), 3),
            "components": {c.name: c.state.value for c in components},
            "errors_in_window": sum(c.errors.count for c in components),
            "max_loop_lag_seconds": round(self._max_lag_since_heartbeat, 6),
            "open_positions": positions.open_positions if positions else None,
        }
        _log.info("heartbeat", **summary)
        self._last_heartbeat = self._timer.monotonic()
        self._max_lag_since_heartbeat = 0.0
        self.heartbeats += 1
        return summary

    def liveness(self) -> LivenessReport:
        """Alive unless the loop lag exceeds ``liveness_max_loop_lag_seconds``.

        Depends on nothing external.
        """
        lag = self.loop_lag_seconds()
        limit = self._settings.liveness_max_loop_lag_seconds
        return LivenessReport(
            alive=lag is None or lag <= limit,
            loop_lag_seconds=lag,
            max_loop_lag_seconds=limit,
            uptime_seconds=self.uptime_seconds(),
        )

    def startup(self) -> StartupReport:
        """Complete once every declared start-up phase is done."""
        phases = [phase.copy() for phase in self._phases.values()]
        return StartupReport(complete=all(p.status == "done" for p in phases), phases=phases)

    def readiness(self) -> ReadinessReport:
        """Ready when started, every critical component is healthy and, in session, bars are fresh.

        The bar check (``readiness_max_bar_age_seconds``) measures age from the
        later of the newest bar's end and the session open, so the first minutes
        of a session are not counted against the feed.
        """
        startup = self.startup()
        checks = [CheckResult("startup", startup.complete, "" if startup.complete else "pending")]
        for status in self.components():
            if status.critical:
                ok = status.state is HealthState.HEALTHY
                detail = status.state.value + (f": {status.reason}" if status.reason else "")
                checks.append(CheckResult(f"component:{status.name}", ok, detail))
        checks.append(self._bar_check())
        return ReadinessReport(ready=all(c.ok for c in checks), checks=checks)

    def _bar_check(self) -> CheckResult:
        if self._session_open is None:
            return CheckResult("market_data", True, "not checked: no market schedule given")
        try:
            age = self._session_bar_age()
        except Exception as exc:  # a broken provider must not break the probe
            return CheckResult("market_data", False, self._redact(f"market schedule failed: {exc}"))
        if age is None:
            return CheckResult("market_data", True, "market closed")
        limit = self._settings.readiness_max_bar_age_seconds
        detail = f"newest bar age {age:.1f}s (max {limit:g}s)"
        return CheckResult("market_data", age <= limit, detail)

    def _session_bar_age(self) -> float | None:
        session_open = self._session_open() if self._session_open is not None else None
        if session_open is None:
            return None
        reference = session_open
        if self._newest_bar_end is not None and self._newest_bar_end > reference:
            reference = self._newest_bar_end
        return (self._clock.now() - reference).total_seconds()

    def bar_age_seconds(self) -> float | None:
        """Seconds (trading clock) the feed has been quiet during a session, else ``None``.

        Measured from the later of the newest bar's end and the session open, so
        a feed that delivered nothing since the open has an age too. ``None``
        while the market is closed or no schedule was given (never raises).
        """
        try:
            return self._session_bar_age()
        except Exception as exc:  # a broken provider must not break a probe or a scrape
            _log.warning("health provider failed", provider="session_open", error=str(exc))
            return None

    def state(self) -> ServiceState:
        """The full state for ``/health/state``: built from explicit fields only."""
        components = self.components()
        session_open = self._call("session_open", self._session_open)
        now = self._clock.now()
        bar_age = self.bar_age_seconds()
        if bar_age is None and self._newest_bar_end is not None:
            bar_age = (now - self._newest_bar_end).total_seconds()
        return ServiceState(
            status=aggregate(components),
            mode=self._mode,
            started_at=self._started_at,
            now=now,
            uptime_seconds=self.uptime_seconds(),
            components=components,
            startup=self.startup(),
            loop=LoopStatus(
                lag_seconds=self.loop_lag_seconds(),
                max_lag_seconds_since_heartbeat=self._max_lag_since_heartbeat,
                heartbeat_interval_seconds=self._settings.heartbeat_interval_seconds,
                heartbeats=self.heartbeats,
            ),
            positions=self._call("positions", self._positions),
            market=MarketStatus(
                open=session_open is not None,
                session_open=session_open,
                next_open=self._call("next_open", self._next_open),
                newest_bar_end=self._newest_bar_end,
                newest_bar_age_seconds=bar_age,
                symbols_without_history=self._symbols_without_history(),
            ),
            last_sync=self._sync,
        )

    def _symbols_without_history(self) -> dict[str, str]:
        missing = self._call("missing_history", self._missing_history) or {}
        return {symbol: self._redact(why) for symbol, why in sorted(missing.items())}

    def _call(self, what: str, provider: Callable[[], _T | None] | None) -> _T | None:
        if provider is None:
            return None
        try:
            return provider()
        except Exception as exc:  # a broken provider must not break the probe
            _log.warning("health provider failed", provider=what, error=self._redact(str(exc)))
            return None


def _log_task_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("health monitor ticker crashed", error=repr(task.exception()))
