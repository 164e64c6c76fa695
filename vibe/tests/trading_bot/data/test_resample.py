from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.data.frames import dt_index
from vibe.trading_bot.data.resample import check_resample_source, resample_bars

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def _pandas_reference(frame: pd.DataFrame, rule: str, offset: str | None = None) -> pd.DataFrame:
    local = frame.tz_convert("America/New_York")
    parts = []
    for _, day in local.groupby(dt_index(local).date):
        parts.append(day.resample(rule, offset=offset, label="left", closed="left").agg(AGG))
    ref = pd.concat(parts).dropna()
    ref.index = dt_index(ref).tz_convert("UTC")
    ref["volume"] = ref["volume"].astype("int64")
    return ref


def test_5m_equals_pandas_reference(spy_1m, scheduler):
    ours = resample_bars(spy_1m, "5m", scheduler)
    ref = _pandas_reference(spy_1m, "5min")
    assert len(ours) == len(ref) > 19_000
    assert (ours.index == ref.index).all()
    np.testing.assert_array_equal(ours.to_numpy(), ref[list(AGG)].to_numpy())


def test_1h_is_anchored_to_the_session_open(spy_1m, scheduler):
    ours = resample_bars(spy_1m, "1h", scheduler)
    ref = _pandas_reference(spy_1m, "1h", offset="30min")
    local = dt_index(ours).tz_convert("America/New_York")
    assert set(local.minute) == {30}
    assert (ours.index == ref.index).all()
    np.testing.assert_array_equal(ours.to_numpy(), ref[list(AGG)].to_numpy())


def test_daily_matches_session_ohlcv(spy_1m, scheduler):
    daily = resample_bars(spy_1m, "1d", scheduler)
    local = spy_1m.tz_convert("America/New_York")
    by_day = local.groupby(dt_index(local).date).agg(AGG)
    assert len(daily) == len(by_day)
    assert (
        dt_index(daily).tz_convert("America/New_York").time == pd.Timestamp("00:00").time()
    ).all()
    np.testing.assert_array_equal(daily.to_numpy(), by_day[list(AGG)].to_numpy())
    early = daily.loc["2024-07-03"]
    day = local.loc["2024-07-03"]
    assert early["close"].iloc[0] == day["close"].iloc[-1]
    assert day.index[-1].strftime("%H:%M") == "12:59"


def test_dst_switch_keeps_0930_anchor(spy_1m, scheduler):
    # 2024-11-04 is the first session after the switch to EST (09:30 ET = 14:30 UTC)
    frame = spy_1m.loc["2024-11-01":"2024-11-05"]
    five = resample_bars(frame, "15m", scheduler)
    firsts = five.groupby(dt_index(five).tz_convert("America/New_York").date).head(1)
    assert [t.strftime("%H:%M") for t in firsts.index] == ["13:30", "14:30", "14:30"]


def test_out_of_session_bars_are_dropped(spy_1m, scheduler):
    frame = spy_1m.iloc[:10].copy()
    frame.index = frame.index - pd.Timedelta(hours=1)  # 08:30 ET, pre-market
    assert resample_bars(frame, "5m", scheduler).empty


def test_bad_resample_requests():
    with pytest.raises(InvalidInputError):
        check_resample_source("5m", "1m")
    with pytest.raises(InvalidInputError):
        check_resample_source("1h", "15m")
    check_resample_source("1m", "1d")
