"""Yahoo chart API limits and yfinance error translation (pure functions).

Range limits of Yahoo's v8 chart endpoint as documented by yfinance
(``Ticker.history``: "Intraday data cannot extend last 60 days") and observed
in its 422 answers ("The requested range must be within the last 60 days"):

======== ================= ==================
interval per request span  oldest bar served
======== ================= ==================
1m       7 days            30 days back
5m, 15m  60 days           60 days back
1h (60m) 730 days          730 days back
1d       unlimited         unlimited
======== ================= ==================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vibe.common.errors import (
    DataError,
    NoDataError,
    RateLimitedError,
    TemporaryError,
    VibeError,
)


@dataclass(frozen=True, slots=True)
class RangeLimit:
    """Yahoo's limits for one interval: ``yf_interval`` name, max span and max age."""

    yf_interval: str
    max_span: timedelta | None
    max_age: timedelta | None


LIMITS: dict[str, RangeLimit] = {
    "1m": RangeLimit("1m", timedelta(days=7), timedelta(days=30)),
    "5m": RangeLimit("5m", timedelta(days=60), timedelta(days=60)),
    "15m": RangeLimit("15m", timedelta(days=60), timedelta(days=60)),
    "1h": RangeLimit("60m", timedelta(days=730), timedelta(days=730)),
    "1d": RangeLimit("1d", None, None),
}

#: Margin kept inside the oldest allowed time so a request sent a little later is still valid.
_AGE_MARGIN = timedelta(hours=1)


def plan_chunks(
    timeframe: str, start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """Split ``[start, end)`` into requests Yahoo accepts for ``timeframe``.

    The start is clipped to the oldest time Yahoo serves; the pieces are at
    most ``max_span`` long, oldest first.

    Raises:
        NoDataError: the whole range is older than Yahoo keeps for this interval.
    """
    limit = LIMITS[timeframe]
    if limit.max_age is not None:
        oldest = now - limit.max_age + _AGE_MARGIN
        if end <= oldest:
            cutoff = oldest.replace(microsecond=0).isoformat()
            raise NoDataError(
                f"Yahoo keeps {timeframe} bars for {limit.max_age.days} days; the requested range "
                f"ends {end.isoformat()}, before {cutoff}; older bars need bar files (--data DIR)"
            )
        start = max(start, oldest)
    if limit.max_span is None:
        return [(start, end)]
    chunks = []
    cursor = start
    while cursor < end:
        stop = min(cursor + limit.max_span, end)
        chunks.append((cursor, stop))
        cursor = stop
    return chunks


def translate_yfinance_error(exc: Exception, request: str) -> VibeError | None:
    """Map a yfinance/HTTP exception to the project's error, or ``None`` for "no rows".

    * ``YFRateLimitError`` (HTTP 429) -> :class:`RateLimitedError`;
    * ``YFPricesMissingError`` with Yahoo's own reason (404 "No data found, symbol
      may be delisted", 422 "…must be within the last 60 days") -> :class:`NoDataError`;
    * ``YFPricesMissingError`` without a reason (an empty answer for a weekend
      or holiday) -> ``None``: the caller returns an empty frame;
    * ``YFTzMissingError`` (unknown symbol) -> :class:`NoDataError`;
    * an unparseable body (``ValueError``) -> :class:`DataError`;
    * network failures (``OSError``, including requests/curl errors) -> :class:`TemporaryError`;
    * any other yfinance error -> :class:`DataError`.

    Args:
        exc: what yfinance raised.
        request: a short description of the request for the message, e.g. ``AAPL 1m 2024-10-02``.
    """
    name = type(exc).__name__
    if name == "YFRateLimitError":
        return RateLimitedError(f"Yahoo rate limited the request {request}")
    if name == "YFPricesMissingError":
        reason = getattr(exc, "yahoo_reason", None)
        if reason is None:
            return None
        return NoDataError(f"Yahoo has no data for {request}: {reason}")
    if name == "YFTzMissingError":
        return NoDataError(f"Yahoo does not know the symbol of {request}: {exc}")
    if isinstance(exc, ValueError):
        return DataError(f"Yahoo answered {request} with an unreadable body: {exc}")
    if isinstance(exc, OSError):
        return TemporaryError(f"Yahoo request {request} failed: {exc}")
    return DataError(f"Yahoo request {request} failed: {name}: {exc}")
