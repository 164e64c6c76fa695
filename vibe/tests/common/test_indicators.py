"""Indicators against the `ta` package and hand-written formula loops, on real SPY bars."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibe.common import indicators as ind
from vibe.common.errors import InvalidInputError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import ta  # type: ignore[import-untyped]


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "bars_5m" / "yfinance_2025-06_2025-08" / "SPY_5m.csv")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True))
    return frame.iloc[:2000]


def leading_nans(series: pd.Series) -> int:
    return int(series.notna().to_numpy().argmax())


def test_sma_and_ema_match_ta(bars):
    close = bars.close
    sma = ind.sma(close, 20)
    pd.testing.assert_series_equal(
        sma, ta.trend.SMAIndicator(close, 20).sma_indicator(), check_names=False
    )
    ema = ind.ema(close, 12)
    pd.testing.assert_series_equal(
        ema, ta.trend.EMAIndicator(close, 12).ema_indicator(), check_names=False
    )
    assert (leading_nans(sma), leading_nans(ema)) == (19, 11)


def test_macd_matches_ta(bars):
    out = ind.macd(bars.close)
    ref = ta.trend.MACD(bars.close)
    np.testing.assert_allclose(out.macd, ref.macd(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(out.signal, ref.macd_signal(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(
        out.histogram, ref.macd_diff(), rtol=1e-9, atol=1e-12, equal_nan=True
    )
    assert (leading_nans(out.macd), leading_nans(out.signal)) == (25, 33)


def test_bollinger_matches_ta(bars):
    out = ind.bollinger_bands(bars.close, 20, 2.0)
    ref = ta.volatility.BollingerBands(bars.close, 20, 2)
    np.testing.assert_allclose(out.middle, ref.bollinger_mavg(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(out.upper, ref.bollinger_hband(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(out.lower, ref.bollinger_lband(), rtol=1e-12, equal_nan=True)
    assert leading_nans(out.upper) == 19


def test_atr_matches_ta(bars):
    out = ind.atr(bars.high, bars.low, bars.close, 14)
    ref = ta.volatility.AverageTrueRange(bars.high, bars.low, bars.close, 14).average_true_range()
    assert leading_nans(out) == 13
    np.testing.assert_allclose(out.iloc[13:], ref.iloc[13:], rtol=1e-10)


def wilder_rsi_loop(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder (1978), written as the book states it."""
    change = np.diff(close)
    gains, losses = np.clip(change, 0, None), np.clip(-change, 0, None)
    out = np.full(close.size, np.nan)
    avg_g, avg_l = gains[:n].mean(), losses[:n].mean()
    for i in range(n, close.size):
        if i > n:
            avg_g = (avg_g * (n - 1) + gains[i - 1]) / n
            avg_l = (avg_l * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_l == 0 else 100 - 100 / (1 + avg_g / avg_l)
    return out


def test_rsi_matches_wilder_and_converges_to_ta(bars):
    out = ind.rsi(bars.close, 14)
    assert leading_nans(out) == 14
    np.testing.assert_allclose(
        out, wilder_rsi_loop(bars.close.to_numpy(), 14), rtol=1e-9, equal_nan=True
    )
    ref = ta.momentum.RSIIndicator(bars.close, 14).rsi()
    np.testing.assert_allclose(out.iloc[300:], ref.iloc[300:], atol=1e-6)
    assert ((out.dropna() >= 0) & (out.dropna() <= 100)).all()


def test_rsi_of_a_rising_series_is_100():
    rising = pd.Series(np.arange(1.0, 40.0))
    assert (ind.rsi(rising, 14).dropna() == 100.0).all()


def test_session_vwap_restarts_each_session(bars):
    out = ind.session_vwap(bars.high, bars.low, bars.close, bars.volume)
    days = bars.index.tz_convert("America/New_York").date
    expected = np.empty(len(bars))
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        pv = vol = 0.0
        for i in rows:
            pv += (
                (bars.high.iloc[i] + bars.low.iloc[i] + bars.close.iloc[i])
                / 3
                * bars.volume.iloc[i]
            )
            vol += bars.volume.iloc[i]
            expected[i] = pv / vol if vol else np.nan
    np.testing.assert_array_equal(out.to_numpy(), expected)
    first_bars = np.r_[True, days[1:] != days[:-1]]
    typical = (bars.high + bars.low + bars.close) / 3
    np.testing.assert_allclose(out[first_bars], typical[first_bars], rtol=1e-12)


def test_mean_and_relative_volume(bars):
    vol = bars.volume.astype(float)
    mean = ind.mean_volume(vol, 20)
    assert leading_nans(mean) == 20
    i = 500
    assert mean.iloc[i] == pytest.approx(vol.iloc[i - 20 : i].mean())
    rel = ind.relative_volume(vol, 20)
    assert rel.iloc[i] == pytest.approx(vol.iloc[i] / vol.iloc[i - 20 : i].mean())


@pytest.mark.parametrize("name", ["sma", "ema", "mean_volume"])
def test_features_never_look_ahead(bars, name):
    func = getattr(ind, name)
    base = func(bars.close if name != "mean_volume" else bars.volume.astype(float), 10)
    mutated = (bars.close if name != "mean_volume" else bars.volume.astype(float)).copy()
    mutated.iloc[1000:] = mutated.iloc[1000:].to_numpy()[::-1] * 1.5
    after = func(mutated, 10)
    pd.testing.assert_series_equal(after.iloc[:1000], base.iloc[:1000])


def test_multi_input_features_never_look_ahead(bars):
    mutated = bars.astype(float)
    mutated.iloc[1000:] = bars.iloc[1000:].to_numpy()[::-1] * 1.1
    for func in (
        lambda f: ind.atr(f.high, f.low, f.close, 14),
        lambda f: ind.rsi(f.close, 14),
        lambda f: ind.session_vwap(f.high, f.low, f.close, f.volume),
        lambda f: ind.macd(f.close).signal,
        lambda f: ind.bollinger_bands(f.close).upper,
    ):
        pd.testing.assert_series_equal(func(mutated).iloc[:1000], func(bars).iloc[:1000])


def test_bad_windows_are_refused(bars):
    with pytest.raises(InvalidInputError, match="window=0"):
        ind.sma(bars.close, 0)
    with pytest.raises(InvalidInputError, match="fast=26"):
        ind.macd(bars.close, 26, 12)
