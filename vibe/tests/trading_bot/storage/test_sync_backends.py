"""Cloud sync against each real backend: a directory, moto's S3 server, Azurite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.tests.support import eventually
from vibe.tests.trading_bot.storage.sync_fixtures import (
    azure_backend,
    azurite_server,
    busy_writer,
    counts,
    create_bucket,
    create_container,
    insert_order,
    local_backend,
    make_db,
    moto_server,
    s3_backend,
)
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.storage.sync import CloudSync, RestoreStatus
from vibe.trading_bot.storage.sync.backends import SyncBackend
from vibe.trading_bot.storage.sync.snapshot import SnapshotMetadata, verify_snapshot

FUTURE = datetime(2099, 1, 2, 15, 0, tzinfo=UTC)  # newer than any local file
PAST = datetime(2001, 1, 2, 15, 0, tzinfo=UTC)  # older than any local file
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def azurite_port() -> Iterator[int]:
    with azurite_server() as port:
        yield port


@pytest.fixture(params=["local", "s3", "azure"])
def backend(request, tmp_path) -> SyncBackend:
    if request.param == "local":
        return local_backend(tmp_path / "cloud")
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        return s3_backend(endpoint, create_bucket(endpoint))
    port = request.getfixturevalue("azurite_port")
    return azure_backend(port, create_container(port))


def make_sync(backend, databases, clock, keep=10, health=None, progress=None) -> CloudSync:
    return CloudSync(
        backend,
        databases,
        clock,
        prefix="bot/test",
        keep=keep,
        health=health or RecordingHealthReporter(),
        host="test-host",
        version="9.9.9",
        progress=None if progress is None else (lambda: progress),
    )


@pytest.mark.asyncio
async def test_upload_while_writing_is_consistent(backend, tmp_path):
    source = tmp_path / "live" / "trades.db"
    db = make_db(source, orders=50)
    sync = make_sync(backend, {"trades": source}, SimulatedClock(FUTURE))
    with busy_writer(db) as written:
        results = []

        def progressed(goal: int) -> Callable[[], bool]:
            return lambda: written[0] >= goal

        for _ in range(3):
            await eventually(progressed(written[0] + 20))  # writes really interleave
            results.append(await sync.upload("trades"))
    assert written[0] >= 60
    seen = []
    for i, result in enumerate(results):
        gz, out = tmp_path / f"s{i}.gz", tmp_path / f"s{i}.sqlite"
        assert await backend.get_file(result.key, gz)
        verify_snapshot(gz, result.metadata, out)  # checksum, size, integrity_check
        orders, fills = counts(out)
        assert orders == fills >= 50
        seen.append(orders)
    assert seen == sorted(seen)
    meta = results[-1].metadata
    assert (meta.schema_version, meta.app_version, meta.host) == (1, "9.9.9", "test-host")
    assert meta.created_at == FUTURE
    latest = await sync.latest("trades")
    assert latest == (results[-1].key, meta)


@pytest.mark.asyncio
async def test_restore_when_newer_or_missing_and_keep_when_older(backend, tmp_path):
    # "newer" is the progress mark in the data (trading clock), never a file time
    source = tmp_path / "old-pod" / "trades.db"
    make_db(source, orders=7).close()
    clock = SimulatedClock(FUTURE)  # created_at of the uploads: plays no part
    await make_sync(backend, {"trades": source}, clock, progress=PAST).upload("trades")

    # a snapshot with an older progress mark never replaces a local file with rows
    local = tmp_path / "new-pod" / "trades.db"
    make_db(local, orders=2).close()
    health = RecordingHealthReporter()
    newer_local = make_sync(backend, {"trades": local}, clock, health=health, progress=FUTURE)
    result = await newer_local.restore_if_newer("trades")
    assert result.status == RestoreStatus.KEPT_LOCAL
    assert counts(local) == (2, 2)

    # a newer progress mark replaces it, whatever the file times say
    os.utime(local, (FUTURE.timestamp(), FUTURE.timestamp()))
    behind = make_sync(backend, {"trades": local}, clock, health=health, progress=PAST - DAY)
    report = await behind.restore_all()
    assert [r.status for r in report.results] == [RestoreStatus.RESTORED]
    assert not report.degraded and health.state == HealthState.HEALTHY
    assert counts(local) == (7, 7)
    assert counts(local.with_name("trades.db.pre-restore")) == (2, 2)
    assert report.results[0].snapshot is not None
    assert report.results[0].snapshot.progress == PAST
    assert report.results[0].snapshot.rows == 14

    # no local file at all (a fresh container): restored
    fresh = tmp_path / "fresh" / "data" / "trades.db"
    result = await make_sync(backend, {"trades": fresh}, clock).restore_if_newer("trades")
    assert result.status == RestoreStatus.RESTORED
    assert counts(fresh) == (7, 7)

    # an empty local file (created by a store before the restore) never wins either
    empty = tmp_path / "empty" / "trades.db"
    make_db(empty).close()
    result = await make_sync(backend, {"trades": empty}, clock, progress=FUTURE).restore_if_newer(
        "trades"
    )
    assert result.status == RestoreStatus.RESTORED
    assert counts(empty) == (7, 7)

    # nothing in the cloud for another database
    other = await make_sync(backend, {"metrics": fresh}, clock).restore_if_newer("metrics")
    assert other.status == RestoreStatus.NO_SNAPSHOT


@pytest.mark.asyncio
async def test_restore_over_crashed_local_with_wal_files(backend, tmp_path):
    source = tmp_path / "src" / "trades.db"
    make_db(source, orders=5).close()
    clock = SimulatedClock(FUTURE)
    await make_sync(backend, {"trades": source}, clock, progress=FUTURE).upload("trades")

    # a pod that died with data still in its WAL: copy db, -wal, -shm while open
    crashed = tmp_path / "crashed"
    live = make_db(tmp_path / "live" / "trades.db", orders=3)
    live.connection().execute("PRAGMA wal_autocheckpoint=0")
    insert_order(live)
    crashed.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(live.path.with_name("trades.db" + suffix), crashed / ("trades.db" + suffix))
    live.close()
    target = crashed / "trades.db"
    assert (crashed / "trades.db-wal").stat().st_size > 0

    behind = make_sync(backend, {"trades": target}, clock, progress=PAST)
    result = await behind.restore_if_newer("trades")
    assert result.status == RestoreStatus.RESTORED
    assert not (crashed / "trades.db-wal").exists() and not (crashed / "trades.db-shm").exists()
    assert counts(target) == (5, 5)
    assert counts(crashed / "trades.db.pre-restore") == (4, 4)  # the WAL's rows were kept


@pytest.mark.asyncio
async def test_corrupted_object_is_refused_and_local_data_untouched(backend, tmp_path):
    source = tmp_path / "src" / "trades.db"
    make_db(source, orders=9).close()
    uploaded = await make_sync(
        backend, {"trades": source}, SimulatedClock(FUTURE), progress=FUTURE
    ).upload("trades")
    await backend.put_bytes(uploaded.key, b"\x1f\x8b garbage " * 100, {})

    local = tmp_path / "local" / "trades.db"
    make_db(local, orders=4).close()
    before = local.read_bytes()
    health = RecordingHealthReporter()
    report = await make_sync(
        backend, {"trades": local}, SimulatedClock(FUTURE), health=health, progress=PAST
    ).restore_all()
    (result,) = report.results
    assert result.status == RestoreStatus.REFUSED
    assert "checksum" in result.detail
    assert report.degraded and health.state == HealthState.DEGRADED and health.errors
    assert local.read_bytes() == before
    assert sorted(p.name for p in local.parent.iterdir()) == ["trades.db"]
    assert counts(local) == (4, 4)


@pytest.mark.asyncio
async def test_retention_keeps_last_n(backend, tmp_path):
    source = tmp_path / "trades.db"
    db = make_db(source, orders=1)
    clock = SimulatedClock(FUTURE)
    sync = make_sync(backend, {"trades": source}, clock, keep=3)
    keys = []
    for _ in range(5):
        insert_order(db)
        keys.append((await sync.upload("trades")).key)
        clock.advance(60)
    db.close()
    assert await sync.list_snapshots("trades") == keys[-3:]
    latest = await sync.latest("trades")
    assert latest is not None and latest[0] == keys[-1]
    assert isinstance(latest[1], SnapshotMetadata)
    fresh = tmp_path / "fresh.db"
    assert (
        await make_sync(backend, {"trades": fresh}, clock).restore_if_newer("trades")
    ).status == (RestoreStatus.RESTORED)
    assert counts(fresh) == (6, 6)
