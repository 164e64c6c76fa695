"""How a component tells the health monitor how it is doing.

Components receive a :class:`HealthReporter` in their constructor (never a
module global) and call :meth:`HealthReporter.set_state` and
:meth:`HealthReporter.record_error`. The health monitor hands out one reporter
per registered component (a :class:`ComponentHealth`, which keeps the state
and a rolling error window); :class:`RecordingHealthReporter` is the stand-in
for tests and for components run outside the daemon.

why-large: the reporting side of health: the protocol, the monitor's per-component
reporter with its rolling error window and the value types it hands out.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import InvalidInputError
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


class HealthState(StrEnum):
    """A component's state, from best to worst (plus ``starting`` and ``stopped``)."""

    STARTING = "starting"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"


@runtime_checkable
class HealthReporter(Protocol):
    """The reporting side of one registered component."""

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Report the component's current state and why."""
        ...

    def record_error(self, message: str) -> None:
        """Count one error (kept in a rolling window with its time and message)."""
        ...


@dataclass
class RecordingHealthReporter:
    """A reporter that remembers every call (tests, standalone use).

    Attributes:
        states: every ``(state, reason)`` reported, oldest first.
        errors: every error message recorded, oldest first.
    """

    states: list[tuple[HealthState, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Append ``(state, reason)`` to :attr:`states`."""
        self.states.append((state, reason))

    def record_error(self, message: str) -> None:
        """Append ``message`` to :attr:`errors`."""
        self.errors.append(message)

    @property
    def state(self) -> HealthState | None:
        """The last state reported, or ``None`` before any report."""
        return self.states[-1][0] if self.states else None


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """A component's errors in the rolling window.

    Attributes:
        count: errors recorded in the last ``window_seconds`` (saturates at
            :data:`MAX_ERRORS_KEPT`).
        window_seconds: length of the rolling window, seconds.
        total: errors recorded since registration.
        last_error: the most recent message (redacted, truncated), even if it
            has left the window; ``None`` when there never was one.
        last_error_at: when it was recorded, tz-aware UTC.
    """

    count: int
    window_seconds: float
    total: int
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """A point-in-time copy of one component's health.

    Attributes:
        name: the registered name.
        critical: whether an ``unhealthy`` state makes the whole service unhealthy.
        state: the last reported state.
        reason: why (redacted, truncated); ``""`` when none was given.
        since: when the component entered ``state``, tz-aware UTC.
        errors: the rolling error window.
    """

    name: str
    critical: bool
    state: HealthState
    reason: str
    since: datetime
    errors: ErrorSummary


#: The log event of every state change (``logs.db``; the dashboard's ``health`` events).
STATE_CHANGED = "component state changed"
#: Errors remembered per component; older ones are dropped even inside the window.
MAX_ERRORS_KEPT = 10_000
#: Longest reason or error message kept, characters.
MAX_MESSAGE_CHARS = 500


def _identity(text: str) -> str:
    return text


class ComponentHealth:
    """The reporter the health monitor hands to one registered component.

    Satisfies :class:`HealthReporter`. Safe to call from worker threads
    (``asyncio.to_thread``) as well as from the event loop. Errors are kept in a
    rolling window of ``error_window_seconds`` real seconds, measured on ``timer``.
    Every reason and message passes through ``redact`` before it is stored, so
    nothing secret is ever held or served.

    Args:
        name: component name, unique within a monitor.
        critical: ``True`` if this component being unhealthy makes the service unhealthy.
        clock: trading time, for the ``since`` and last-error timestamps.
        error_window_seconds: rolling window length, seconds (> 0).
        redact: masks secrets in free text (e.g. ``SecretRedactor.redact``).
        timer: waiting time for the error window (default the real monotonic timer).

    Raises:
        InvalidInputError: ``name`` is blank or ``error_window_seconds`` is not positive.
    """

    def __init__(
        self,
        name: str,
        *,
        critical: bool,
        clock: Clock,
        error_window_seconds: float = 300.0,
        redact: Callable[[str], str] = _identity,
        timer: Timer | None = None,
    ) -> None:
        if not name or not name.strip():
            raise InvalidInputError(f"component name={name!r}; expected a non-blank string")
        if error_window_seconds <= 0:
            raise InvalidInputError(
                f"error_window_seconds={error_window_seconds!r}; expected > 0 seconds"
            )
        self.name = name
        self.critical = critical
        self._clock = clock
        self._timer = timer or MonotonicTimer()
        self._window = float(error_window_seconds)
        self._redact = redact
        self._lock = threading.Lock()
        self._state = HealthState.STARTING
        self._reason = ""
        self._since = clock.now()
        self._errors: deque[float] = deque(maxlen=MAX_ERRORS_KEPT)
        self._total = 0
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None

    @property
    def state(self) -> HealthState:
        """The last reported state (``starting`` until the first report)."""
        return self._state

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Report the component's state; a change is logged (warning when it worsens).

        Raises:
            InvalidInputError: ``state`` is not a :class:`HealthState` value.
        """
        try:
            state = HealthState(state)
        except ValueError as exc:
            expected = [s.value for s in HealthState]
            raise InvalidInputError(f"state={state!r}; expected one of {expected}") from exc
        reason = self._clean(reason)
        with self._lock:
            previous = self._state
            if state != previous:
                self._since = self._clock.now()
            self._state, self._reason = state, reason
        if state != previous:
            level = "warning" if state in _BAD_STATES else "info"
            getattr(_log, level)(
                STATE_CHANGED,
                component=self.name,
                previous=previous.value,
                state=state.value,
                reason=reason,
            )

    def record_error(self, message: str) -> None:
        """Count one error now, keeping ``message`` (redacted) as the last error."""
        message = self._clean(message)
        with self._lock:
            self._errors.append(self._timer.monotonic())
            self._total += 1
            self._last_error = message
            self._last_error_at = self._clock.now()

    def status(self) -> ComponentStatus:
        """A consistent copy of the state and the error window as of now."""
        with self._lock:
            cutoff = self._timer.monotonic() - self._window
            while self._errors and self._errors[0] < cutoff:
                self._errors.popleft()
            errors = ErrorSummary(
                count=len(self._errors),
                window_seconds=self._window,
                total=self._total,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
            )
            return ComponentStatus(
                name=self.name,
                critical=self.critical,
                state=self._state,
                reason=self._reason,
                since=self._since,
                errors=errors,
            )

    def _clean(self, text: str) -> str:
        text = self._redact(str(text))
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[: MAX_MESSAGE_CHARS - 1] + "…"
        return text


_BAD_STATES = frozenset({HealthState.DEGRADED, HealthState.UNHEALTHY})


def aggregate(components: Iterable[ComponentStatus]) -> HealthState:
    """The service's overall state from its components' states.

    Rules, first match wins: no components -> ``healthy``; every component
    ``stopped`` -> ``stopped``; a critical component ``unhealthy`` or ``stopped``
    -> ``unhealthy``; any component ``degraded``, or a non-critical one
    ``unhealthy``/``stopped`` -> ``degraded``; any ``starting`` -> ``starting``;
    otherwise ``healthy``.
    """
    statuses = list(components)
    if not statuses:
        return HealthState.HEALTHY
    if all(s.state is HealthState.STOPPED for s in statuses):
        return HealthState.STOPPED
    down = {HealthState.UNHEALTHY, HealthState.STOPPED}
    if any(s.critical and s.state in down for s in statuses):
        return HealthState.UNHEALTHY
    if any(s.state is HealthState.DEGRADED or s.state in down for s in statuses):
        return HealthState.DEGRADED
    if any(s.state is HealthState.STARTING for s in statuses):
        return HealthState.STARTING
    return HealthState.HEALTHY


# -- probe reports (built by the health monitor, served by api/health.py) -------


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One readiness check: its name, whether it passed, and why."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """``ready`` is ``True`` only when every check passed."""

    ready: bool
    checks: list[CheckResult]


@dataclass(frozen=True, slots=True)
class LivenessReport:
    """Liveness: the loop lag (seconds, ``None`` before the ticker runs) against its limit."""

    alive: bool
    loop_lag_seconds: float | None
    max_loop_lag_seconds: float
    uptime_seconds: float


@dataclass(slots=True)
class PhaseStatus:
    """One start-up phase: ``pending`` -> ``running`` -> ``done`` | ``failed`` (UTC times)."""

    name: str
    status: str = "pending"
    detail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def begin(self, now: datetime) -> None:
        """Mark running from ``now``."""
        self.status, self.detail, self.started_at, self.finished_at = "running", "", now, None

    def finish(self, now: datetime, status: str, detail: str) -> None:
        """Mark ``done`` or ``failed`` at ``now`` (a phase never begun starts at ``now``)."""
        self.started_at = self.started_at or now
        self.status, self.detail, self.finished_at = status, detail, now

    def copy(self) -> PhaseStatus:
        """An independent copy."""
        return PhaseStatus(self.name, self.status, self.detail, self.started_at, self.finished_at)


@dataclass(frozen=True, slots=True)
class StartupReport:
    """Start-up is ``complete`` when every declared phase is ``done``."""

    complete: bool
    phases: list[PhaseStatus]


@dataclass(frozen=True, slots=True)
class PositionsSummary:
    """Open positions in brief (fed by the portfolio).

    Attributes:
        open_positions: number of open positions.
        symbols: their symbols.
        market_value_usd: signed market value of all open positions, USD.
        unrealized_pnl_gross_usd: unrealized P&L of all open positions at their marks,
            before the exit commission (gross), USD.
        equity_usd: account equity (cash + positions at their marks), USD, when known.
        realized_pnl_net_usd: P&L realized since the account started, after every
            commission paid (net, as the trades in ``trades.db``), USD, when known.
    """

    open_positions: int
    symbols: tuple[str, ...] = ()
    market_value_usd: float = 0.0
    unrealized_pnl_gross_usd: float = 0.0
    equity_usd: float | None = None
    realized_pnl_net_usd: float | None = None


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The last cloud sync: when it was tried, ``"ok"``/``"failed"``, last success (UTC)."""

    last_attempt_at: datetime
    result: str
    last_success_at: datetime | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """The session (UTC times), the newest bar's freshness, the symbols lacking history.

    ``newest_bar_age_seconds`` counts from the bar's end; ``symbols_without_history``
    maps each symbol whose warm-up history could not be loaded to why.
    """

    open: bool
    session_open: datetime | None
    next_open: datetime | None
    newest_bar_end: datetime | None
    newest_bar_age_seconds: float | None
    symbols_without_history: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoopStatus:
    """Event-loop lag now and its maximum since the last heartbeat, seconds."""

    lag_seconds: float | None
    max_lag_seconds_since_heartbeat: float
    heartbeat_interval_seconds: float
    heartbeats: int


@dataclass(frozen=True, slots=True)
class ServiceState:
    """Everything ``/health/state`` shows. Only these explicit fields; no setting is copied."""

    status: HealthState
    mode: str
    started_at: datetime
    now: datetime
    uptime_seconds: float
    components: list[ComponentStatus]
    startup: StartupReport
    loop: LoopStatus
    positions: PositionsSummary | None
    market: MarketStatus
    last_sync: SyncStatus | None
