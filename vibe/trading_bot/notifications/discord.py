"""DiscordNotifier: alerts to a Discord webhook through a durable outbox, never lost.

Flow: :meth:`DiscordNotifier.notify` formats the alert, writes its webhook
bodies to the :class:`~vibe.trading_bot.notifications.outbox.Outbox` (one quick
local SQLite write in the notifier's own I/O thread) and wakes the worker; it
never waits for Discord. The worker task reads pending rows in ``id`` order (so
rows left over from before a restart go first) and sends them one at a time:

* before each request it waits for any server-requested pause and a token of
  the :class:`~vibe.trading_bot.notifications.rate_limiter.TokenBucket`;
* ``X-RateLimit-Remaining: 0`` pauses it for ``X-RateLimit-Reset-After`` seconds;
* 429: waits ``retry_after`` (body) or ``Retry-After`` (header) then retries; the
  worker is the only sender, so the pause stops everything, as a global 429 requires;
* 5xx and network errors: retried with capped exponential backoff and jitter
  (:class:`~vibe.trading_bot.notifications.retry.RetryPolicy`), health degraded
  after ``degrade_after`` consecutive failures;
* other 4xx (400 code 50035...): not retried; the row is marked ``failed`` and
  Discord's error code logged;
* 401/403/404: the webhook is invalid; the notifier disables itself and reports
  ``unhealthy``; later alerts are stored and logged, never sent.

Every wait (the bucket, server-requested pauses, backoff) is *waiting time* on
a real :class:`~vibe.common.clock.Timer`, in every mode; only the outbox's
record times come from the trading :class:`~vibe.common.clock.Clock`. So a
replay at ``--speed max`` never floods Discord, and a retry never moves the
trading clock.

The row is marked ``sent`` only after a 2xx. :meth:`DiscordNotifier.stop` is
given a budget (real seconds) by the shutdown: the worker keeps delivering,
paced as always, until the queue is empty or no further request would end in
time; a request on the wire is shielded from the stop and its reply recorded,
so an alert Discord accepted is never resent. Without ``DISCORD_WEBHOOK_URL``
alerts go to the log. The webhook URL (a secret) never appears in logs, errors
or health reasons.

why-large: one sender whose parts (pacing, retries, the pause on 429s, the drain at
shutdown) read and write the same delivery state; formatting, limits, the outbox and the
retry policy are already modules of their own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import InvalidInputError, TemporaryError, VibeError
from vibe.trading_bot.config.settings import NotificationSettings
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.notifications.formatter import format_alert, log_summary
from vibe.trading_bot.notifications.observer import NotifierObserver
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox, OutboxEntry
from vibe.trading_bot.notifications.payloads import Alert, AlertKind, SystemAlert
from vibe.trading_bot.notifications.rate_limiter import TokenBucket
from vibe.trading_bot.notifications.responses import (
    Outcome,
    Reply,
    bucket_wait,
    classify,
    network_failure,
)
from vibe.trading_bot.notifications.retry import RetryPolicy
from vibe.trading_bot.utils.logger import get_logger

_T = TypeVar("_T")
log = get_logger(__name__)

BATCH_SIZE = 100
REQUEST_TIMEOUT_SECONDS = 10.0
#: Default budget of :meth:`DiscordNotifier.stop`, seconds (the service passes its own).
DEFAULT_STOP_SECONDS = 5.0
#: Part of the stop budget kept for closing the HTTP client and the outbox, seconds.
CLOSE_RESERVE_SECONDS = 0.5
#: While stopping, no request starts with less time than this before the drain deadline.
MIN_REQUEST_SECONDS = 0.5
#: Of the close reserve, the time the closing itself takes at most (client, outbox), seconds.
CLOSE_SECONDS = 0.1
#: A spent token comes back after the rate-limit period plus this share of it (jitter margin).
WINDOW_MARGIN = 0.05

_ORDER_KINDS = {AlertKind.ORDER_SENT, AlertKind.ORDER_CANCELLED, AlertKind.ORDER_REJECTED}
_TRADE_KINDS = {AlertKind.ORDER_FILLED, AlertKind.POSITION_CLOSED}


@dataclass(slots=True)
class NotifierStats:
    """Counters for ``/metrics`` (monotonic except ``queue_depth``).

    Attributes:
        sent: webhook messages Discord accepted.
        failed: messages Discord refused for good (400...); kept in the outbox as ``failed``.
        retried: retries after a 5xx reply or a network error.
        rate_limited_waits: pauses taken because Discord asked (429 or ``Remaining: 0``).
        rate_limited_responses: 429 replies received.
        queue_depth: messages stored and not yet sent.
        logged: alerts written to the log (no webhook, webhook disabled, or storage failed).
        suppressed: alerts dropped on purpose by a ``NOTIFY_ON_*`` toggle.
    """

    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited_waits: int = 0
    rate_limited_responses: int = 0
    queue_depth: int = 0
    logged: int = 0
    suppressed: int = 0


def wants(settings: NotificationSettings, alert: Alert) -> bool:
    """Whether the ``NOTIFY_ON_*`` toggles let ``alert`` through.

    ``NOTIFY_ON_ORDER``: order sent, cancelled, rejected. ``NOTIFY_ON_TRADE``: fills and
    closed positions. ``NOTIFY_DAILY_SUMMARY``: the daily summary. ``NOTIFY_ON_ERROR``:
    system alerts that report a failure; start-up, shutdown and recovery always go.
    """
    if alert.kind in _ORDER_KINDS:
        return settings.notify_on_order
    if alert.kind in _TRADE_KINDS:
        return settings.notify_on_trade
    if alert.kind is AlertKind.DAILY_SUMMARY:
        return settings.notify_daily_summary
    return settings.notify_on_error if isinstance(alert, SystemAlert) and alert.is_error else True


class DiscordNotifier:
    """Sends alerts to one Discord webhook through a durable outbox.

    Args:
        settings: webhook URL (secret), ``NOTIFY_ON_*`` toggles, token-bucket capacity
            and refill period (seconds).
        outbox: where alerts are stored before sending; may be ``None`` only when no
            webhook URL is set (alerts then go to the log).
        clock: trading time, for the outbox's record times.
        health: receives healthy / degraded / unhealthy / stopped with a reason.
        client: the HTTP client (tests inject one); by default one is created and closed here.
        retry_policy: backoff for 5xx and network errors.
        rng: jitter source (seed it for reproducible tests).
        timer: waiting time for pauses, backoff and the token bucket; default the real
            :class:`~vibe.common.clock.MonotonicTimer`.

    Raises:
        InvalidInputError: a webhook URL is set but ``outbox`` is ``None``.
    """

    def __init__(
        self,
        settings: NotificationSettings,
        outbox: Outbox | None,
        clock: Clock,
        health: HealthReporter,
        client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        timer: Timer | None = None,
    ) -> None:
        self._url = settings.discord_webhook_url
        if self._url is not None and outbox is None:
            raise InvalidInputError("outbox=None; expected an Outbox when a webhook URL is set")
        self._settings = settings
        self._outbox = outbox
        self._clock = clock
        self._timer = timer or MonotonicTimer()
        self._health = health
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS)
        self._policy = retry_policy or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        period = settings.discord_rate_limit_period_seconds
        self._bucket = TokenBucket(
            settings.discord_rate_limit_capacity, period, self._timer, period * WINDOW_MARGIN
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-io")
        self._stats = NotifierStats()
        self._paused_until = self._timer.monotonic()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._consecutive_failures = 0
        self._stopped = False
        self._drain_until: float | None = None  # timer time; set by stop()
        self._in_flight: asyncio.Task[Reply] | None = None
        self._in_flight_id = 0  # outbox row of the request in flight
        self._retry_at = self._paused_until  # backoff after a failed request, timer time
        self._resume_at: float | None = None  # when the worker's current wait ends
        self.disabled_reason: str | None = None
        #: hears of every delivery, queue depth and rate-limit wait (the /metrics feed)
        self.observer: NotifierObserver | None = None

    @property
    def enabled(self) -> bool:
        """True while alerts are being sent to Discord (a URL is set and it was not refused)."""
        return self._url is not None and self.disabled_reason is None

    def stats(self) -> dict[str, int]:
        """A snapshot of :class:`NotifierStats` as ``{name: value}``."""
        return asdict(self._stats)

    async def _io(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    async def start(self) -> None:
        """Count unsent alerts and start the worker (alerts left from a previous run go first).

        Raises:
            StorageError: the outbox cannot be read.
        """
        if self._task is not None:
            return
        if self._outbox is None or self._url is None:
            self._health.set_state(HealthState.HEALTHY, "no webhook URL; alerts go to the log")
            return
        self._stats.queue_depth = await self._io(self._outbox.count)
        self._observe_queue()
        reason = f"{self._stats.queue_depth} unsent alerts to deliver first"
        self._health.set_state(HealthState.HEALTHY, reason if self._stats.queue_depth else "")
        self._task = asyncio.create_task(self._run(), name="discord-notifier")
        self._task.add_done_callback(self._on_worker_done)

    async def notify(self, alert: Alert) -> bool:
        """Store ``alert`` for delivery and return without waiting for Discord.

        Never raises: a storage failure is logged (with the alert) and recorded to health.

        Returns:
            True when the alert was stored (or logged, without a webhook); False when a
            toggle suppressed it or it could not be stored.
        """
        if not wants(self._settings, alert):
            self._stats.suppressed += 1
            return False
        if self._outbox is None or self._url is None:
            self._log_alert(alert, "no webhook URL configured")
            return True
        if self._stopped:
            self._log_alert(alert, "notifier stopped")
            return False
        bodies = format_alert(alert)
        try:
            await self._io(self._outbox.add, alert.kind.value, bodies, self._clock.now())
        except VibeError as exc:
            self._health.record_error(f"alert could not be stored in the outbox: {exc}")
            self._log_alert(alert, f"outbox write failed: {exc}")
            return False
        self._stats.queue_depth += len(bodies)
        self._observe_queue()
        if self.disabled_reason is not None:
            self._log_alert(alert, "webhook disabled; stored unsent")
        self._idle.clear()
        self._wake.set()
        return True

    def _observe_queue(self) -> None:
        if self.observer is not None:
            self.observer.on_alerts_queued(self._stats.queue_depth)

    def _log_alert(self, alert: Alert, why: str) -> None:
        self._stats.logged += 1
        log.info("alert", why=why, **log_summary(alert))

    async def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until every stored alert was handled (sent or failed) or the worker stopped.

        Returns:
            True when the outbox is drained; False after ``timeout_seconds`` (real time).
        """
        if self._task is None or self._task.done():
            return self._stats.queue_depth == 0
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self, budget_seconds: float = DEFAULT_STOP_SECONDS) -> None:
        """Deliver what is queued within ``budget_seconds`` (real time), then shut down.

        The worker keeps sending (still paced by the rate limit) until the outbox is
        empty or the next request could not finish within the budget less
        :data:`CLOSE_RESERVE_SECONDS`; then the HTTP client and the outbox are closed.
        A request already sent is never abandoned while time is left: a delivery that
        Discord accepted is always marked ``sent`` (never resent at the next start).
        Only a request still unanswered when the whole budget is spent (or one that
        times out, as at any time) stays ``pending`` without knowing whether Discord
        got it. Whatever is still unsent stays ``pending`` in the outbox and goes first
        at the next start; the final log line ("notifier stopped") says how many.
        Idempotent; alerts notified afterwards are only logged.

        Args:
            budget_seconds: the time this call may take, real seconds (>= 0).
        """
        if self._stopped:
            return
        self._stopped = True
        started = self._timer.monotonic()
        deadline = started + max(0.0, budget_seconds)
        sent_before = self._stats.sent
        if self._task is not None:
            await self._stop_worker(deadline)
        if self._owns_client:
            await self._client.aclose()
        if self._outbox is not None:
            await self._io(self._outbox.close)
        self._executor.shutdown(wait=False)
        unsent = self._stats.queue_depth
        log.info(
            "notifier stopped",
            sent_while_stopping=self._stats.sent - sent_before,
            unsent=unsent,
            seconds=round(self._timer.monotonic() - started, 3),
            budget_seconds=round(budget_seconds, 3),
        )
        reason = f"{unsent} alerts unsent (kept in the outbox for the next start)" if unsent else ""
        self._health.set_state(HealthState.STOPPED, reason or "every alert delivered")

    async def _stop_worker(self, deadline: float) -> None:
        """Let the worker drain until ``deadline`` less the close reserve, then end it.

        The worker stops by itself between deliveries (queue empty, or no time for
        another request); only a worker still waiting at the drain deadline is
        cancelled, and a request in flight then (shielded, see :meth:`_send`) gets
        the rest of the budget to finish and record its reply.
        """
        task = self._task
        assert task is not None  # noqa: S101 - the caller checked it
        self._drain_until = deadline - CLOSE_RESERVE_SECONDS
        self._wake.set()  # an idle worker re-reads the outbox, finds it empty and returns
        resume = self._resume_at
        if resume is not None and resume + MIN_REQUEST_SECONDS > self._drain_until:
            task.cancel()  # waiting (backoff, Retry-After) past the deadline: nothing in flight
        if self.enabled and not task.done():
            await self._within(task, self._drain_until - self._timer.monotonic())
        task.cancel()
        await _settle(task)  # a failure was reported by _on_worker_done
        self._task = None
        in_flight, entry_id = self._in_flight, self._in_flight_id
        if in_flight is None or in_flight.done():
            return
        if not await self._within(in_flight, deadline - self._timer.monotonic()):
            in_flight.cancel()
            log.warning(
                "discord request still in flight at the shutdown deadline; its alert "
                "stays pending and may be sent twice if Discord accepted it",
                entry_id=entry_id,
            )
        failure = await _settle(in_flight)
        if failure is not None:
            error = self._redact(f"{type(failure).__name__}: {failure}")
            log.error("last discord delivery failed", entry_id=entry_id, error=error)

    async def _within(self, task: asyncio.Task[Any], seconds: float) -> bool:
        """Wait up to ``seconds`` of waiting time for ``task``; True when it is done."""
        if not task.done():
            sleeper = asyncio.create_task(self._timer.sleep(max(0.0, seconds)))
            try:
                await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
        return task.done()

    def _on_worker_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        reason = f"notifier worker stopped: {type(exc).__name__}: {self._redact(str(exc))}"
        log.error("notifier worker failed", error=reason)
        self._health.set_state(HealthState.UNHEALTHY, reason)

    def _redact(self, text: str) -> str:
        if self._url is not None:
            secret = self._url.get_secret_value()
            text = text.replace(secret, "<webhook>").replace(secret.rsplit("/", 1)[-1], "***")
        return text

    async def _run(self) -> None:
        assert self._outbox is not None  # noqa: S101 - start() checked it
        cursor = 0
        while self.disabled_reason is None:
            self._wake.clear()
            batch = await self._io(self._outbox.pending, cursor, BATCH_SIZE)
            if not batch:
                self._idle.set()
                if self._drain_until is not None:
                    return  # stopping and drained
                await self._wake.wait()
                continue
            for entry in batch:
                if not await self._deliver(entry):
                    return
                cursor = entry.id

    async def _deliver(self, entry: OutboxEntry) -> bool:
        """Send one row until it is accepted or refused.

        Returns:
            False when the worker must end: the webhook got disabled, or a stop's
            drain deadline leaves no time for the next request (the row stays pending).
        """
        attempts = 0
        while True:
            if not await self._wait_turn():
                return False
            attempts += 1
            reply = await self._send(entry, attempts)
            if reply.outcome in (Outcome.SENT, Outcome.REJECTED):
                return True
            if reply.outcome is Outcome.DISABLED:
                self._disable(reply)
                return False
            await self._after_failure(reply)

    def _time_to_drain(self) -> float | None:
        """Seconds left before a stop's drain deadline; ``None`` when not stopping."""
        if self._drain_until is None:
            return None
        return self._drain_until - self._timer.monotonic()

    async def _wait_turn(self) -> bool:
        """Wait for the backoff, any server-requested pause and a token.

        Returns:
            False when stopping leaves no time to send after the wait (nothing reserved).
        """
        now = started = self._timer.monotonic()
        delay = max(self._paused_until, self._retry_at) - now
        left = self._time_to_drain()
        if left is not None and max(0.0, delay) + MIN_REQUEST_SECONDS > left:
            return False
        if delay > 0:
            if self._paused_until > now:
                self._stats.rate_limited_waits += 1
            self._resume_at = now + delay
            try:
                await self._timer.sleep(delay)
            finally:
                self._resume_at = None
        left = self._time_to_drain()
        if left is None:
            await self._bucket.acquire()
            acquired = True
        else:
            acquired = await self._bucket.acquire(timeout=left - MIN_REQUEST_SECONDS)
        waited = self._timer.monotonic() - started
        if waited > 0 and self.observer is not None:
            self.observer.on_rate_limit_wait("discord", waited)
        return acquired

    async def _send(self, entry: OutboxEntry, attempts: int) -> Reply:
        """One request and, when Discord answered for good, the outbox mark.

        Runs as its own task, shielded from a cancel of the worker: once a request is
        on the wire its reply is always read and recorded (a delivery Discord accepted
        is marked ``sent``, never resent), unless :meth:`stop`'s whole budget runs out.
        """
        task = asyncio.create_task(self._send_and_mark(entry, attempts), name="discord-request")
        self._in_flight, self._in_flight_id = task, entry.id
        reply = await asyncio.shield(task)
        self._in_flight = None
        return reply

    async def _send_and_mark(self, entry: OutboxEntry, attempts: int) -> Reply:
        reply = await self._attempt(entry)
        if reply.outcome is Outcome.SENT:
            await self._finish(entry, attempts, None)
        elif reply.outcome is Outcome.REJECTED:
            await self._finish(entry, attempts, reply.error)
        return reply

    async def _attempt(self, entry: OutboxEntry) -> Reply:
        assert self._url is not None  # noqa: S101 - only the worker calls this
        left = self._time_to_drain()
        timeout = REQUEST_TIMEOUT_SECONDS
        if left is not None:  # stopping: the reply must come before the stop's deadline
            until_deadline = left + CLOSE_RESERVE_SECONDS - CLOSE_SECONDS
            timeout = max(MIN_REQUEST_SECONDS, min(timeout, until_deadline))
        try:
            response = await self._client.post(
                self._url.get_secret_value(), json=entry.body, timeout=timeout
            )
        except httpx.TransportError as exc:
            return network_failure(exc)
        self._pause(bucket_wait(response))
        return classify(response)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._timer.monotonic() + seconds)

    async def _after_failure(self, reply: Reply) -> None:
        if reply.outcome is Outcome.RATE_LIMITED:
            self._stats.rate_limited_responses += 1
            self._pause(reply.wait_seconds)
            log.warning(
                "discord rate limited",
                retry_after_seconds=reply.wait_seconds,
                is_global=reply.is_global,
                error=reply.error,
            )
            return
        self._consecutive_failures += 1
        self._stats.retried += 1
        failures = self._consecutive_failures
        if failures == self._policy.degrade_after:
            reason = f"{failures} failed deliveries in a row, last: {reply.error}"
            self._health.set_state(HealthState.DEGRADED, reason)
        delay = max(self._policy.delay(failures, self._rng), reply.wait_seconds)
        log.warning("discord delivery failed; retrying", error=reply.error, delay_seconds=delay)
        self._retry_at = self._timer.monotonic() + delay  # waited for in _wait_turn

    async def _finish(self, entry: OutboxEntry, attempts: int, error: str | None) -> None:
        assert self._outbox is not None  # noqa: S101 - only the worker calls this
        mark = self._outbox.mark_sent if error is None else self._outbox.mark_failed
        args: tuple[Any, ...] = (entry.id, self._clock.now(), attempts)
        await self._retry_storage(mark, *(args if error is None else (*args, error)))
        self._stats.queue_depth = max(0, self._stats.queue_depth - 1)
        self._observe_queue()
        if self.observer is not None:
            self.observer.on_alert(entry.kind, sent=error is None)
        if error is not None:
            self._stats.failed += 1
            self._health.record_error(f"Discord refused alert {entry.id} ({entry.kind}): {error}")
            log.error("discord refused an alert", entry_id=entry.id, kind=entry.kind, error=error)
            return
        self._stats.sent += 1
        if self._consecutive_failures >= self._policy.degrade_after:
            self._health.set_state(HealthState.HEALTHY, "deliveries succeed again")
        self._consecutive_failures = 0

    async def _retry_storage(self, fn: Callable[..., None], *args: Any) -> None:
        attempt = 0
        while True:
            try:
                await self._io(fn, *args)
                return
            except TemporaryError as exc:
                attempt += 1
                log.warning("outbox busy; retrying the mark", error=str(exc))
                await self._timer.sleep(self._policy.delay(attempt, self._rng))

    def _disable(self, reply: Reply) -> None:
        self.disabled_reason = (
            f"Discord refused the webhook ({reply.error}); alerts are kept unsent in the "
            "outbox and written to the log until DISCORD_WEBHOOK_URL is fixed"
        )
        log.error("discord webhook disabled", reason=self.disabled_reason)
        self._health.record_error(self.disabled_reason)
        self._health.set_state(HealthState.UNHEALTHY, self.disabled_reason)
        self._idle.set()


async def _settle(task: asyncio.Task[Any]) -> BaseException | None:
    """Await a finished or cancelled ``task``; returns its failure instead of raising it."""
    try:
        await task
    except asyncio.CancelledError:
        return None
    except Exception as exc:
        return exc
    return None


def build_discord_notifier(
    settings: NotificationSettings,
    data_dir: Path,
    clock: Clock,
    timer: Timer,
    health: HealthReporter,
    observer: NotifierObserver | None = None,
) -> DiscordNotifier:
    """The production notifier: outbox at ``data_dir / "notifications.db"`` when a URL is set.

    ``clock`` stamps the outbox records (trading time); ``timer`` paces and delays the
    requests (waiting time, real in every mode); ``observer`` (the ``/metrics`` feed)
    hears of every delivery.

    Raises:
        StorageError: the outbox file cannot be opened.
    """
    outbox = Outbox(Path(data_dir) / OUTBOX_FILENAME) if settings.discord_webhook_url else None
    notifier = DiscordNotifier(settings, outbox, clock, health, timer=timer)
    notifier.observer = observer
    return notifier
