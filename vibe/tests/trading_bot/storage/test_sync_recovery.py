"""Cloud outages: retries with backoff, the daemon carries on, later syncs succeed."""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.common.errors import InvalidInputError, OperationalError
from vibe.tests.support import eventually
from vibe.tests.trading_bot.storage.sync_fixtures import (
    azure_backend,
    azurite_server,
    create_bucket,
    create_container,
    free_port,
    insert_order,
    make_db,
    moto_server,
    s3_backend,
)
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.storage.sync import (
    CloudSync,
    LocalDirectoryBackend,
    RestoreStatus,
    RetryPolicy,
    SyncScheduler,
)
from vibe.trading_bot.storage.sync.snapshot import Watermark, is_newer

START = datetime(2099, 3, 2, 21, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, initial_backoff_seconds=1.0, max_backoff_seconds=4.0)


def make_sync(backend, path, clock, health) -> CloudSync:
    return CloudSync(backend, {"trades": path}, clock, prefix="p", keep=5, health=health)


class _S3:
    def __init__(self, port: int, bucket: str) -> None:
        self.port = port
        self.bucket = bucket

    def server(self) -> AbstractContextManager[str]:
        return moto_server(self.port)

    def prepare(self, endpoint) -> None:
        create_bucket(endpoint, self.bucket)

    def backend(self):
        return s3_backend(f"http://127.0.0.1:{self.port}", self.bucket or "not-yet")


class _Azure:
    def __init__(self, port: int) -> None:
        self.port = port
        self.container = "vibe-sync"

    def server(self) -> AbstractContextManager[int]:
        return azurite_server(self.port)

    def prepare(self, _port) -> None:
        create_container(self.port, self.container)

    def backend(self):
        return azure_backend(self.port, self.container)


@pytest.mark.parametrize("kind", ["s3", "azure"])
@pytest.mark.asyncio
async def test_server_down_then_recovers(kind, tmp_path):
    # the bucket / container name is configured before the outage; created once it is up
    target = _S3(free_port(), "vibe-recovery-bucket") if kind == "s3" else _Azure(free_port())
    source = tmp_path / "trades.db"
    db = make_db(source, orders=3)
    clock = SimulatedClock(START)
    health = RecordingHealthReporter()
    sync = make_sync(target.backend(), source, clock, health)

    # start-up with the cloud down: the daemon starts on local data, degraded
    report = await sync.restore_all()
    assert [r.status for r in report.results] == [RestoreStatus.UNREACHABLE]
    assert report.degraded and health.state == HealthState.DEGRADED
    assert source.exists()

    # a sync during the outage: retried with backoff (waiting time), then given up
    timer = FakeTimer()
    scheduler = SyncScheduler(sync, clock, 600, health, FAST, timer=timer)
    before = clock.now()
    assert await scheduler.sync_now("interval") is False
    stats = scheduler.stats()
    assert (stats.attempts, stats.successes, stats.failures, stats.syncs_failed) == (3, 0, 3, 1)
    assert stats.success_rate == 0.0 and stats.last_success_at is None
    assert timer.monotonic() >= 1.0 + 2.0  # two backoff waits
    assert clock.now() == before  # waiting never moves the trading clock
    assert health.state == HealthState.DEGRADED

    # the server comes back; the next sync succeeds
    insert_order(db)
    with target.server() as handle:
        target.prepare(handle)
        assert await scheduler.sync_now("session_close") is True
        stats = scheduler.stats()
        assert (stats.attempts, stats.successes, stats.failures) == (4, 1, 3)
        assert stats.success_rate == pytest.approx(0.25)
        assert stats.last_success_at == clock.now()
        assert stats.bytes_uploaded > 0
        assert health.state == HealthState.HEALTHY
        assert len(await sync.list_snapshots("trades")) == 1
    db.close()


@pytest.mark.asyncio
async def test_newer_cloud_snapshot_is_not_overwritten_after_unreachable_start(tmp_path):
    port = free_port()
    old_pod = tmp_path / "old" / "trades.db"
    make_db(old_pod, orders=8).close()
    with moto_server(port) as endpoint:
        bucket = create_bucket(endpoint)
        backend = s3_backend(endpoint, bucket)
        await make_sync(backend, old_pod, SimulatedClock(START), RecordingHealthReporter()).upload(
            "trades"
        )
        good_key = (await backend.list_keys("p/trades/snapshots/"))[0]

    # a new pod starts while S3 is down: it runs on its (empty) local file
    new_pod = tmp_path / "new" / "trades.db"
    make_db(new_pod).close()
    health = RecordingHealthReporter()
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))  # created_at of its uploads
    sync = make_sync(backend, new_pod, clock, health)
    assert (await sync.restore_all()).degraded

    with moto_server(port):  # moto keeps its state across servers in one process
        scheduler = SyncScheduler(sync, clock, 600, health, FAST)
        assert await scheduler.sync_now() is False
        assert scheduler.attempts == 1  # operational: not retried
        assert "newer than the local data" in scheduler.last_error
        latest = await sync.latest("trades")
        assert latest is not None and latest[0] == good_key


@pytest.mark.asyncio
async def test_run_syncs_on_interval_and_the_loop_keeps_running(tmp_path):
    source = tmp_path / "trades.db"
    make_db(source, orders=1).close()
    clock = SimulatedClock(START)
    health = RecordingHealthReporter()
    cloud = tmp_path / "cloud"
    cloud.write_text("a file where a directory should be")  # every upload fails (operational)
    sync = make_sync(LocalDirectoryBackend(cloud), source, clock, health)
    scheduler = SyncScheduler(sync, clock, 3600, health, FAST, timer=FakeTimer(wall=clock))
    task = asyncio.create_task(scheduler.run(), name="cloud-sync")
    heartbeat = 0
    try:
        for _ in range(50):  # "the daemon" keeps doing its work
            heartbeat += 1
            await asyncio.sleep(0)
        await eventually(lambda: scheduler.syncs_failed >= 2)
        # operational errors are not retried: one attempt per sync (one may be in flight)
        assert scheduler.attempts - scheduler.syncs_failed <= 1 and scheduler.successes == 0
        cloud.unlink()
        await eventually(lambda: scheduler.successes >= 7)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert heartbeat == 50
    assert health.state == HealthState.HEALTHY
    assert await scheduler.shutdown() is True  # (a cancelled sync may have skipped its pruning)
    assert len(await sync.list_snapshots("trades")) == 5  # keep=5


def test_bad_arguments_are_named(tmp_path):
    backend = LocalDirectoryBackend(tmp_path)
    health = RecordingHealthReporter()
    clock = SimulatedClock(START)
    with pytest.raises(InvalidInputError, match="CLOUD_SYNC_KEEP"):
        CloudSync(backend, {}, clock, prefix="", keep=0, health=health)
    with pytest.raises(InvalidInputError, match="database name"):
        CloudSync(backend, {"a/b": tmp_path}, clock, prefix="", keep=1, health=health)
    sync = CloudSync(backend, {}, clock, prefix="", keep=1, health=health)
    with pytest.raises(InvalidInputError, match="interval_seconds"):
        SyncScheduler(sync, clock, 0, health)
    with pytest.raises(InvalidInputError, match="attempts"):
        SyncScheduler(sync, clock, 10, health, RetryPolicy(attempts=0))


@pytest.mark.asyncio
async def test_missing_local_database_is_a_storage_failure_not_a_crash(tmp_path):
    health = RecordingHealthReporter()
    sync = make_sync(
        LocalDirectoryBackend(tmp_path / "c"), tmp_path / "nope.db", SimulatedClock(START), health
    )
    scheduler = SyncScheduler(sync, SimulatedClock(START), 10, health, FAST)
    assert await scheduler.sync_now() is False
    assert "StorageError" in scheduler.last_error and scheduler.attempts == 1
    with pytest.raises(OperationalError):
        await sync.upload("trades")


@pytest.mark.asyncio
async def test_one_missing_database_does_not_block_the_others(tmp_path):
    make_db(tmp_path / "trades.db", orders=2).close()
    health = RecordingHealthReporter()
    databases = {"metrics": tmp_path / "metrics.db", "trades": tmp_path / "trades.db"}
    sync = CloudSync(
        LocalDirectoryBackend(tmp_path / "c"),
        databases,
        SimulatedClock(START),
        prefix="",
        keep=2,
        health=health,
    )
    with pytest.raises(OperationalError, match=r"metrics\.db"):
        await sync.upload_all()
    assert len(await sync.list_snapshots("trades")) == 1


def test_newer_is_decided_by_the_data_never_by_file_times() -> None:
    early, late = START, START + timedelta(days=1)
    assert not is_newer(Watermark(late, 0), Watermark(None, 0))  # an empty copy never wins
    assert is_newer(Watermark(None, 3), Watermark(late, 0))  # rows beat an empty file
    assert is_newer(Watermark(late, 3), Watermark(early, 90))  # progress, not row counts
    assert not is_newer(Watermark(early, 90), Watermark(late, 3))
    assert not is_newer(Watermark(late, 3), Watermark(late, 3))
    assert is_newer(Watermark(early, 3), Watermark(None, 3))  # a known mark beats an unknown
    assert not is_newer(Watermark(None, 3), Watermark(early, 3))


@pytest.mark.asyncio
async def test_upload_never_replaces_a_latest_another_daemon_made_newer(tmp_path):
    backend = LocalDirectoryBackend(tmp_path / "cloud")
    clock = SimulatedClock(START)
    marks = {"a": START, "b": START - timedelta(days=1)}

    def pod(name: str) -> CloudSync:
        path = tmp_path / name / "trades.db"
        make_db(path, orders=2).close()
        return CloudSync(
            backend,
            {"trades": path},
            clock,
            prefix="p",
            keep=1,
            health=RecordingHealthReporter(),
            progress=lambda: marks[name],
        )

    a, b = pod("a"), pod("b")
    await a.upload("trades")
    assert (await b.restore_all()).results[0].status == RestoreStatus.RESTORED
    marks["a"] = START + timedelta(days=2)  # a trades on and uploads
    newer = await a.upload("trades")
    marks["b"] = START + timedelta(days=5)  # b, further still, lacks a's later data
    with pytest.raises(OperationalError, match="newer than the local data"):
        await b.upload("trades")
    assert (await a.latest("trades")) == (newer.key, newer.metadata)
    assert await a.list_snapshots("trades") == [newer.key]  # keep=1: nothing of b pruned it
