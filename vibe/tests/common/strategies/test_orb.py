"""ORB on hand-built frames: every number below is computed by hand in the comments."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pandas_market_calendars as mcal
import pytest

from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason, PositionSide, SignalAction
from vibe.common.risk import AccountState, OrderRequest, RiskManager, RiskParams, exit_levels
from vibe.common.strategies import OrbParams, OrbStrategy
from vibe.common.strategies.orb_rules import Rule
from vibe.common.strategies.orb_vectorized import orb_signals
from vibe.tests.common.strategies.harness import (
    ET,
    contexts,
    hand_frame,
    normalise,
    run_per_bar,
    to_bars,
)

INSIDE = (100.5, 100.8, 100.2, 100.5, 1000)
SPIKE = (100.5, 102.5, 100.4, 102.2, 5000)  # closes above any range below: never a 2nd entry
# Range: bars 09:30 and 09:45 ET -> high 101.0, low 99.5 (width 1.5 / 100.25 = 1.496 %).
RANGE = [(100.0, 101.0, 99.5, 100.5, 1000), (100.5, 100.9, 100.1, 100.8, 1000)]
LONG_BREAK = (100.8, 101.6, 100.7, 101.5, 3000)
SHORT_BREAK = (100.2, 100.3, 99.2, 99.3, 3000)
P = OrbParams(volume_lookback_bars=2)  # previous 2 bars: mean 1000, needs >= 1500


def day_rows(breakout, at: int = 2, n: int = 26, first=RANGE):
    rows = [*first] + [INSIDE] * (n - len(first))
    rows[at] = breakout
    if at < 5:
        rows[5] = SPIKE
    return rows


@pytest.fixture(scope="module")
def sessions():
    return mcal.get_calendar("XNYS").schedule("2024-06-28", "2024-07-05")


def run(frame, sessions, params=P):
    """Per-bar and vectorized results, asserted identical; returns the per-bar frame."""
    per_bar = run_per_bar(to_bars(frame), contexts(frame, sessions), params)
    vectorized = normalise(orb_signals(frame, sessions, params))
    pd.testing.assert_frame_equal(per_bar, vectorized)
    return per_bar


def et(day: str, hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ET)).tz_convert(
        "UTC"
    )


def test_long_breakout_entry_stop_target_and_flatten(sessions):
    out = run(hand_frame("2024-07-01", day_rows(LONG_BREAK)), sessions)
    # VWAP through 10:00 = (100.3333*1000 + 100.6*1000 + 101.2667*3000) / 5000 = 100.9467 < 101.5
    assert out.to_dict("records") == [
        {
            "timestamp": et("2024-07-01", "10:15"),
            "action": "open_long",
            "price": 101.5,
            "stop_price": 99.5,
            "take_profit_price": 105.5,  # 101.5 + 2 x (101.5 - 99.5)
            "exit_reason": None,
            "rejected_by": None,
        },
        {
            "timestamp": et("2024-07-01", "16:00"),
            "action": "close",
            "price": 100.5,
            "stop_price": pytest.approx(float("nan"), nan_ok=True),
            "take_profit_price": pytest.approx(float("nan"), nan_ok=True),
            "exit_reason": "end_of_day",
            "rejected_by": None,
        },
    ]


def test_short_breakout(sessions):
    out = run(hand_frame("2024-07-01", day_rows(SHORT_BREAK)), sessions)
    entry = out.iloc[0]
    # close 99.3 < low 99.5 and < VWAP 99.9467; stop = range high 101.0, R = 1.7
    assert (entry.action, entry.price, entry.stop_price) == ("open_short", 99.3, 101.0)
    assert entry.take_profit_price == pytest.approx(99.3 - 2 * 1.7)
    assert entry.timestamp == et("2024-07-01", "10:15")
    assert list(out.action) == ["open_short", "close"]


def test_shorts_disabled_take_the_later_long(sessions):
    out = run(
        hand_frame("2024-07-01", day_rows(SHORT_BREAK)),
        sessions,
        OrbParams(volume_lookback_bars=2, allow_short=False),
    )
    # the 10:45 spike closes 102.2 > 101.0 with 5000 >= 1.5 x (3000 + 1000) / 2
    assert out.iloc[0].action == "open_long"
    assert out.iloc[0].timestamp == et("2024-07-01", "11:00")
    assert out.iloc[0].price == 102.2


@pytest.mark.parametrize(
    ("first", "breakout", "rule"),
    [
        # width 0.05 / 100.025 = 0.05 % < 0.1 %
        (
            [(100.0, 100.05, 100.0, 100.02, 1000), (100.02, 100.04, 100.01, 100.03, 1000)],
            LONG_BREAK,
            Rule.MIN_RANGE_PCT,
        ),
        # width 4 / 101 = 3.96 % > 3 %
        (
            [(100.0, 103.0, 99.0, 100.5, 1000), RANGE[1]],
            (100.8, 103.8, 100.7, 103.5, 3000),
            Rule.MAX_RANGE_PCT,
        ),
        # typical price (110 + 101 + 101.2) / 3 = 104.07 drags VWAP to 102.63 > close 101.2
        (RANGE, (100.8, 110.0, 101.0, 101.2, 3000), Rule.TREND_FILTER),
        # 1499 < 1.5 x 1000
        (RANGE, (100.8, 101.6, 100.7, 101.5, 1499), Rule.VOLUME_FILTER),
    ],
)
def test_each_rule_rejects_and_the_session_is_decided(sessions, first, breakout, rule):
    frame = hand_frame("2024-07-01", day_rows(breakout, first=first))
    out = run(frame, sessions)
    assert out.to_dict("records")[0]["rejected_by"] == rule.value
    assert len(out) == 1  # the 10:45 spike is not a second chance; no flatten without entry
    strategy = OrbStrategy(P)
    for bar, ctx in zip(to_bars(frame), contexts(frame, sessions), strict=True):
        assert strategy.on_bar(bar, ctx) == []
    (rejection,) = strategy.pop_rejections()
    assert (rejection.rule, rejection.action, rejection.price) == (
        rule.value,
        SignalAction.OPEN_LONG,
        breakout[3],
    )
    assert rejection.timestamp == et("2024-07-01", "10:15")
    assert strategy.rejection_counts == {rule.value: 1}
    assert strategy.pop_rejections() == []


def test_rules_can_be_switched_off(sessions):
    trend = hand_frame("2024-07-01", day_rows((100.8, 110.0, 101.0, 101.2, 3000)))
    assert (
        run(trend, sessions, OrbParams(volume_lookback_bars=2, trend_filter=False))
        .iloc[0]
        .rejected_by
        is None
    )
    volume = hand_frame("2024-07-01", day_rows((100.8, 101.6, 100.7, 101.5, 1499)))
    assert (
        run(volume, sessions, OrbParams(volume_lookback_bars=2, volume_filter=False))
        .iloc[0]
        .rejected_by
        is None
    )
    # exactly 1.5 x the mean passes (>=)
    edge = hand_frame("2024-07-01", day_rows((100.8, 101.6, 100.7, 101.5, 1500)))
    assert run(edge, sessions).iloc[0].rejected_by is None


def test_volume_filter_needs_a_full_lookback(sessions):
    out = run(hand_frame("2024-07-01", day_rows(LONG_BREAK)), sessions, OrbParams())
    assert out.iloc[0].rejected_by == "volume_filter"  # 2 previous bars < 20


@pytest.mark.parametrize(("at", "entered"), [(20, True), (21, False)])
def test_entry_cutoff_normal_day(sessions, at, entered):
    # slot 20 = 14:30 ET, closes 14:45 (75 min before 16:00); slot 21 closes 15:00 (60 min)
    out = run(hand_frame("2024-07-01", day_rows(LONG_BREAK, at=at)), sessions)
    assert (len(out) > 0) is entered


@pytest.mark.parametrize(("at", "entered"), [(8, True), (9, False)])
def test_early_close_moves_cutoff_and_flatten(sessions, at, entered):
    # 2024-07-03 closes 13:00 ET: slot 8 closes 11:45 (75 min before), slot 9 closes 12:00
    out = run(hand_frame("2024-07-03", day_rows(LONG_BREAK, at=at, n=14)), sessions)
    if entered:
        assert list(out.action) == ["open_long", "close"]
        assert out.iloc[1].timestamp == et("2024-07-03", "13:00")  # first bar ending >= 12:55
    else:
        assert out.empty
    # the same bars on a normal day would trade at slot 9
    assert not run(hand_frame("2024-07-01", day_rows(LONG_BREAK, at=9, n=14)), sessions).empty


def test_gap_over_the_open_means_no_range_and_no_trade(sessions):
    rows = [INSIDE] * 24
    rows[0] = (100.8, 105.0, 100.7, 104.0, 9000)
    frame = hand_frame("2024-07-01", rows, skip=(0, 1))  # data starts 10:00
    assert run(frame, sessions).empty


def test_gap_mid_session_and_missing_flatten_bar(sessions):
    # slots 3..10 (10:15-12:00) and 24 (15:30) are missing; breakout at slot 11 = 12:15 ET
    rows = [*RANGE, INSIDE, LONG_BREAK] + [INSIDE] * 13
    frame = hand_frame("2024-07-01", rows, skip=(3, 4, 5, 6, 7, 8, 9, 10, 24))
    params = OrbParams(volume_lookback_bars=2, flatten_minutes_before_close=20)
    out = run(frame, sessions, params)
    assert list(out.action) == ["open_long", "close"]
    assert out.iloc[0].timestamp == et("2024-07-01", "12:30")
    # flatten threshold 15:40: the 15:30 bar is missing, so the 15:45 bar (ends 16:00) closes
    assert out.iloc[1].timestamp == et("2024-07-01", "16:00")


def test_flatten_only_with_a_position(sessions):
    frame = hand_frame("2024-07-01", day_rows(LONG_BREAK))
    strategy = OrbStrategy(P)
    signals = [
        s
        for b, c in zip(to_bars(frame), contexts(frame, sessions), strict=True)
        for s in strategy.on_bar(b, c)
    ]
    assert [s.action for s in signals] == [SignalAction.OPEN_LONG]  # context stayed flat
    ctxs = contexts(frame, sessions)
    for ctx in ctxs:
        ctx.position = PositionSide.SHORT  # e.g. restored from storage
    strategy = OrbStrategy(P)
    closes = [
        s
        for b, c in zip(to_bars(frame), ctxs, strict=True)
        for s in strategy.on_bar(b, c)
        if s.action is SignalAction.CLOSE
    ]
    assert len(closes) == 1 and closes[0].exit_reason is ExitReason.END_OF_DAY


def test_bars_outside_the_session_are_ignored(sessions):
    frame = hand_frame("2024-07-01", day_rows(LONG_BREAK))
    early = hand_frame("2024-07-01", [(90.0, 200.0, 1.0, 150.0, 10**9)], start="09:15")
    late = hand_frame("2024-07-01", [(90.0, 200.0, 1.0, 150.0, 10**9)], start="16:00")
    both = pd.concat([early, frame, late])
    assert run(both, sessions).equals(run(frame, sessions))


def test_size_from_the_hand_built_long(sessions):
    frame = hand_frame("2024-07-01", day_rows(LONG_BREAK))
    strategy = OrbStrategy(P)
    (signal,) = [
        s
        for b, c in zip(to_bars(frame), contexts(frame, sessions), strict=True)
        for s in strategy.on_bar(b, c)
    ]
    account = AccountState(equity=20_000.0, buying_power=50_000.0, start_of_day_equity=20_000.0)
    # 1 % of 20,000 = 200 USD risk / R 2.0 = 100 shares; 25 % cap: 5,000 / 101.5 -> 49
    capped = RiskManager().evaluate(signal, account)
    assert isinstance(capped, OrderRequest) and capped.quantity == 49
    free = RiskManager(RiskParams(max_position_pct=100.0)).evaluate(signal, account)
    assert isinstance(free, OrderRequest) and free.quantity == 100
    # filled at the next bar's open 101.6: R = 2.1, target 101.6 + 4.2
    assert signal.stop_price == 99.5
    levels = exit_levels(PositionSide.LONG, 101.6, signal.stop_price, P.take_profit_r)
    assert levels.take_profit_price == pytest.approx(105.8)
    assert not levels.stop_already_hit


def test_fill_gapping_through_the_stop_is_flagged():
    assert exit_levels(PositionSide.LONG, 99.4, 99.5, 2.0).stop_already_hit
    assert exit_levels(PositionSide.LONG, 99.5, 99.5, 2.0).stop_already_hit
    short = exit_levels(PositionSide.SHORT, 101.2, 101.0, 2.0)
    assert short.stop_already_hit and short.risk_per_share == pytest.approx(0.2)
    ok = exit_levels(PositionSide.SHORT, 99.0, 101.0, 2.0)
    assert not ok.stop_already_hit and ok.take_profit_price == pytest.approx(95.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"orb_minutes": 0},
        {"take_profit_r": -1.0},
        {"flatten_minutes_before_close": -5},
        {"min_range_pct": 3.0, "max_range_pct": 1.0},
    ],
)
def test_bad_params_name_the_field(bad):
    with pytest.raises(InvalidInputError, match=next(iter(bad))):
        OrbParams(**bad)


def test_params_match_the_settings_names():
    from vibe.trading_bot.config.settings import StrategySettings

    assert OrbParams(**StrategySettings().model_dump()) == OrbParams()


def test_naive_session_times_are_refused():
    frame = hand_frame("2024-07-01", day_rows(LONG_BREAK))
    (bar, *_) = to_bars(frame)
    from vibe.common.strategies import BarContext

    naive = BarContext(datetime(2024, 7, 1, 9, 30), datetime(2024, 7, 1, 16))  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match="tz-aware"):
        OrbStrategy().on_bar(bar, naive)


def test_one_context_object_mutated_across_sessions(sessions):
    frames = [hand_frame(d, day_rows(LONG_BREAK)) for d in ("2024-07-01", "2024-07-02")]
    frame = pd.concat(frames)
    reused = contexts(frame, sessions)[0]
    strategy = OrbStrategy(P)
    entries = []
    for bar, ctx in zip(to_bars(frame), contexts(frame, sessions), strict=True):
        reused.session_open, reused.session_close = ctx.session_open, ctx.session_close
        entries += strategy.on_bar(bar, reused)
    assert [s.timestamp for s in entries] == [et("2024-07-01", "10:15"), et("2024-07-02", "10:15")]


@pytest.mark.parametrize("stop", [4, 8, 20, 29, 31])
def test_skipped_bars_leave_the_volume_window_as_on_bar_does(sessions, stop):
    """A quiet stretch taken in at once counts the same last volumes as bar by bar."""
    rows = [(100.0, 100.1, 99.9, 100.0, 7 * i + 1) for i in range(26)]
    early = hand_frame("2024-07-01", [(100.0, 100.1, 99.9, 100.0, 999)] * 2, start="09:00")
    late = hand_frame("2024-07-01", [(100.0, 100.1, 99.9, 100.0, 888)] * 3, start="16:00")
    frame = pd.concat([early, hand_frame("2024-07-01", rows), late])
    bars, ctxs = to_bars(frame), contexts(frame, sessions)
    skipped, stepped = OrbStrategy(P), OrbStrategy(P)
    for strategy in (skipped, stepped):
        strategy.on_bar(bars[2], ctxs[2])  # the session's first bar sets its times
    skipped.skip_bars(bars[3:stop])
    for bar in bars[3:stop]:
        stepped._states["SPY"].volumes.extend(  # what on_bar counts, bar by bar
            [bar.volume] if ctxs[2].session_open <= bar.timestamp < ctxs[2].session_close else []
        )
    assert list(skipped._states["SPY"].volumes) == list(stepped._states["SPY"].volumes)
    in_session = min(stop, 28) - 2  # bars 2..27 are the session's
    assert len(skipped._states["SPY"].volumes) == min(P.volume_lookback_bars + 1, in_session)
