"""Strategy hot paths on a real year of SPY 1-minute bars (99,264 bars, 255 sessions).

Prints ``OrbStrategy.on_bar`` cost in microseconds per bar (the live/backtest
path) and ``orb_signals`` throughput in bars per second (the research path).
Targets from issue 5: on_bar <= 1 us per bar on average; orb_signals >= 2,000,000
bars/s. Run with ``.venv/bin/python benchmarks/bench_strategy.py``; no thresholds
are enforced here.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vibe.common.models import Bar, PositionSide, SignalAction
from vibe.common.strategies import BarContext, OrbStrategy
from vibe.common.strategies.orb_vectorized import orb_signals, session_bounds

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPY_YEAR = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
SESSIONS = DATA / "calendar" / "XNYS_sessions_2024_2026.csv"
REPEATS = 7


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(SPY_YEAR)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True))
    return frame, pd.read_csv(SESSIONS, index_col="date")


def bars_and_contexts(frame: pd.DataFrame, sessions: pd.DataFrame) -> list[tuple[Bar, BarContext]]:
    opens, closes = session_bounds(sessions)
    index = pd.DatetimeIndex(frame.index)
    sid = np.searchsorted(opens, np.asarray(index.as_unit("ns").asi8), side="right") - 1
    made: dict[int, BarContext] = {}
    cols = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    pairs = []
    for s, t, o, h, lo, c, v in zip(sid, index.to_pydatetime(), *cols, strict=True):
        if s not in made:
            made[s] = BarContext(
                pd.Timestamp(opens[s], tz="UTC").to_pydatetime(),
                pd.Timestamp(closes[s], tz="UTC").to_pydatetime(),
            )
        pairs.append((Bar("SPY", t, float(o), float(h), float(lo), float(c), int(v)), made[s]))
    return pairs


def run_on_bar(pairs: list[tuple[Bar, BarContext]]) -> float:
    """Seconds for one pass; the position opens at an entry and closes at the flatten."""
    strategy = OrbStrategy()
    on_bar = strategy.on_bar
    long_, short = SignalAction.OPEN_LONG, SignalAction.OPEN_SHORT
    start = time.perf_counter()
    for bar, ctx in pairs:
        signals = on_bar(bar, ctx)
        if signals:
            action = signals[0].action
            ctx.position = (
                PositionSide.LONG
                if action is long_
                else PositionSide.SHORT
                if action is short
                else None
            )
    elapsed = time.perf_counter() - start
    for _, ctx in pairs:
        ctx.position = None
    return elapsed


def empty_loop(pairs: list[tuple[Bar, BarContext]]) -> float:
    start = time.perf_counter()
    for _bar, _ctx in pairs:
        pass
    return time.perf_counter() - start


def main() -> None:
    """Print the figures."""
    frame, sessions = load()
    pairs = bars_and_contexts(frame, sessions)
    n = len(pairs)
    per_bar = [run_on_bar(pairs) / n * 1e6 for _ in range(REPEATS)]
    loop = min(empty_loop(pairs) for _ in range(REPEATS)) / n * 1e6
    print(f"bars: {n:,} (SPY 1m, {frame.index[0].date()}..{frame.index[-1].date()})")
    print(
        f"on_bar: median {statistics.median(per_bar):.3f} us/bar, best {min(per_bar):.3f}"
        f" us/bar (incl. the caller's loop; bare loop {loop:.3f} us/bar); target <= 1 us"
    )
    orb_signals(frame, sessions)  # warm caches
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        orb_signals(frame, sessions)
        runs.append(time.perf_counter() - start)
    print(
        f"orb_signals: median {n / statistics.median(runs):,.0f} bars/s, best"
        f" {n / min(runs):,.0f} bars/s ({min(runs) * 1e3:.1f} ms); target >= 2,000,000"
    )


if __name__ == "__main__":
    main()
