"""Shared helpers for the ORB tests: real bars, XNYS sessions, the per-bar runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from vibe.common.models import Bar, PositionSide, SignalAction
from vibe.common.strategies import BarContext, OrbParams, OrbStrategy
from vibe.common.strategies.orb_vectorized import SIGNAL_COLUMNS, session_bounds

ET = ZoneInfo("America/New_York")
COMPARED = list(SIGNAL_COLUMNS[2:])  # what both implementations decide (not session/bar_start)


def load_bars(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True))
    return frame


def load_sessions(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "calendar" / "XNYS_sessions_2024_2026.csv", index_col="date")


def hand_frame(
    day: str,
    rows: list[tuple[float, float, float, float, int]],
    minutes: int = 15,
    start: str = "09:30",
    skip: tuple[int, ...] = (),
) -> pd.DataFrame:
    """Bars of ``minutes`` length from ``start`` ET on ``day``; slots in ``skip`` are missing."""
    first = datetime.fromisoformat(f"{day}T{start}").replace(tzinfo=ET)
    slots = [i for i in range(len(rows) + len(skip)) if i not in skip]
    index = pd.DatetimeIndex([first + timedelta(minutes=minutes * i) for i in slots]).tz_convert(
        UTC
    )
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=index)


def to_bars(frame: pd.DataFrame, symbol: str = "SPY") -> list[Bar]:
    index = pd.DatetimeIndex(frame.index)
    interval = int(np.min(np.diff(index.as_unit("ns").asi8)) // 1_000_000_000)
    cols = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    return [
        Bar(symbol, t, float(o), float(h), float(lo), float(c), int(v), interval)
        for t, o, h, lo, c, v in zip(index.to_pydatetime(), *cols, strict=True)
    ]


def contexts(frame: pd.DataFrame, sessions: pd.DataFrame) -> list[BarContext]:
    opens, closes = session_bounds(sessions)
    index = pd.DatetimeIndex(frame.index)
    sid = np.searchsorted(opens, index.as_unit("ns").asi8, side="right") - 1
    made: dict[int, BarContext] = {}
    out = []
    for s in sid:
        if s not in made:
            made[s] = BarContext(
                pd.Timestamp(opens[s], tz="UTC").to_pydatetime().astimezone(ET),
                pd.Timestamp(closes[s], tz="UTC").to_pydatetime().astimezone(ET),
            )
        out.append(made[s])
    return out


def run_per_bar(
    bars: list[Bar], ctxs: list[BarContext], params: OrbParams | None = None
) -> pd.DataFrame:
    """Feed every bar through OrbStrategy; a position stays open from entry to flatten."""
    strategy = OrbStrategy(params)
    rows: list[tuple[object, ...]] = []
    for bar, ctx in zip(bars, ctxs, strict=True):
        for sig in strategy.on_bar(bar, ctx):
            if sig.action is SignalAction.CLOSE:
                ctx.position = None
            else:
                ctx.position = (
                    PositionSide.LONG
                    if sig.action is SignalAction.OPEN_LONG
                    else (PositionSide.SHORT)
                )
            rows.append(
                (
                    sig.timestamp,
                    sig.action.value,
                    sig.price,
                    np.nan if sig.stop_price is None else sig.stop_price,
                    np.nan if sig.take_profit_price is None else sig.take_profit_price,
                    None if sig.exit_reason is None else sig.exit_reason.value,
                    None,
                )
            )
        for rej in strategy.pop_rejections():
            rows.append(
                (rej.timestamp, rej.action.value, rej.price, np.nan, np.nan, None, rej.rule)
            )
    for ctx in ctxs:
        ctx.position = None
    return normalise(pd.DataFrame(rows, columns=COMPARED))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[COMPARED].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).dt.as_unit("ns")
    for col in ("price", "stop_price", "take_profit_price"):
        out[col] = out[col].astype("float64")
    for col in ("action", "exit_reason", "rejected_by"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)
