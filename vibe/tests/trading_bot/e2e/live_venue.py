"""Stand-ins for a live day on a fake clock: a Finnhub websocket and a Yahoo chart API.

Both serve a recorded real day from ``../shared/data`` on 127.0.0.1:

* :class:`FakeWallClock` maps the real monotonic time of the test to the wall
  clock of a daemon started under libfaketime, and changes its speed: real
  speed for the start-up and warm-up (libfaketime divides every socket and
  sleep timeout by the speed-up, so a 10 s HTTP timeout would last 25 ms at
  x400), then fast for the session.
* :class:`FinnhubStandIn` speaks Finnhub's trade protocol (token in the query,
  ``subscribe`` messages, ``trade`` batches). Once every symbol is subscribed
  it speeds the daemon's clock up, calibrates on the daemon's clock, and paces
  the day on it: the prints of minute ``M`` (rebuilt from the recorded 1-minute
  bar: open, high, low, close, the volume split over them) go out in one batch
  for every subscribed symbol ``offset_seconds`` (5) after ``M`` starts, so a
  bar reaches the daemon after its close, as live; after the close it keeps
  sending after-hours prints every fake minute (the first at the close) until
  the client goes away.
  With ``drop_at`` it closes the first connection at that minute; on the
  reconnect it slows the clock to real speed, sends the current minute (the
  prints of the outage are lost, as with Finnhub), waits until the daemon has
  asked Yahoo for the gap, and speeds up again. With ``pause_at`` it slows the
  clock to real speed at that minute and stays there until the connection is
  gone (a test kills the daemon meanwhile and starts a new one, which is served
  as a reconnect).
* :class:`YahooStandIn` answers yfinance's chart-v8 requests (``/v8/finance/chart``,
  plus the cookie and crumb calls) from the recorded bars, 1-minute or resampled
  to 5 minutes the way a replay resamples them, and records every request.
* :class:`DiscordInThread` runs the Discord webhook stand-in
  (:mod:`vibe.tests.trading_bot.notifications.discord_standin`) on its own
  event loop in a thread, for tests that are not async.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from vibe.tests.trading_bot.notifications.discord_standin import (
    DiscordStandIn,
    StandInServer,
    load_limits,
)
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.frames import dt_index
from vibe.trading_bot.data.resample import resample_bars


class FakeWallClock:
    """The daemon's libfaketime wall clock seen from the test, speed changes included.

    The daemon reads ``FAKETIME_TIMESTAMP_FILE`` (``@<start> x<speed>``, with
    ``FAKETIME_XRESET=1`` so that a new speed continues from the current fake
    time). It starts at ``start`` running at real speed when the process is
    executed (call :meth:`started` right before); :meth:`speed_up` rewrites the
    file. libfaketime rereads it within ``FAKETIME_CACHE_DURATION`` (1 real
    second), so after a speed-up the estimate may run ahead of the daemon's clock
    by up to ``speed`` fake seconds until :meth:`calibrate` reads the daemon's own
    clock from its ``/health/state``.
    """

    def __init__(self, start: datetime, rc_file: Path) -> None:
        self.start = start
        self.rc_file = rc_file
        self._anchor = (time.monotonic(), start)
        self._speed = 1.0
        rc_file.write_text(f"@{start:%Y-%m-%d %H:%M:%S} x1\n")

    def started(self) -> None:
        """The daemon is being executed now: its fake clock starts at ``start``."""
        self._anchor, self._speed = (time.monotonic(), self.start), 1.0

    def speed_up(self, speed: float) -> None:
        """From now on the daemon's fake clock runs ``speed`` times faster than real time."""
        now = self.now()
        self._anchor, self._speed = (time.monotonic(), now), speed
        self.rc_file.write_text(f"@{self.start:%Y-%m-%d %H:%M:%S} x{speed:g}\n")

    def restarted(self) -> None:
        """A new daemon is being executed now: its fake clock starts where this one is.

        libfaketime starts a new process at the file's ``@`` time, so the file is
        rewritten with the current fake time (whole seconds) at real speed.
        """
        self.start = self.now().replace(microsecond=0)
        self._anchor, self._speed = (time.monotonic(), self.start), 1.0
        self.rc_file.write_text(f"@{self.start:%Y-%m-%d %H:%M:%S} x1\n")

    def calibrate(self, state_url: str, samples: int = 5) -> float:
        """Re-anchor on the daemon's own clock (``now`` of ``/health/state``).

        The reading is bracketed by the real time before and after each request;
        the tightest of ``samples`` readings wins. Returns the correction in fake
        seconds (how far the estimate was ahead of the daemon).
        """
        best: tuple[float, float, datetime] | None = None
        with httpx.Client(timeout=5.0) as client:
            for _ in range(samples):
                before = time.monotonic()
                reply = client.get(state_url)
                after = time.monotonic()
                if reply.status_code != 200:
                    continue
                now = datetime.fromisoformat(reply.json()["now"])
                if best is None or after - before < best[1] - best[0]:
                    best = (before, after, now)
        assert best is not None, f"no answer from {state_url}"
        middle = (best[0] + best[1]) / 2
        estimate = self._at(middle)
        self._anchor = (middle, best[2])
        return (estimate - best[2]).total_seconds()

    def now(self) -> datetime:
        return self._at(time.monotonic())

    def _at(self, monotonic: float) -> datetime:
        real, fake = self._anchor
        return fake + timedelta(seconds=(monotonic - real) * self._speed)

    def real_seconds_until(self, at: datetime) -> float:
        return (at - self.now()).total_seconds() / self._speed


def minute_prints(frames: dict[str, pd.DataFrame], day_open: datetime, day_close: datetime):
    """``{minute start: [finnhub trade dicts]}`` rebuilding each recorded bar of the day exactly."""
    out: dict[datetime, list[dict[str, object]]] = {}
    for symbol, frame in frames.items():
        index = dt_index(frame)
        day = frame[(index >= pd.Timestamp(day_open)) & (index < pd.Timestamp(day_close))]
        stamps = dt_index(day).as_unit("ms").asi8.tolist()
        rows = day[["open", "high", "low", "close", "volume"]].itertuples(index=False)
        for ms, (o, h, lo, c, v) in zip(stamps, rows, strict=True):
            part = int(v) // 4
            sizes = (part, part, part, int(v) - 3 * part)
            minute = datetime.fromtimestamp(ms / 1000, UTC)
            for offset, price, size in zip(
                (0, 15_000, 30_000, 59_900), (o, h, lo, c), sizes, strict=True
            ):
                out.setdefault(minute, []).append(
                    {"s": symbol, "p": float(price), "t": ms + offset, "v": size, "c": ["1"]}
                )
    return dict(sorted(out.items()))


@dataclass
class FinnhubStandIn:
    """Finnhub's websocket on 127.0.0.1, pacing a recorded day on the daemon's fake clock."""

    clock: FakeWallClock
    prints: dict[datetime, list[dict[str, object]]]
    close: datetime
    symbols: int
    state_url: str
    token: str = "test-token"
    speed: float = 400.0
    offset_seconds: float = 5.0
    drop_at: datetime | None = None
    pause_at: datetime | None = None
    backfilled: Callable[[], bool] | None = None
    calibration_seconds: float = 0.0
    connections: int = 0
    subscriptions: list[list[str]] = field(default_factory=list)
    refused_tokens: int = 0
    after_hours_sent: int = 0
    #: the daemon's fake time when the session went on at full speed after the reconnect
    resumed_at: datetime | None = None
    #: set once the clock runs at real speed from ``pause_at`` on
    paused: threading.Event = field(default_factory=threading.Event)
    _server: Server | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                self._server = await serve(
                    self._handle, "127.0.0.1", 0, process_request=self._check
                )
                ready.set()
                await self._server.wait_closed()

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, name="finnhub-standin", daemon=True)
        self._thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(10)

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        if query.get("token") != [self.token]:
            self.refused_tokens += 1
            return connection.respond(401, "Invalid API key\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        subscribed: list[str] = []
        self.subscriptions.append(subscribed)
        complete = asyncio.Event()
        sender = asyncio.create_task(self._send_day(ws, subscribed, complete))
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "subscribe":
                    subscribed.append(message["symbol"])
                    if len(subscribed) >= self.symbols:
                        complete.set()
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()

    async def _send_day(
        self, ws: ServerConnection, subscribed: list[str], complete: asyncio.Event
    ) -> None:
        await complete.wait()
        connection = self.connections
        try:
            if connection == 1:  # warm-up done: the session runs at full speed
                await self._set_speed(self.speed)
                resume = None
            else:
                resume = await self._after_reconnect(ws, subscribed)
            for minute, prints in self.prints.items():
                if resume is not None and minute < resume:
                    continue  # lost in the outage (the daemon backfills from Yahoo)
                await self._sleep_until(minute + timedelta(seconds=self.offset_seconds))
                if connection == 1 and self.drop_at is not None and minute >= self.drop_at:
                    await ws.close()  # a server-side disconnect
                    return
                if self._pausing(connection, minute):
                    await self._set_speed(1.0)
                    self.paused.set()
                data = [p for p in prints if p["s"] in subscribed]
                if data:
                    await ws.send(json.dumps({"type": "trade", "data": data}))
            last = {str(p["s"]): p for prints in self.prints.values() for p in prints}
            minute = self.close
            while True:  # after-hours prints, until the daemon goes away
                # each sent at its own time (the first at the close itself): the daemon
                # is still connected then, however long its close takes on this machine
                await self._sleep_until(minute)
                ms = int(minute.timestamp() * 1000)
                data = [{**p, "t": ms, "v": 100} for s, p in last.items() if s in subscribed]
                await ws.send(json.dumps({"type": "trade", "data": data}))
                self.after_hours_sent += 1
                minute += timedelta(minutes=1)
        except ConnectionClosed:
            return

    def _pausing(self, connection: int, minute: datetime) -> bool:
        pause = self.pause_at
        first = connection == 1 and not self.paused.is_set()
        return first and pause is not None and minute >= pause

    async def _set_speed(self, speed: float) -> None:
        self.clock.speed_up(speed)
        await asyncio.sleep(1.5)  # libfaketime rereads its file within a second
        self.calibration_seconds = await asyncio.to_thread(self.clock.calibrate, self.state_url)

    async def _after_reconnect(self, ws: ServerConnection, subscribed: list[str]) -> datetime:
        """At real speed: the current minute and the next one at once, so the daemon sees
        its gap, then the session at full speed again once it asked Yahoo for the gap.

        Returns:
            The first minute still to send.
        """
        await self._set_speed(1.0)  # the backfill's HTTP timeouts must not be divided
        current = self.clock.now().replace(second=0, microsecond=0)
        for minute in (current, current + timedelta(minutes=1)):
            data = [p for p in self.prints.get(minute, []) if p["s"] in subscribed]
            if data:
                await ws.send(json.dumps({"type": "trade", "data": data}))
        deadline = time.monotonic() + 20
        while not (self.backfilled is not None and self.backfilled()):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        await self._set_speed(self.speed)
        self.resumed_at = self.clock.now()
        return current + timedelta(minutes=2)

    async def _sleep_until(self, at: datetime) -> None:
        wait = self.clock.real_seconds_until(at)
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass
class YahooStandIn:
    """yfinance's Yahoo chart-v8 endpoints on 127.0.0.1, answering from recorded 1m bars."""

    frames: dict[str, pd.DataFrame]
    scheduler: MarketScheduler
    chart_requests: list[dict[str, str]] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = stand_in.answer(self.path)
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str) -> tuple[int, bytes]:
        parsed = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if parsed.path.endswith("/getcrumb"):
            return 200, b"local-crumb"
        if not parsed.path.startswith("/v8/finance/chart/"):
            return 200, b"ok"
        symbol = parsed.path.rsplit("/", 1)[-1]
        if "period1" not in query:  # yfinance's time zone lookup
            return 200, self._chart(symbol, "1d", [], pd.DataFrame())
        self.chart_requests.append({"symbol": symbol, **query})
        interval = query.get("interval", "1m")
        frame = self.frames.get(symbol)
        if frame is None:
            body = {"chart": {"result": None, "error": {"code": "Not Found"}}}
            return 404, json.dumps(body).encode()
        if interval != "1m":
            frame = resample_bars(frame, interval, self.scheduler)
        lo = datetime.fromtimestamp(int(query["period1"]), UTC)
        hi = datetime.fromtimestamp(int(query["period2"]), UTC)
        index = dt_index(frame)
        window = frame[(index >= pd.Timestamp(lo)) & (index < pd.Timestamp(hi))]
        days = sorted({d.date() for d in dt_index(window).tz_convert("America/New_York")})
        return 200, self._chart(symbol, interval, days, window)

    def _chart(
        self, symbol: str, interval: str, days: Sequence[object], frame: pd.DataFrame
    ) -> bytes:
        periods = []
        for day in days:
            session = self.scheduler.session(day)  # type: ignore[arg-type]
            if session is not None:
                start, end = (int(t.timestamp()) for t in session)
                periods.append(
                    [{"timezone": "EST", "start": start, "end": end, "gmtoffset": -18000}]
                )
        stamps = (dt_index(frame).as_unit("s").asi8.tolist()) if not frame.empty else []
        meta = {
            "currency": "USD",
            "symbol": symbol,
            "exchangeName": "NMS",
            "instrumentType": "EQUITY",
            "gmtoffset": -18000,
            "timezone": "EST",
            "exchangeTimezoneName": "America/New_York",
            "regularMarketTime": (stamps[-1] + 60) if stamps else 0,
            "priceHint": 2,
            "dataGranularity": interval,
            "tradingPeriods": periods,
        }
        result: dict[str, object] = {"meta": meta}
        if stamps:
            result["timestamp"] = stamps
            result["indicators"] = {
                "quote": [
                    {
                        name: frame[name].astype(float if name != "volume" else int).tolist()
                        for name in ("open", "high", "low", "close", "volume")
                    }
                ]
            }
        else:
            result["indicators"] = {"quote": [{}]}
        return json.dumps({"chart": {"result": [result], "error": None}}).encode()


class DiscordInThread:
    """The Discord webhook stand-in served from a thread (see the module doc)."""

    def __init__(self, shared_data: Path) -> None:
        self.stand_in = DiscordStandIn(load_limits(shared_data))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Serve; returns a webhook URL."""
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with StandInServer(self.stand_in):
                ready.set()
                await self._stop.wait()

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self._thread.start()
        assert ready.wait(20)
        return self.stand_in.add_webhook("1", "live-token")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def titles(self) -> list[str]:
        """Titles of every embed Discord accepted."""
        return [
            str(embed.get("title", ""))
            for _, body in self.stand_in.accepted
            for embed in body.get("embeds", [])
        ]
