"""Parquet cache of bar frames, served only where its recorded date range covers a request.

One Parquet file per symbol and timeframe (``<SYMBOL>_<timeframe>.parquet``)
plus a JSON sidecar (``….coverage.json``) listing the ``[start, end)`` ranges
that were fetched and when. A request is answered from the cache only when the
union of those ranges covers it; row counts are never used to guess coverage
(a weekend or a holiday legitimately has no rows). Coverage never extends past
the time of the fetch (bars that did not exist yet are not "covered").

Both "now"s (when a range was fetched, and today for the TTL) are the outside
world's time: the cache is given the *wall clock*, never a backtest's
simulated clock (which would clip every fetched range to its own start and
keep nothing; see "Two kinds of time" in DESIGN.md).

Freshness: a range that reaches into the current New York day expires
``ttl_seconds`` after it was fetched (``DATA_CACHE_TTL_SECONDS``); the part
before today stays valid. The cache does no network I/O itself; the data
manager's offline mode serves it alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from vibe.common.clock import Clock
from vibe.common.errors import StorageError
from vibe.trading_bot.core.scheduler import NEW_YORK
from vibe.trading_bot.data.frames import empty_bars, slice_range
from vibe.trading_bot.utils.atomic_file import replace_atomically, write_bytes_atomically

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class _Range:
    start: datetime
    end: datetime
    fetched_at: datetime


class ParquetCache:
    """Bar frames on disk with explicit range coverage.

    Args:
        directory: cache folder (created if missing).
        wall_clock: the outside world's time, "now" for coverage clipping and TTL
            (:class:`~vibe.common.clock.LiveClock` in production, never a simulated clock).
        ttl_seconds: lifetime of ranges that reach into today (seconds, > 0).

    Raises:
        StorageError: the folder cannot be created.
    """

    def __init__(self, directory: Path | str, wall_clock: Clock, ttl_seconds: float = 60.0) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create cache folder {self.directory}: {exc}") from exc
        self._wall_clock = wall_clock
        self._ttl = timedelta(seconds=ttl_seconds)

    def _paths(self, symbol: str, timeframe: str) -> tuple[Path, Path]:
        base = self.directory / f"{symbol}_{timeframe}"
        return base.with_suffix(".parquet"), base.with_suffix(".coverage.json")

    def coverage(self, symbol: str, timeframe: str) -> list[Span]:
        """Valid covered ``[start, end)`` ranges (merged, sorted, UTC), TTL applied."""
        now = self._wall_clock.now()
        today = now.astimezone(NEW_YORK).replace(hour=0, minute=0, second=0, microsecond=0)
        spans: list[Span] = []
        for item in self._read_ranges(symbol, timeframe):
            end = item.end
            if end > today and now - item.fetched_at > self._ttl:
                end = today
            if end > item.start:
                spans.append((item.start, end))
        return _merge(spans)

    def missing(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> list[Span]:
        """The parts of ``[start, end)`` the cache does not cover, oldest first."""
        gaps: list[Span] = []
        cursor = start
        for lo, hi in self.coverage(symbol, timeframe):
            if hi <= cursor:
                continue
            if lo >= end:
                break
            if lo > cursor:
                gaps.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < end:
            gaps.append((cursor, end))
        return gaps

    def load(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Cached bars with ``start <= timestamp < end`` (whatever is cached; may be empty).

        Raises:
            StorageError: the Parquet file exists but cannot be read.
        """
        frame = self._read_all(symbol, timeframe)
        return slice_range(frame, pd.Timestamp(start), pd.Timestamp(end))

    def _read_all(self, symbol: str, timeframe: str) -> pd.DataFrame:
        parquet, _ = self._paths(symbol, timeframe)
        if not parquet.exists():
            return empty_bars()
        try:
            return pd.read_parquet(parquet)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read cache file {parquet}: {exc}") from exc

    def store(
        self, symbol: str, timeframe: str, frame: pd.DataFrame, start: datetime, end: datetime
    ) -> None:
        """Merge ``frame`` (bars fetched for ``[start, end)``) into the cache and record coverage.

        Rows already cached in ``[start, end)`` are replaced by ``frame``'s. Coverage, and
        the rows kept, end at ``min(end, now)``: bars after "now" are not stored.

        Raises:
            StorageError: the files cannot be written.
        """
        parquet, sidecar = self._paths(symbol, timeframe)
        now = self._wall_clock.now()
        end = min(end, now)
        frame = slice_range(frame, pd.Timestamp(start), pd.Timestamp(end))
        old = self._read_all(symbol, timeframe)
        keep = old[(old.index < pd.Timestamp(start)) | (old.index >= pd.Timestamp(end))]
        merged = pd.concat([keep, frame]) if not keep.empty else frame
        merged = merged[~merged.index.duplicated(keep="last")].sort_index()
        ranges = _compact([*self._read_ranges(symbol, timeframe), _Range(start, end, now)], now)
        try:
            replace_atomically(parquet, merged.to_parquet)
            write_bytes_atomically(sidecar, json.dumps([_dump(r) for r in ranges]).encode())
        except OSError as exc:
            raise StorageError(f"cannot write cache file {parquet}: {exc}") from exc

    def _read_ranges(self, symbol: str, timeframe: str) -> list[_Range]:
        _, sidecar = self._paths(symbol, timeframe)
        if not sidecar.exists():
            return []
        try:
            raw = json.loads(sidecar.read_text())
            return [
                _Range(*(datetime.fromisoformat(item[k]) for k in ("start", "end", "fetched_at")))
                for item in raw
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"cannot read cache coverage {sidecar}: {exc}") from exc


def _compact(ranges: list[_Range], now: datetime) -> list[_Range]:
    """Merge ranges that end before today (their fetch time no longer matters)."""
    today = now.astimezone(NEW_YORK).replace(hour=0, minute=0, second=0, microsecond=0)
    old = _merge([(r.start, r.end) for r in ranges if r.end <= today and r.end > r.start])
    recent = [r for r in ranges if r.end > today and r.end > r.start]
    return [_Range(lo, hi, now) for lo, hi in old] + recent


def _dump(item: _Range) -> dict[str, str]:
    return {
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "fetched_at": item.fetched_at.isoformat(),
    }


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
