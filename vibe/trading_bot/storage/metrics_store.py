"""MetricsStore: time-stamped numeric metrics in ``metrics.db``.

A metric is ``(timestamp, metric_type, metric_name, metric_value, dimensions)``,
e.g. ``("trading", "equity", 100_512.3, {"strategy": "orb"})``. Dimensions are
stored as canonical JSON (sorted keys); a dimension filter matches rows whose
dimensions contain every given key with the given value (a subset match, like
Prometheus label matchers).

Index ``(metric_type, metric_name, timestamp, metric_value)`` covers the usual
query (one metric over a time range), so an aggregation reads only the index
and never the table. Writes are committed transactions on the shared
:class:`~vibe.trading_bot.storage.sqlite.SQLiteDatabase`; methods are blocking
(use ``asyncio.to_thread`` from async code).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.storage.sqlite import (
    SQLiteStore,
    to_iso,
)

DEFAULT_FILENAME = "metrics.db"

METRICS_V1 = """
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    metric_type TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metric_value REAL NOT NULL,
    dimensions TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_metrics_lookup
    ON metrics (metric_type, metric_name, timestamp, metric_value, dimensions);
CREATE INDEX idx_metrics_timestamp ON metrics (timestamp);
"""

#: Forward migrations of ``metrics.db``; index ``i`` takes version ``i`` to ``i + 1``.
METRICS_MIGRATIONS: tuple[str, ...] = (METRICS_V1,)

#: Aggregations :meth:`MetricsStore.aggregate_metrics` accepts (mapped to SQL functions).
AGGREGATIONS: dict[str, str] = {
    "sum": "total",
    "avg": "avg",
    "min": "min",
    "max": "max",
    "count": "count",
}

DimensionValue = str | int | float | bool
_STATS_SQL = (
    "SELECT count(*), total(metric_value - ?), total((metric_value - ?) * (metric_value - ?)), "
    "min(metric_value), max(metric_value) FROM metrics "
)
_SELECT_VALUE = "SELECT metric_value FROM metrics "
_INSERT = (
    "INSERT INTO metrics (timestamp, metric_type, metric_name, metric_value, dimensions) "
    "VALUES (?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One metric observation for :meth:`MetricsStore.record_many`.

    Attributes:
        metric_type: family, e.g. ``trading``, ``system``, ``data``.
        metric_name: name within the family, e.g. ``equity`` (USD), ``latency_ms``.
        metric_value: finite number in the metric's unit.
        dimensions: labels, e.g. ``{"symbol": "SPY"}``.
        timestamp: observation time, tz-aware; ``None`` means the store clock's now.
    """

    metric_type: str
    metric_name: str
    metric_value: float
    dimensions: Mapping[str, DimensionValue] = field(default_factory=dict)
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetricStats:
    """Summary of one metric over a range.

    Attributes:
        count: observations.
        mean: arithmetic mean (``None`` when count is 0).
        std: sample standard deviation, ddof=1 as in pandas (``None`` when count < 2).
        min: smallest value (``None`` when count is 0).
        max: largest value (``None`` when count is 0).
        last: value with the latest timestamp (``None`` when count is 0).
    """

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    last: float | None


def canonical_dimensions(dimensions: Mapping[str, Any] | None) -> str:
    """Dimensions as compact JSON with sorted keys (``{}`` when empty).

    Raises:
        InvalidInputError: a key is not a non-empty string or a value is not
            str, int, float (finite) or bool.
    """
    if not dimensions:
        return "{}"
    for key, value in dimensions.items():
        if not isinstance(key, str) or not key or '"' in key:
            raise InvalidInputError(
                f"dimension key={key!r}; expected a non-empty string without double quotes"
            )
        if not isinstance(value, DimensionValue) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise InvalidInputError(
                f"dimension {key}={value!r}; expected a str, int, bool or finite float"
            )
    return json.dumps(dict(dimensions), sort_keys=True, separators=(",", ":"))


def _require_name(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name}={value!r}; expected a non-empty string")
    return value


def _require_value(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"metric_value={value!r}; expected a finite number")
    return float(value)


class MetricsStore(SQLiteStore):
    """Metrics in one SQLite file (default ``DATA_DIR/metrics.db``).

    Args (see :class:`~vibe.trading_bot.storage.sqlite.SQLiteStore`): ``path``,
    ``clock`` (the timestamp of metrics recorded without one), ``busy_timeout_ms``.

    Raises:
        StorageError: the file exists but is not a readable database of this bot.
    """

    FILENAME = DEFAULT_FILENAME
    MIGRATIONS = METRICS_MIGRATIONS

    def record_metric(
        self,
        metric_type: str,
        metric_name: str,
        metric_value: float,
        dimensions: Mapping[str, DimensionValue] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Store one observation (committed on return).

        Raises:
            InvalidInputError: empty type/name, non-finite value, bad dimensions or a
                naive timestamp; nothing is written.
        """
        record = MetricRecord(metric_type, metric_name, metric_value, dimensions or {}, timestamp)
        self.record_many([record])

    def record_many(self, records: Iterable[MetricRecord]) -> int:
        """Store many observations in one transaction; all or nothing.

        Returns:
            The number of rows written.

        Raises:
            InvalidInputError: any bad record (named); nothing is written.
        """
        now = to_iso(self._clock.now())
        rows = [self._row(record, now) for record in records]
        with self.db.transaction() as conn:
            conn.executemany(_INSERT, rows)
        return len(rows)

    def replace_many(
        self,
        metric_type: str,
        dimensions: Mapping[str, DimensionValue],
        records: Iterable[MetricRecord],
    ) -> int:
        """Replace every row of ``metric_type`` with exactly ``dimensions`` by ``records``.

        One transaction: the old rows are deleted and the new ones written together,
        so writing the same set again (e.g. a session's daily figures after a restart
        that repeats the close) leaves one copy, never two.

        Returns:
            The number of rows written.

        Raises:
            InvalidInputError: any bad record or dimension (named); nothing is written.
        """
        now = to_iso(self._clock.now())
        rows = [self._row(record, now) for record in records]
        key = (_require_name("metric_type", metric_type), canonical_dimensions(dimensions))
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM metrics WHERE metric_type = ? AND dimensions = ?", key)
            conn.executemany(_INSERT, rows)
        return len(rows)

    def aggregate_metrics(
        self,
        metric_type: str,
        metric_name: str,
        aggregation: str = "avg",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        dimensions: Mapping[str, DimensionValue] | None = None,
    ) -> float | None:
        """One aggregate of a metric over ``start_time <= timestamp < end_time``.

        Args:
            metric_type: family.
            metric_name: name within the family.
            aggregation: ``sum``, ``avg``, ``min``, ``max`` or ``count``.
            start_time: inclusive lower bound (tz-aware); ``None`` = no bound.
            end_time: exclusive upper bound (tz-aware); ``None`` = no bound.
            dimensions: only rows carrying all these dimension values.

        Returns:
            The aggregate in the metric's unit; ``count`` returns an int-valued float
            (0.0 when nothing matches); the others return ``None`` when nothing matches,
            except ``sum`` which returns 0.0.

        Raises:
            InvalidInputError: unknown aggregation, naive time or bad dimensions.
        """
        function = AGGREGATIONS.get(aggregation)
        if function is None:
            raise InvalidInputError(
                f"aggregation={aggregation!r}; expected one of {sorted(AGGREGATIONS)}"
            )
        where, params = _filters(metric_type, metric_name, start_time, end_time, dimensions)
        # function comes from the AGGREGATIONS whitelist; values are bound parameters
        sql = f"SELECT {function}(metric_value) FROM metrics {where}"  # noqa: S608
        value = self.db.query(sql, params)[0][0]
        return None if value is None else float(value)

    def get_metric_stats(
        self,
        metric_type: str,
        metric_name: str,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        dimensions: Mapping[str, DimensionValue] | None = None,
    ) -> MetricStats:
        """Count, mean, sample std, min, max and last value of a metric over a range.

        One pass over the rows after finding the last value ``k``: the sums of
        ``x - k`` and ``(x - k)²`` give the mean and variance (the "shifted data"
        algorithm; shifting by a value from the data avoids the cancellation of the
        plain ``E[x²] - E[x]²`` formula).

        Raises:
            InvalidInputError: naive time or bad dimensions.
        """
        where, params = _filters(metric_type, metric_name, start_time, end_time, dimensions)
        # where: fixed column names from _filters; values are bound parameters
        last_sql = _SELECT_VALUE + where + " ORDER BY timestamp DESC, id DESC LIMIT 1"
        rows = self.db.query(last_sql, params)
        if not rows:
            return MetricStats(0, None, None, None, None, None)
        last = float(rows[0][0])
        summary = self.db.query(_STATS_SQL + where, [last, last, last, *params])[0]
        count, shifted, squares, low, high = tuple(summary)
        mean = last + shifted / count
        std = None
        if count > 1:
            variance = max(0.0, (squares - shifted * shifted / count) / (count - 1))
            std = math.sqrt(variance)
        return MetricStats(count, mean, std, low, high, last)

    def sum_by_dimension(
        self,
        metric_type: str,
        metric_name: str,
        dimension: str,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> dict[str, float]:
        """Sum of a metric per value of one dimension over ``start_time <= timestamp < end_time``.

        E.g. refused entries per rule: ``sum_by_dimension("trading", "entry_rejected",
        "rule", day_start, day_end)``. Rows without the dimension are left out.

        Returns:
            Dimension value (as text) -> sum, largest first (ties by value).

        Raises:
            InvalidInputError: a naive time or a bad dimension name.
        """
        canonical_dimensions({dimension: ""})  # validates the name
        where, params = _filters(metric_type, metric_name, start_time, end_time, None)
        key = f'$."{dimension}"'
        # where: fixed column names from _filters; values are bound parameters
        sql = (
            "SELECT json_extract(dimensions, ?) AS value, sum(metric_value) AS total "  # noqa: S608
            f"FROM metrics {where} AND json_extract(dimensions, ?) IS NOT NULL "
            "GROUP BY value ORDER BY total DESC, value"
        )
        rows = self.db.query(sql, [key, *params, key])
        return {str(row["value"]): float(row["total"]) for row in rows}

    def count(self) -> int:
        """Rows in the ``metrics`` table."""
        return int(self.db.query("SELECT count(*) FROM metrics")[0][0])

    @staticmethod
    def _row(record: MetricRecord, now: str) -> tuple[str, str, str, float, str]:
        stamp = now if record.timestamp is None else to_iso(record.timestamp)
        return (
            stamp,
            _require_name("metric_type", record.metric_type),
            _require_name("metric_name", record.metric_name),
            _require_value(record.metric_value),
            canonical_dimensions(record.dimensions),
        )


def _filters(
    metric_type: str,
    metric_name: str,
    start_time: datetime | None,
    end_time: datetime | None,
    dimensions: Mapping[str, DimensionValue] | None,
) -> tuple[str, list[Any]]:
    clauses = ["metric_type = ?", "metric_name = ?"]
    params: list[Any] = [metric_type, metric_name]
    if start_time is not None:
        clauses.append("timestamp >= ?")
        params.append(to_iso(start_time))
    if end_time is not None:
        clauses.append("timestamp < ?")
        params.append(to_iso(end_time))
    canonical_dimensions(dimensions)  # validates keys and values
    for key, value in (dimensions or {}).items():
        if isinstance(value, str | bool):
            # cheap text pre-filter on the canonical JSON; json_extract confirms the match
            clauses.append("instr(dimensions, ?) > 0")
            params.append(json.dumps(key) + ":" + json.dumps(value))
        clauses.append("json_extract(dimensions, ?) = ?")
        params.extend([f'$."{key}"', value])
    return "WHERE " + " AND ".join(clauses), params
