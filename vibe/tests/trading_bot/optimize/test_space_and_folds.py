"""Search-space parsing, the objective's infeasible rule and the walk-forward split."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.backtest.runner import allowed_params
from vibe.trading_bot.optimize.objective import score
from vibe.trading_bot.optimize.space import grid_size, parse_space
from vibe.trading_bot.optimize.walk_forward import chain_equity, plan_folds

ALLOWED = allowed_params()


def test_lists_and_ranges_are_typed_in_order():
    dims = parse_space(
        [
            "orb_minutes=5,15,30",
            "trend_filter=true,false",
            "take_profit_r=1.0:3.0:0.5",
            "min_range_pct=0.1:0.3:0.1",
            "slippage_model=fixed_bps,half_spread",
            "max_trades_per_day=1:5:2",
        ],
        ALLOWED,
    )
    values = {d.name: d.values for d in dims}
    assert values["orb_minutes"] == (5, 15, 30)
    assert values["trend_filter"] == (True, False)
    assert values["take_profit_r"] == (1.0, 1.5, 2.0, 2.5, 3.0)
    assert values["min_range_pct"] == (0.1, 0.2, 0.3)  # never 0.30000000000000004
    assert values["slippage_model"] == ("fixed_bps", "half_spread")
    assert values["max_trades_per_day"] == (1, 3, 5)
    assert grid_size(dims) == 3 * 2 * 5 * 3 * 2 * 3
    assert dims[2].snap(2.0000000000000004) == 2.0


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("orb_minute=5,15", "--space orb_minute: unknown; expected one of"),
        ("orb_minutes", "expected NAME=SPEC"),
        ("orb_minutes=5,,15", "empty value"),
        ("orb_minutes=5,5", "repeated"),
        ("take_profit_r=3.0:1.0:0.5", "expected LOW:HIGH:STEP"),
        ("take_profit_r=1.0:3.0:0", "expected LOW:HIGH:STEP"),
        ("take_profit_r=1.0:3.0", "expected LOW:HIGH:STEP"),
        ("take_profit_r=a:b:c", "expected LOW:HIGH:STEP"),
    ],
)
def test_bad_specs_name_the_value_and_what_was_expected(item, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_space([item], ALLOWED)


def test_a_name_given_twice_is_refused():
    with pytest.raises(InvalidInputError, match="given twice"):
        parse_space(["orb_minutes=5", "ORB_MINUTES=15"], ALLOWED)


def test_too_few_trades_or_an_undefined_ratio_is_infeasible():
    metrics = {"sharpe": 3.2, "num_trades": 4, "profit_factor": None}
    assert score(metrics, "sharpe", 4) == 3.2
    assert score(metrics, "sharpe", 5) is None
    assert score(metrics, "profit_factor", 1) is None  # no losing trade: not a lucky winner


def test_walk_forward_blocks_are_consecutive_anchored_and_never_overlap():
    sessions = [date(2024, 1, 2) + timedelta(days=i) for i in range(23)]
    folds = plan_folds(sessions, 3)  # 4 blocks: 6, 6, 6, 5 sessions
    assert [f.index for f in folds] == [1, 2, 3]
    for fold in folds:
        assert fold.in_sample[0] == sessions[0]  # anchored
        assert fold.in_sample[1] < fold.out_of_sample[0]  # no look-ahead
        assert sessions.index(fold.out_of_sample[0]) == sessions.index(fold.in_sample[1]) + 1
    assert [f.out_of_sample for f in folds] == [
        (sessions[6], sessions[11]),
        (sessions[12], sessions[17]),
        (sessions[18], sessions[22]),
    ]
    with pytest.raises(InvalidInputError, match="expected at least 4"):
        plan_folds(sessions[:3], 3)


def test_out_of_sample_equity_adds_each_folds_pnl():
    curves = [
        [["2024-01-02T15:00:00+00:00", 100_050.0], ["2024-01-02T16:00:00+00:00", 100_100.0]],
        [["2024-01-03T15:00:00+00:00", 99_900.0]],
    ]
    assert chain_equity(curves, 100_000.0) == [
        ["2024-01-02T15:00:00+00:00", 100_050.0],
        ["2024-01-02T16:00:00+00:00", 100_100.0],
        ["2024-01-03T15:00:00+00:00", 100_000.0],
    ]


def test_heatmap_and_top_trials_use_feasible_trials_only():
    from vibe.trading_bot.optimize.aggregate import by_value, heatmap, top_trials

    trials = [
        {"number": 0, "params": {"a": 1, "b": True}, "state": "complete", "value": 0.5},
        {"number": 1, "params": {"a": 1, "b": True}, "state": "complete", "value": 0.9},
        {"number": 2, "params": {"a": 2, "b": False}, "state": "infeasible", "value": None},
        {"number": 3, "params": {"a": 2, "b": True}, "state": "complete", "value": 0.9},
    ]
    assert heatmap(trials, ("a", [1, 2]), ("b", [True, False])) == [[0.9, None], [0.9, None]]
    assert [t["number"] for t in top_trials(trials, 2)] == [1, 3]  # ties: lowest number
    first, second = by_value(trials, "a", [1, 2])
    assert (first.trials, first.feasible, first.best, first.mean) == (2, 2, 0.9, 0.7)
    assert (second.trials, second.feasible, second.best) == (2, 1, 0.9)
