"""Snapshot files, metadata, key layout and the local directory backend's details."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import InvalidInputError, StorageError
from vibe.tests.trading_bot.storage.sync_fixtures import counts, make_db
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.storage.sync import (
    CloudSync,
    LocalDirectoryBackend,
    RestoreStatus,
    SnapshotIntegrityError,
    SnapshotMetadata,
    create_snapshot,
)
from vibe.trading_bot.storage.sync.backends import validate_key
from vibe.trading_bot.storage.sync.snapshot import file_sha256, verify_snapshot

WHEN = datetime(2099, 5, 6, 20, 0, 1, 250, tzinfo=UTC)


def test_snapshot_metadata_and_round_trip(tmp_path):
    source = tmp_path / "trades.db"
    make_db(source, orders=20).close()
    work = tmp_path / "work"
    work.mkdir()
    snap = create_snapshot(
        source, work, database="trades", created_at=WHEN, app_version="1.2.3", host="h"
    )
    meta = snap.metadata
    assert meta.sha256 == file_sha256(snap.path) and len(meta.sha256) == 64
    assert meta.compressed_size == snap.path.stat().st_size < meta.uncompressed_size
    assert meta.schema_version == 1 and meta.created_at == WHEN
    assert SnapshotMetadata.from_metadata(meta.to_metadata()) == meta
    assert all(isinstance(v, str) for v in meta.to_metadata().values())
    out = tmp_path / "out.sqlite"
    verify_snapshot(snap.path, meta, out)
    assert counts(out) == (20, 20)
    with gzip.open(snap.path) as handle:  # a self-contained file: rollback journal, not WAL
        assert handle.read(20)[18:20] == b"\x01\x01"
    assert list(work.iterdir()) == [snap.path]


def test_missing_source_and_naive_time_are_rejected(tmp_path):
    with pytest.raises(StorageError, match=r"nope\.db"):
        create_snapshot(
            tmp_path / "nope.db", tmp_path, database="x", created_at=WHEN, app_version="1", host="h"
        )
    make_db(tmp_path / "a.db").close()
    with pytest.raises(InvalidInputError):
        create_snapshot(
            tmp_path / "a.db",
            tmp_path,
            database="x",
            created_at=datetime(2020, 1, 1),  # noqa: DTZ001 - the point of the test
            app_version="1",
            host="h",
        )


def test_malformed_metadata_is_an_integrity_error():
    with pytest.raises(SnapshotIntegrityError, match="malformed"):
        SnapshotMetadata.from_metadata({"database": "x"})


def _corrupt_sqlite(path):
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # smash every b-tree page header
        data[offset : offset + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))


@pytest.mark.asyncio
async def test_integrity_failure_with_valid_checksum_is_refused(tmp_path):
    source = tmp_path / "src.db"
    make_db(source, orders=300).close()
    backend = LocalDirectoryBackend(tmp_path / "cloud")
    clock = SimulatedClock(WHEN)
    health = RecordingHealthReporter()
    up = await CloudSync(backend, {"t": source}, clock, prefix="", keep=2, health=health).upload(
        "t"
    )
    # rebuild the object from a corrupted database and publish a matching checksum
    raw = tmp_path / "raw.sqlite"
    with gzip.open(tmp_path / "cloud" / up.key) as handle:
        raw.write_bytes(handle.read())
    _corrupt_sqlite(raw)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(raw.read_bytes()))
    meta = up.metadata.to_metadata() | {
        "sha256": file_sha256(bad),
        "compressed_size": str(bad.stat().st_size),
    }
    await backend.put_file(up.key, bad, meta)
    await backend.put_bytes(
        "t/latest.json", json.dumps({"key": up.key, "metadata": meta}).encode(), meta
    )

    local = tmp_path / "local" / "t.db"
    sync = CloudSync(backend, {"t": local}, clock, prefix="", keep=2, health=health)
    result = await sync.restore_if_newer("t")
    assert result.status == RestoreStatus.REFUSED
    assert "integrity" in result.detail or "not a SQLite database" in result.detail
    assert not local.exists()
    assert list(local.parent.iterdir()) == []  # no temporary files left behind

    await backend.put_bytes("t/latest.json", b"{not json", {})
    assert (await sync.restore_if_newer("t")).status == RestoreStatus.REFUSED


@pytest.mark.asyncio
async def test_latest_pointing_at_missing_object_is_refused(tmp_path):
    source = tmp_path / "src.db"
    make_db(source, orders=1).close()
    backend = LocalDirectoryBackend(tmp_path / "cloud")
    health = RecordingHealthReporter()
    sync = CloudSync(
        backend, {"t": source}, SimulatedClock(WHEN), prefix="x", keep=2, health=health
    )
    up = await sync.upload("t")
    await backend.delete(up.key)
    other = CloudSync(
        backend, {"t": tmp_path / "n.db"}, SimulatedClock(WHEN), prefix="x", keep=2, health=health
    )
    result = await other.restore_if_newer("t")
    assert result.status == RestoreStatus.REFUSED and "missing" in result.detail


@pytest.mark.asyncio
async def test_local_backend_layout(tmp_path):
    backend = LocalDirectoryBackend(tmp_path / "root")
    await backend.put_bytes("a/b/c.bin", b"123", {"k": "v"})
    assert (tmp_path / "root" / "a" / "b" / "c.bin").read_bytes() == b"123"
    assert json.loads((tmp_path / "root" / "a" / "b" / "c.bin.metadata.json").read_text()) == {
        "k": "v"
    }
    assert await backend.list_keys("a/") == ["a/b/c.bin"]
    assert await backend.get_bytes("a/missing") is None
    assert await backend.get_file("a/missing", tmp_path / "x") is False
    await backend.delete("a/b/c.bin")
    await backend.delete("a/b/c.bin")
    assert await backend.list_keys("") == []
    await backend.check()
    for bad in ("", "/abs", "a/../b", "a//b"):
        with pytest.raises(InvalidInputError, match="object key"):
            validate_key(bad)
