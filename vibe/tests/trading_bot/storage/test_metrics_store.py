"""MetricsStore: recording, aggregations and stats on hand-computed values, bad input."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta

import pytest

from vibe.common.errors import InvalidInputError
from vibe.tests.trading_bot.storage.conftest import T0
from vibe.trading_bot.storage.metrics_store import MetricRecord, MetricsStore


@pytest.fixture
def store(tmp_path, clock):
    s = MetricsStore(tmp_path / "metrics.db", clock)
    yield s
    s.close()


def _at(minutes):
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def filled(store):
    # latency_ms: SPY 10, 20, 30 at minutes 0, 1, 2; QQQ 40 at minute 3; SPY/orb 100 at minute 4
    store.record_many(
        [
            MetricRecord("trading", "latency_ms", 10.0, {"symbol": "SPY"}, _at(0)),
            MetricRecord("trading", "latency_ms", 20.0, {"symbol": "SPY"}, _at(1)),
            MetricRecord("trading", "latency_ms", 30.0, {"symbol": "SPY"}, _at(2)),
            MetricRecord("trading", "latency_ms", 40.0, {"symbol": "QQQ"}, _at(3)),
            MetricRecord(
                "trading", "latency_ms", 100.0, {"symbol": "SPY", "strategy": "orb"}, _at(4)
            ),
            MetricRecord("trading", "equity", 100_000.0, {}, _at(0)),
            MetricRecord("system", "latency_ms", 999.0, {"symbol": "SPY"}, _at(1)),
        ]
    )
    return store


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("sum", 200.0), ("avg", 40.0), ("min", 10.0), ("max", 100.0), ("count", 5.0)],
)
def test_every_aggregation_over_all_rows(filled, aggregation, expected):
    got = filled.aggregate_metrics("trading", "latency_ms", aggregation)
    assert got == pytest.approx(expected)


def test_time_range_is_start_inclusive_end_exclusive(filled):
    agg = filled.aggregate_metrics
    assert agg("trading", "latency_ms", "sum", start_time=_at(1)) == pytest.approx(190.0)
    assert agg("trading", "latency_ms", "sum", end_time=_at(2)) == pytest.approx(30.0)
    assert agg("trading", "latency_ms", "count", _at(1), _at(4)) == 3.0


def test_dimension_filter_is_a_subset_match(filled):
    agg = filled.aggregate_metrics
    assert agg("trading", "latency_ms", "sum", dimensions={"symbol": "SPY"}) == 160.0
    assert agg("trading", "latency_ms", "avg", dimensions={"symbol": "SPY"}) == 40.0
    assert agg("trading", "latency_ms", "max", dimensions={"strategy": "orb"}) == 100.0
    both = {"symbol": "SPY", "strategy": "orb"}
    assert agg("trading", "latency_ms", "count", dimensions=both) == 1.0
    assert agg("trading", "latency_ms", "count", dimensions={"symbol": "TSLA"}) == 0.0


def test_empty_range_results(filled):
    agg = filled.aggregate_metrics
    assert agg("trading", "nothing", "avg") is None
    assert agg("trading", "nothing", "max") is None
    assert agg("trading", "nothing", "sum") == 0.0
    assert agg("trading", "nothing", "count") == 0.0


def test_stats_on_hand_computed_values(filled):
    stats = filled.get_metric_stats("trading", "latency_ms")
    values = [10.0, 20.0, 30.0, 40.0, 100.0]
    assert stats.count == 5
    assert stats.mean == pytest.approx(40.0)
    assert stats.std == pytest.approx(statistics.stdev(values))  # sample std: 35.355...
    assert stats.std == pytest.approx(math.sqrt(5000 / 4))
    assert (stats.min, stats.max, stats.last) == (10.0, 100.0, 100.0)
    spy_early = filled.get_metric_stats(
        "trading", "latency_ms", end_time=_at(3), dimensions={"symbol": "SPY"}
    )
    assert (spy_early.count, spy_early.last) == (3, 30.0)
    assert spy_early.std == pytest.approx(10.0)
    one = filled.get_metric_stats("trading", "equity")
    assert (one.count, one.std, one.last) == (1, None, 100_000.0)
    none = filled.get_metric_stats("trading", "nothing")
    assert (none.count, none.mean, none.last) == (0, None, None)


def test_record_metric_uses_clock_when_no_timestamp(store, clock):
    clock.advance(60)
    store.record_metric("system", "queue_depth", 3, {"queue": "orders"})
    row = store.db.query("SELECT * FROM metrics")[0]
    assert row["timestamp"] == "2025-07-03T13:31:00.000000+00:00"
    assert row["dimensions"] == '{"queue":"orders"}'
    assert row["metric_value"] == 3.0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"metric_value": math.nan}, "metric_value"),
        ({"metric_value": "12"}, "metric_value"),
        ({"metric_type": ""}, "metric_type"),
        ({"dimensions": {"symbol": ["SPY"]}}, "symbol"),
        ({"dimensions": {'we"ird': 1}}, "dimension key"),
        ({"timestamp": datetime(2025, 7, 3)}, "naive"),  # noqa: DTZ001
    ],
)
def test_bad_metric_rejected_and_batch_not_written(store, kwargs, named):
    good = MetricRecord("trading", "pnl", 1.0, {}, T0)
    bad = MetricRecord(
        **{
            "metric_type": "trading",
            "metric_name": "pnl",
            "metric_value": 1.0,
            "dimensions": {},
            "timestamp": T0,
            **kwargs,
        }
    )
    with pytest.raises(InvalidInputError, match=named):
        store.record_many([good, bad])
    assert store.count() == 0


def test_unknown_aggregation_is_refused(filled):
    with pytest.raises(InvalidInputError, match="median"):
        filled.aggregate_metrics("trading", "latency_ms", "median")


def test_aggregation_uses_the_covering_index(filled):
    plan = filled.db.query(
        "EXPLAIN QUERY PLAN SELECT avg(metric_value) FROM metrics "
        "WHERE metric_type = ? AND metric_name = ? AND timestamp >= ? AND timestamp < ?",
        ["trading", "latency_ms", "a", "b"],
    )
    assert "COVERING INDEX idx_metrics_lookup" in " ".join(str(r["detail"]) for r in plan)


def test_std_is_stable_for_large_offsets(store):
    base = 1e9
    store.record_many(
        MetricRecord("system", "big", base + v, {}, _at(i)) for i, v in enumerate([1, 2, 3, 4])
    )
    stats = store.get_metric_stats("system", "big")
    assert stats.std == pytest.approx(statistics.stdev([1, 2, 3, 4]), rel=1e-9)
    assert stats.mean == pytest.approx(base + 2.5, abs=1e-6)


def test_replace_many_keeps_one_copy_of_a_session_written_twice(store):
    day = {"session": "2025-06-05"}
    other = {"session": "2025-06-06"}
    first = [MetricRecord("daily", "trades", 2.0, day, _at(0))]
    store.record_many([MetricRecord("daily", "trades", 1.0, other, _at(0))])
    assert store.replace_many("daily", day, first) == 1
    again = [
        MetricRecord("daily", "trades", 3.0, day, _at(1)),
        MetricRecord("daily", "wins", 1.0, day, _at(1)),
    ]
    assert store.replace_many("daily", day, again) == 2  # e.g. a close repeated after a crash
    rows = store.db.query(
        "SELECT metric_name, metric_value, dimensions FROM metrics ORDER BY dimensions, metric_name"
    )
    assert [tuple(r) for r in rows] == [
        ("trades", 3.0, '{"session":"2025-06-05"}'),
        ("wins", 1.0, '{"session":"2025-06-05"}'),
        ("trades", 1.0, '{"session":"2025-06-06"}'),
    ]


def test_replace_many_with_a_bad_record_keeps_the_stored_copy(store):
    day = {"session": "2025-06-05"}
    store.replace_many("daily", day, [MetricRecord("daily", "trades", 2.0, day, _at(0))])
    with pytest.raises(InvalidInputError):
        store.replace_many("daily", day, [MetricRecord("daily", "trades", math.nan, day, _at(1))])
    assert store.count() == 1
