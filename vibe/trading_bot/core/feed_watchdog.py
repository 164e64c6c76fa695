"""A quiet market data feed during a session is reported, not hidden.

:class:`FeedWatchdog` looks at the feed's quiet time during a session (the
health monitor's :meth:`~.health_monitor.HealthMonitor.bar_age_seconds`: trading
clock seconds since the newest bar ended, or since the open when none came):

* longer than one bar plus ``grace_seconds``: ``market_data`` is DEGRADED;
* longer than ``unhealthy_after_seconds`` (``READINESS_MAX_BAR_AGE_SECONDS``,
  the readiness limit): UNHEALTHY;

each time with the reason (quiet time and limits), an error recorded on the
component and an error alert. When bars flow again (or the session ends) the
component is HEALTHY again and a recovery alert goes out. The reason shows in
``/health/state``, ``show-status`` and ``/metrics`` (``vibe_component_state``,
``vibe_newest_bar_age_seconds``).

The checks run every ``check_interval_seconds`` of real time (waiting on the
outside world); the ages they compare are trading time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.notifications.payloads import SystemEvent
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)

#: Quiet time tolerated beyond one bar before the feed is degraded, seconds.
DEFAULT_GRACE_SECONDS = 60.0
#: Real seconds between two checks.
DEFAULT_CHECK_INTERVAL_SECONDS = 1.0

#: Sends one system alert: ``(event, message)``.
AlertSender = Callable[[SystemEvent, str], Awaitable[None]]


class FeedWatchdog:
    """Reports a feed that delivers no bar for too long during a session (see module doc).

    Args:
        bar_age: returns the feed's quiet time in trading-clock seconds during a
            session, ``None`` while the market is closed.
        health: the ``market_data`` component's reporter.
        alert: sends a system alert (error on a worse state, recovery after).
        timeframe_seconds: one bar's length, seconds.
        unhealthy_after_seconds: quiet time that makes the feed UNHEALTHY, seconds.
        grace_seconds: quiet time beyond one bar tolerated, seconds.
        check_interval_seconds: real seconds between checks in :meth:`run`.

    Raises:
        InvalidInputError: a non-positive duration.
    """

    def __init__(
        self,
        bar_age: Callable[[], float | None],
        health: HealthReporter,
        alert: AlertSender,
        *,
        timeframe_seconds: float,
        unhealthy_after_seconds: float,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        check_interval_seconds: float = DEFAULT_CHECK_INTERVAL_SECONDS,
    ) -> None:
        for name, value in (
            ("timeframe_seconds", timeframe_seconds),
            ("unhealthy_after_seconds", unhealthy_after_seconds),
            ("check_interval_seconds", check_interval_seconds),
        ):
            if value <= 0:
                raise InvalidInputError(f"{name}={value!r}; expected > 0")
        if grace_seconds < 0:
            raise InvalidInputError(f"grace_seconds={grace_seconds!r}; expected >= 0")
        self._bar_age = bar_age
        self._health = health
        self._alert = alert
        self.degraded_after_seconds = timeframe_seconds + grace_seconds
        self.unhealthy_after_seconds = max(unhealthy_after_seconds, self.degraded_after_seconds)
        self._interval = check_interval_seconds
        self.state: HealthState | None = None  # what this watchdog reported; None: all fine

    def _verdict(self, age: float | None) -> HealthState | None:
        if age is None or age <= self.degraded_after_seconds:
            return None
        if age > self.unhealthy_after_seconds:
            return HealthState.UNHEALTHY
        return HealthState.DEGRADED

    async def check(self) -> HealthState | None:
        """Check once; report and alert on a change. Returns the reported problem, if any."""
        age = self._bar_age()
        verdict = self._verdict(age)
        if verdict == self.state:
            return verdict
        previous, self.state = self.state, verdict
        if verdict is None:
            reason = "market closed" if age is None else f"bars again (newest {age:.0f} s old)"
            self._health.set_state(HealthState.HEALTHY, reason)
            _log.info("market data recovered", reason=reason)
            await self._alert(SystemEvent.COMPONENT_RECOVERED, f"market_data: {reason}")
            return None
        limits = f"degraded after {self.degraded_after_seconds:g} s, "
        limits += f"unhealthy after {self.unhealthy_after_seconds:g} s"
        reason = f"no bar for {age:.0f} s during the session ({limits})"
        self._health.set_state(verdict, reason)
        self._health.record_error(f"market data quiet: {reason}")
        _log.error("market data quiet", state=verdict.value, previous=str(previous), reason=reason)
        await self._alert(SystemEvent.COMPONENT_UNHEALTHY, f"market_data {verdict.value}: {reason}")
        return verdict

    async def run(self) -> None:
        """Check every ``check_interval_seconds`` (real time) until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
