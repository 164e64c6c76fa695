"""Where the executor's alerts and metrics go: queued, then delivered in batches.

Alerts wait in a FIFO queue until :meth:`ExecutionReporter.flush_alerts` hands
them to the :class:`~.notifier.Notifier` (async, from the event loop); metrics
wait in a buffer until ``metrics_batch`` of them are waiting (or
:meth:`ExecutionReporter.flush_metrics` is called: the executor does so at each
session start and end and at shutdown), then go to the :class:`MetricsStore` in
one transaction. The synchronous execution core thus never waits for Discord and
pays one commit per batch of metrics; a crash can lose at most the unflushed
metrics (never an order, fill or trade: those are committed before they are
announced).
"""

from __future__ import annotations

from collections import deque

from vibe.common.clock import Clock
from vibe.common.errors import VibeError
from vibe.trading_bot.core.health_reporter import HealthReporter
from vibe.trading_bot.execution.notifier import Notifier, RecordingNotifier
from vibe.trading_bot.notifications.payloads import Alert
from vibe.trading_bot.storage.metrics_store import MetricRecord, MetricsStore


class ExecutionReporter:
    """Queues alerts for a notifier and buffers metrics for a metrics store.

    Args:
        clock: timestamps of metrics.
        health: receives notifier and metrics-store failures.
        notifier: alert destination; default a :class:`RecordingNotifier`.
        metrics: metrics destination; ``None`` drops metrics.
        metrics_batch: buffered metrics that trigger a write (>= 1).
    """

    def __init__(
        self,
        clock: Clock,
        health: HealthReporter,
        notifier: Notifier | None = None,
        metrics: MetricsStore | None = None,
        metrics_batch: int = 256,
    ) -> None:
        self._clock = clock
        self._health = health
        self.notifier: Notifier = notifier if notifier is not None else RecordingNotifier()
        self._metrics = metrics
        self._alerts: deque[Alert] = deque()
        self._buffer: list[MetricRecord] = []
        self._batch = max(1, metrics_batch)

    def alert(self, alert: Alert) -> None:
        """Queue ``alert`` for :meth:`flush_alerts`."""
        self._alerts.append(alert)

    @property
    def pending_alerts(self) -> int:
        """Alerts queued and not yet handed to the notifier."""
        return len(self._alerts)

    async def flush_alerts(self) -> int:
        """Hand every queued alert to the notifier, oldest first; returns how many.

        A notifier that raises (against its contract) is reported to health and
        does not stop the remaining alerts.
        """
        sent = 0
        while self._alerts:
            alert = self._alerts.popleft()
            try:
                await self.notifier.notify(alert)
            except Exception as exc:  # one failing notifier must not stop the others
                self._health.record_error(f"notifier failed on {alert.kind.value}: {exc!r}")
            sent += 1
        return sent

    def metric(self, kind: str, name: str, value: float, symbol: str = "", **dims: str) -> None:
        """Buffer one observation (``symbol`` and ``dims`` become its dimensions)."""
        if self._metrics is None:
            return
        dimensions = {"symbol": symbol, **dims} if symbol else dict(dims)
        self._buffer.append(MetricRecord(kind, name, value, dimensions, self._clock.now()))
        if len(self._buffer) >= self._batch:
            self.flush_metrics()

    def flush_metrics(self) -> None:
        """Write the buffered metrics in one transaction; a failure is reported to health."""
        if not self._buffer or self._metrics is None:
            return
        records, self._buffer = self._buffer, []
        try:
            self._metrics.record_many(records)
        except VibeError as exc:
            self._health.record_error(f"{len(records)} metrics not stored: {exc}")
