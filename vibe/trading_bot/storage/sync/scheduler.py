"""When snapshots are uploaded, with retries, backoff and metrics.

:class:`SyncScheduler` uploads every database (:meth:`CloudSync.upload_all`)

* every ``interval_seconds`` (``CLOUD_SYNC_INTERVAL_SECONDS``) while :meth:`run` runs,
* after each session close (the daemon calls :meth:`on_session_close`),
* once during shutdown (:meth:`shutdown`).

Each sync is retried on :class:`~vibe.common.errors.TemporaryError` only, with
exponential backoff and jitter (tenacity's ``wait_exponential_jitter``).
The interval, the backoff waits and the durations are *waiting time*: real
seconds on a :class:`~vibe.common.clock.Timer` in every mode, so a retry never
moves the trading clock; ``last_success_at`` is a record time on the trading
:class:`~vibe.common.clock.Clock`. A sync that still fails is counted, reported
``DEGRADED`` to the health reporter, and the daemon carries on; the next sync
tries again. Syncs never overlap (one lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import InvalidInputError, TemporaryError, VibeError
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.storage.sync.cloud_sync import CloudSync, UploadResult
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of one sync on :class:`TemporaryError`.

    Attributes:
        attempts: total tries per sync, >= 1.
        initial_backoff_seconds: first wait, seconds (then doubling).
        max_backoff_seconds: cap on one wait, seconds.
        jitter_seconds: up to this much random extra wait, seconds.
    """

    attempts: int = 5
    initial_backoff_seconds: float = 2.0
    max_backoff_seconds: float = 120.0
    jitter_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Counters since start (also exported as Prometheus metrics by the health server).

    Attributes:
        attempts: upload tries, retries included.
        successes: tries that uploaded every database.
        failures: tries that failed.
        syncs_failed: syncs that failed after all retries.
        success_rate: ``successes / attempts`` (1.0 before any attempt).
        last_success_at: end of the last successful sync, tz-aware UTC, or ``None``.
        last_error: the last failure's message, or ``""``.
        bytes_uploaded: gzip bytes uploaded in total.
        last_duration_seconds: duration of the last try, real seconds (timer).
    """

    attempts: int
    successes: int
    failures: int
    syncs_failed: int
    success_rate: float
    last_success_at: datetime | None
    last_error: str
    bytes_uploaded: int
    last_duration_seconds: float


class SyncScheduler:
    """Run uploads on an interval, after session closes and at shutdown.

    Args:
        sync: what to upload.
        clock: trading time, for ``last_success_at``.
        interval_seconds: real seconds between periodic syncs (> 0).
        health: where sync health is reported.
        retry: the retry policy for each sync.
        timer: waiting time for the interval, the backoff and durations (default real).

    Raises:
        InvalidInputError: ``interval_seconds <= 0`` or ``retry.attempts < 1``.
    """

    def __init__(
        self,
        sync: CloudSync,
        clock: Clock,
        interval_seconds: float,
        health: HealthReporter,
        retry: RetryPolicy | None = None,
        timer: Timer | None = None,
    ) -> None:
        retry = retry or RetryPolicy()
        if interval_seconds <= 0:
            raise InvalidInputError(f"interval_seconds={interval_seconds!r}; expected > 0")
        if retry.attempts < 1:
            raise InvalidInputError(f"retry attempts={retry.attempts!r}; expected >= 1")
        self._sync = sync
        self._clock = clock
        self._timer = timer or MonotonicTimer()
        self.interval_seconds = float(interval_seconds)
        self._health = health
        self._retry = retry
        self._lock = asyncio.Lock()
        self.attempts = 0
        self.successes = 0
        self.failures = 0
        self.syncs_failed = 0
        self.last_success_at: datetime | None = None
        self.last_error = ""
        self.bytes_uploaded = 0
        self.last_duration_seconds = 0.0

    @property
    def success_rate(self) -> float:
        """``successes / attempts``; 1.0 before any attempt."""
        return self.successes / self.attempts if self.attempts else 1.0

    def stats(self) -> SyncStats:
        """A snapshot of the counters."""
        return SyncStats(
            attempts=self.attempts,
            successes=self.successes,
            failures=self.failures,
            syncs_failed=self.syncs_failed,
            success_rate=self.success_rate,
            last_success_at=self.last_success_at,
            last_error=self.last_error,
            bytes_uploaded=self.bytes_uploaded,
            last_duration_seconds=self.last_duration_seconds,
        )

    async def sync_now(self, reason: str = "manual") -> bool:
        """Upload every database now, retrying temporary failures; never raises a VibeError.

        Args:
            reason: why (``"interval"``, ``"session_close"``, ``"shutdown"``...), for logs.

        Returns:
            True when every database was uploaded.
        """
        async with self._lock:
            try:
                async for attempt in self._retrying():
                    with attempt:
                        await self._attempt()
            except VibeError as exc:
                self.syncs_failed += 1
                self._health.set_state(HealthState.DEGRADED, f"cloud sync failed: {exc}")
                _log.warning("cloud sync failed", reason=reason, error=str(exc))
                return False
            self._health.set_state(HealthState.HEALTHY, f"cloud sync ok ({reason})")
            _log.info("cloud sync done", reason=reason)
            return True

    def _retrying(self) -> AsyncRetrying:
        policy = self._retry
        return AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(
                initial=policy.initial_backoff_seconds,
                max=policy.max_backoff_seconds,
                jitter=policy.jitter_seconds,
            ),
            retry=retry_if_exception_type(TemporaryError),
            sleep=self._timer.sleep,
            reraise=True,
        )

    async def _attempt(self) -> list[UploadResult]:
        self.attempts += 1
        started = self._timer.monotonic()
        try:
            results = await self._sync.upload_all()
        except VibeError as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._health.record_error(f"cloud sync attempt failed: {self.last_error}")
            raise
        finally:
            self.last_duration_seconds = self._timer.monotonic() - started
        self.successes += 1
        self.last_success_at = self._clock.now()
        self.bytes_uploaded += sum(r.metadata.compressed_size for r in results)
        return results

    async def on_session_close(self) -> bool:
        """Sync after a trading session closes (called by the daemon). See :meth:`sync_now`."""
        return await self.sync_now("session_close")

    async def shutdown(self) -> bool:
        """The final sync during shutdown. See :meth:`sync_now`."""
        return await self.sync_now("shutdown")

    async def run(self, on_result: Callable[[bool], None] | None = None) -> None:
        """Sync every ``interval_seconds`` until cancelled (run it as a named task).

        ``on_result`` hears each periodic sync's outcome (True: every database uploaded).
        """
        while True:
            await self._timer.sleep(self.interval_seconds)
            ok = await self.sync_now("interval")
            if on_result is not None:
                on_result(ok)
