"""Live trades from Finnhub's websocket, aggregated into 1-minute bars.

Connects to ``FINNHUB_WS_URL`` with ``token=<FINNHUB_API_KEY>`` added to its
query, percent-encoded (:func:`~.finnhub_protocol.stream_url`; the token never
appears in logs or errors), subscribes every symbol, and feeds trade prints
through a :class:`~vibe.trading_bot.data.aggregator.BarAggregator`.

Robustness rules:

* any disconnect or connection failure -> reconnect after an exponential
  backoff with jitter (``initial * 2**(n-1)``, capped at ``max_backoff``,
  then a random 50-100 % of it, "equal jitter" as in the AWS architecture
  blog's backoff study), then resubscribe every symbol; the bar being built
  survives the reconnect;
* HTTP 401/403 on connect (bad key) is not retried: :class:`OperationalError`;
* after ``max_attempts`` consecutive failed connects the stream gives up with
  :class:`OperationalError` so the data manager can fall back to Yahoo polling;
* silent stream: no message for ``silence_seconds`` (real seconds on the
  :class:`~vibe.common.clock.Timer`, like the backoff sleeps) while the
  market is open -> counted, reported DEGRADED, and the connection is recycled;
* cancellation always stops the stream (no ``asyncio.wait_for``, see
  CPython issue 86296); the socket's close handshake is bounded by
  ``close_timeout``;
* ``ping`` messages are ignored; ``error`` messages are counted and reported;
  a malformed message is counted, logged and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import OperationalError
from vibe.common.models import Bar
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.aggregator import BarAggregator
from vibe.trading_bot.data.providers.finnhub_protocol import (
    MalformedMessageError,
    parse_message,
    redact_token,
    stream_url,
    subscribe_message,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


class _SilentStreamError(Exception):
    """No message for too long during the session; recycle the connection."""


class FinnhubProvider:
    """Finnhub websocket trades -> closed 1-minute bars.

    Args:
        api_key: the Finnhub token (``FINNHUB_API_KEY``; pass ``SecretStr.get_secret_value()``).
        scheduler: market calendar (session filter, silence only counts in session).
        clock: trading time, for bar emission and whether the market is open.
        health: where connection state and errors are reported.
        url: websocket URL (``FINNHUB_WS_URL``, ws:// or wss://, may carry a path and a
            query); the token is added to its query.
        silence_seconds: no message this long in session = silent stream (seconds).
        initial_backoff_seconds: first reconnect delay (seconds).
        max_backoff_seconds: cap of the reconnect delay (seconds).
        max_attempts: consecutive failed connects before giving up (``None``: never).
        tick_seconds: how often (real seconds) the receive loop wakes to emit due bars.
        rng: random source for the jitter (tests pass a seeded one).
        timer: waiting time for the silence check and backoff sleeps (default real).

    Attributes:
        reconnects, malformed_messages, error_messages, pings, silent_streams: counters.
    """

    name = "finnhub"

    def __init__(  # noqa: PLR0913 - every knob is a documented setting
        self,
        api_key: str,
        scheduler: MarketScheduler,
        clock: Clock,
        health: HealthReporter,
        url: str = "wss://ws.finnhub.io",
        silence_seconds: float = 120.0,
        initial_backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        max_attempts: int | None = None,
        tick_seconds: float = 1.0,
        rng: random.Random | None = None,
        timer: Timer | None = None,
    ) -> None:
        self._api_key = api_key
        self._url = url
        self._scheduler = scheduler
        self._clock = clock
        self._timer = timer or MonotonicTimer()
        self._health = health
        self._silence = silence_seconds
        self._backoff = (initial_backoff_seconds, max_backoff_seconds)
        self._max_attempts = max_attempts
        self._tick = tick_seconds
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.aggregator = BarAggregator(scheduler)
        self.connected = False
        self.reconnects = 0
        self.malformed_messages = 0
        self.error_messages = 0
        self.pings = 0
        self.silent_streams = 0

    async def connect(self) -> None:
        """Nothing to do up front; :meth:`stream_bars` connects."""

    async def close(self) -> None:
        """Nothing held outside :meth:`stream_bars` (closing its iterator closes the socket)."""

    def backoff_seconds(self, attempt: int) -> float:
        """Delay before reconnect number ``attempt`` (1-based), jitter included, in seconds."""
        initial, cap = self._backoff
        delay = min(cap, initial * 2 ** max(0, attempt - 1))
        return float(delay * (0.5 + 0.5 * self._rng.random()))

    async def stream_bars(self, symbols: Sequence[str]) -> AsyncIterator[Bar]:
        """Closed 1-minute bars of ``symbols`` from live trades, reconnecting as needed.

        Raises:
            OperationalError: the key was refused, or ``max_attempts`` connects failed in a row.
        """
        failures = 0
        while True:
            try:
                async with connect(stream_url(self._url, self._api_key), **_CONNECT) as ws:
                    await self._subscribe(ws, symbols)
                    failures = 0
                    async for bar in self._receive(ws):
                        yield bar
            except InvalidStatus as exc:
                self._refused(exc)
                reason = f"handshake refused with HTTP {exc.response.status_code}"
            except (OSError, TimeoutError, WebSocketException, _SilentStreamError) as exc:
                reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
            failures += 1
            self._disconnected(reason, failures)
            await self._timer.sleep(self.backoff_seconds(failures))
            self.reconnects += 1

    async def _subscribe(self, ws: ClientConnection, symbols: Sequence[str]) -> None:
        for symbol in symbols:
            await ws.send(subscribe_message(symbol))
        self.connected = True
        self._health.set_state(HealthState.HEALTHY, f"finnhub connected, {len(symbols)} symbols")
        _log.info("finnhub subscribed", symbols=list(symbols), reconnects=self.reconnects)

    async def _receive(self, ws: ClientConnection) -> AsyncIterator[Bar]:
        """Bars from the socket's prints; minutes closed by the next print or on time.

        On time means: after a quiet ``tick_seconds`` on the clock; right after a
        message, by the stream's own time (the newest print, never ahead of the
        clock). A wait that overran by more than a tick (the process was stalled)
        closes nothing: what arrived meanwhile is read first, so a minute whose
        prints span several messages is never cut between them.
        """
        last_message = self._timer.monotonic()
        while True:
            waiting_since = self._timer.monotonic()
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that races with a message (CPython issue 86296), and the
                # live driver's close then waits forever on a stream that never stops.
                async with asyncio.timeout(self._tick):
                    raw = await ws.recv()
            except TimeoutError:
                if self._timer.monotonic() - waiting_since < 2 * self._tick:
                    for bar in self.aggregator.flush_due(self._clock.now()):
                        yield bar
                self._check_silence(last_message)
                continue
            last_message = self._timer.monotonic()
            for bar in self._handle(raw):
                yield bar
            streamed = self.aggregator.stream_time()
            if streamed is not None:
                for bar in self.aggregator.flush_due(min(streamed, self._clock.now())):
                    yield bar

    def _handle(self, raw: str | bytes) -> list[Bar]:
        try:
            message = parse_message(raw)
        except MalformedMessageError as exc:
            self.malformed_messages += 1
            _log.warning("finnhub malformed message skipped", error=str(exc))
            return []
        if message.kind == "ping":
            self.pings += 1
        elif message.kind == "error":
            self.error_messages += 1
            self._health.record_error(f"finnhub: {message.error}")
            self._health.set_state(HealthState.DEGRADED, f"finnhub error: {message.error}")
        bars = []
        for trade in message.trades:
            bar = self.aggregator.add_trade(trade.symbol, trade.ts_ms, trade.price, trade.size)
            if bar is not None:
                bars.append(bar)
        return bars

    def _check_silence(self, last_message: float) -> None:
        silent_for = self._timer.monotonic() - last_message
        if silent_for >= self._silence and self._scheduler.is_open(self._clock.now()):
            self.silent_streams += 1
            self._health.set_state(
                HealthState.DEGRADED, f"finnhub silent for {silent_for:.0f}s during the session"
            )
            raise _SilentStreamError(f"no message for {silent_for:.0f}s")

    def _refused(self, exc: InvalidStatus) -> None:
        status = exc.response.status_code
        if status in (401, 403):
            self._health.set_state(
                HealthState.UNHEALTHY, f"finnhub refused the key (HTTP {status})"
            )
            raise OperationalError(
                f"Finnhub refused the API key (HTTP {status}); check FINNHUB_API_KEY"
            ) from None

    def _disconnected(self, reason: str, failures: int) -> None:
        self.connected = False
        self._health.record_error(f"finnhub disconnected: {reason}")
        self._health.set_state(HealthState.DEGRADED, f"finnhub reconnecting: {reason}")
        _log.warning("finnhub disconnected", reason=reason, consecutive_failures=failures)
        if self._max_attempts is not None and failures >= self._max_attempts:
            self._health.set_state(HealthState.UNHEALTHY, "finnhub gave up reconnecting")
            raise OperationalError(
                f"Finnhub stream lost {failures} times in a row (last: {reason}); giving up"
            )

    def _redact(self, text: str) -> str:
        return redact_token(text, self._api_key)


_CONNECT: dict[str, Any] = {
    "open_timeout": 10,
    "ping_interval": 20,
    "ping_timeout": 20,
    "close_timeout": 2,
}
