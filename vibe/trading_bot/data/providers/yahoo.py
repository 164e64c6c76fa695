"""Yahoo Finance bars through yfinance: history in chunks, and a polling stream.

yfinance is blocking, so every call runs in ``asyncio.to_thread``, paced by a
:class:`~vibe.trading_bot.data.rate_limit.RateLimiter` (``YAHOO_RATE_LIMIT``
requests/s). Long ranges are cut to Yahoo's limits
(:func:`~vibe.trading_bot.data.providers.yahoo_rules.plan_chunks`) and the
answers concatenated. Normalisation of every answer:

* rows with a null price (Yahoo sends ``null`` for minutes it has no trade) are dropped;
* the extra "current price" point Yahoo appends after the last bar (e.g. 16:00
  ET on a 1-minute day) is removed by the regular-session filter (intraday bars
  must start in ``[open, close)``), and bars not yet closed at ``wall_clock.now()``
  are removed too;
* daily bars are labelled with the session date at 00:00 America/New_York (UTC index).

Which clock: what Yahoo has is the outside world's business, so the provider
reads the *wall clock* (see "Two kinds of time" in DESIGN.md): Yahoo's
retention windows (5-minute bars for 60 days back from today, not from a
backtest's simulated date), which bars have closed, and when to poll. A
backtest on a simulated clock two months back still gets every bar of its
range. Polling runs in a live run only, where the trading clock *is* the wall
clock (a :class:`~vibe.common.clock.LiveClock`, or a test's stand-in for it).

Where requests go: ``base_url`` (``YAHOO_BASE_URL``). At the public default
yfinance manages its own session; any other value hands yfinance a
:class:`~.yahoo_session.RewritingSession` that sends every Yahoo request
(cookie, crumb, chart) to that host. A session can also be injected directly
(tests replaying recorded answers).

The blocking yfinance calls run on the provider's own small thread pool
(``max_workers`` threads), not the event loop's default executor: a request
abandoned by a caller's timeout keeps its thread until yfinance's own timeout
ends it, and must not starve the other ``to_thread`` users (SQLite writes).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.errors import TemporaryError
from vibe.common.models import Bar
from vibe.trading_bot.config.settings import PUBLIC_YAHOO_BASE_URL
from vibe.trading_bot.core.scheduler import NEW_YORK, MarketScheduler
from vibe.trading_bot.data.frames import (
    check_range,
    dt_index,
    empty_bars,
    frame_to_bars,
    normalize_bars,
    slice_range,
    timeframe_seconds,
)
from vibe.trading_bot.data.providers.yahoo_rules import (
    LIMITS,
    plan_chunks,
    translate_yfinance_error,
)
from vibe.trading_bot.data.providers.yahoo_session import yahoo_session
from vibe.trading_bot.data.rate_limit import RateLimiter
from vibe.trading_bot.data.resample import session_positions
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


def forget_yfinance_memo() -> None:
    """Empty yfinance's in-process memo of GET answers.

    yfinance memoizes requests whose range ended over 30 minutes ago (an LRU of
    64 answers), failed answers included: without this, retrying a failed
    backfill of a past range would be answered from the memo, never from Yahoo.
    """
    from yfinance.data import YfData

    clear = getattr(YfData.cache_get, "cache_clear", None)
    if clear is not None:
        clear()


class YahooProvider:
    """History (and polling) from Yahoo Finance via yfinance.

    Args:
        scheduler: market calendar for the regular-session filter and polling.
        wall_clock: the outside world's time, never a backtest's simulated clock: "now"
            for Yahoo's range limits, for which bars have closed and for polling (see
            module doc); :class:`~vibe.common.clock.LiveClock` in production.
        rate_limit_per_second: max Yahoo requests per second (``YAHOO_RATE_LIMIT``).
        session: HTTP session handed to yfinance (``None``: the one ``base_url`` needs).
        base_url: ``YAHOO_BASE_URL``, the Yahoo host or a mirror (ignored when ``session``
            is given).
        poll_timeframe: bar timeframe of :meth:`stream_bars`.
        poll_delay_seconds: wait after a bar closes before polling for it (Yahoo lags a little).
        timeout_seconds: HTTP timeout per request.
        timer: waiting time for the rate limiter and the waits between polls (real by
            default; the wait until a bar closes is measured on ``wall_clock``, slept on
            ``timer``).
        max_workers: threads running yfinance calls at once.
    """

    name = "yahoo"

    def __init__(  # noqa: PLR0913 - every knob is a documented setting
        self,
        scheduler: MarketScheduler,
        wall_clock: Clock,
        rate_limit_per_second: float = 2.0,
        session: Any = None,
        poll_timeframe: str = "1m",
        poll_delay_seconds: float = 5.0,
        timeout_seconds: float = 10.0,
        timer: Timer | None = None,
        base_url: str = PUBLIC_YAHOO_BASE_URL,
        max_workers: int = 4,
    ) -> None:
        self._scheduler = scheduler
        self._wall_clock = wall_clock
        self._timer = timer or MonotonicTimer()
        self._limiter = RateLimiter(rate_limit_per_second, self._timer)
        self.base_url = base_url.rstrip("/")
        self._session = session if session is not None else yahoo_session(self.base_url)
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="yahoo")
        self._poll_timeframe = poll_timeframe
        self._poll_delay = poll_delay_seconds
        self._timeout = timeout_seconds
        timeframe_seconds(poll_timeframe)
        self.requests = 0
        self.reconnects = 0

    async def connect(self) -> None:
        """Nothing to open: yfinance manages its HTTP session and cookies."""

    async def close(self) -> None:
        """Stop the thread pool (a request still running ends with its own timeout)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def get_history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Regular-session bars with ``start <= timestamp < end`` closed by the wall clock's now.

        Returns:
            A bar frame; empty when the range holds no session (weekend, holiday).

        Raises:
            InvalidInputError: unknown timeframe, naive datetimes, ``end <= start``.
            NoDataError: unknown symbol, or the range is older than Yahoo keeps.
            RateLimitedError: Yahoo answered 429.
            TemporaryError: network failure.
            DataError: an unreadable answer.
        """
        lo, hi = check_range(start, end)
        seconds = timeframe_seconds(timeframe)
        now = self._wall_clock.now()
        parts = []
        for chunk_start, chunk_end in plan_chunks(timeframe, lo, hi, now):
            parts.append(await self._fetch(symbol, timeframe, chunk_start, chunk_end))
        frames = [p for p in parts if not p.empty]
        if not frames:
            return empty_bars()
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
        frame = self._session_filter(frame, seconds)
        if frame.empty:
            return frame
        stamps = dt_index(frame).asi8 // 1_000_000_000
        closed = stamps + seconds <= now.timestamp()
        return slice_range(frame[closed], lo, hi)

    async def _fetch(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        await self._limiter.acquire()
        self.requests += 1
        request = f"{symbol} {timeframe} {start.isoformat()}..{end.isoformat()}"
        try:
            loop = asyncio.get_running_loop()
            raw = await loop.run_in_executor(
                self._executor, self._download, symbol, timeframe, start, end
            )
        except Exception as exc:  # yfinance raises many unrelated types; all are translated
            forget_yfinance_memo()  # else a retry of this range gets the same failed answer
            error = translate_yfinance_error(exc, request)
            if error is None:
                return empty_bars()
            raise error from exc
        if raw is None or raw.empty:
            return empty_bars()
        return normalize_bars(raw, f"Yahoo {request}")

    def _download(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> Any:
        import yfinance as yf

        # yfinance emits pandas deprecation warnings from its own code; they are not ours.
        # A filter, not catch_warnings() in the worker: that is not thread-safe, and
        # several downloads run at once. Set after the import, which puts a "default"
        # filter for yfinance's DeprecationWarnings in front of any set before.
        warnings.filterwarnings("ignore", module="yfinance")
        # Make yfinance raise its errors (instead of printing them) so they can be mapped.
        yf.config.debug.hide_exceptions = False
        ticker = yf.Ticker(symbol, session=self._session)
        return ticker.history(
            start=start,
            end=end,
            interval=LIMITS[timeframe].yf_interval,
            prepost=False,
            auto_adjust=False,
            actions=False,
            timeout=self._timeout,
        )

    def _session_filter(self, frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
        if frame.empty:
            return frame
        if seconds >= 86400:
            days = dt_index(frame).tz_convert(NEW_YORK).normalize()
            keep = np.array([self._scheduler.session(d.date()) is not None for d in days])
            out = frame[keep].copy()
            out.index = days[keep].tz_convert("UTC").rename("timestamp")
            return out
        _, valid, _ = session_positions(frame, self._scheduler)
        return frame[valid]

    async def stream_bars(self, symbols: Sequence[str]) -> AsyncIterator[Bar]:
        """Poll the latest closed bars of ``symbols`` once per bar interval, in session only.

        Each poll asks for bars after the last one seen (from the session open);
        failures that are temporary are logged and retried at the next poll.
        """
        seconds = timeframe_seconds(self._poll_timeframe)
        last: dict[str, datetime] = {}
        while True:
            now = self._wall_clock.now()
            bounds = self._scheduler.session_bounds_at(now.timestamp())
            if bounds is None:  # just after a close: one more poll picks up the last bar
                lookback = now.timestamp() - seconds - self._poll_delay
                bounds = self._scheduler.session_bounds_at(lookback)
            if bounds is None:
                wake = self._scheduler.next_open(now) + timedelta(seconds=seconds)
                await self._timer.sleep((wake - now).total_seconds() + self._poll_delay)
                continue
            session_open = datetime.fromtimestamp(bounds[0], tz=now.tzinfo)
            for symbol in symbols:
                for bar in await self._poll(symbol, session_open, last, now, seconds):
                    last[symbol] = bar.timestamp
                    yield bar
            await self._timer.sleep(self._until_next_poll(seconds))

    async def _poll(
        self,
        symbol: str,
        session_open: datetime,
        last: dict[str, datetime],
        now: datetime,
        seconds: int,
    ) -> list[Bar]:
        seen = last.get(symbol)
        start = max(session_open, seen + timedelta(seconds=seconds)) if seen else session_open
        if start >= now:
            return []
        try:
            frame = await self.get_history(symbol, self._poll_timeframe, start, now)
        except TemporaryError as exc:
            _log.warning("yahoo poll failed", symbol=symbol, error=str(exc))
            return []
        return list(frame_to_bars(symbol, frame, seconds))

    def _until_next_poll(self, seconds: int) -> float:
        now = self._wall_clock.now().timestamp()
        next_boundary = (now // seconds + 1) * seconds
        return next_boundary - now + self._poll_delay
