"""Upload snapshots of the databases and restore the newest at start-up.

Object layout under ``<prefix>/<database>/`` in the backend::

    snapshots/20250703T200000000000Z-<sha256[:12]>.sqlite.gz   one per upload
    latest.json                                                  {"key": ..., "metadata": {...}}

An upload writes the snapshot object first, then ``latest.json`` (LAST, so a
reader following ``latest`` never meets a missing or half-written object),
then prunes all but the newest ``keep`` snapshots (never the one ``latest``
names). Snapshot names start with a fixed-width UTC time, so key order is time
order.

Restore runs before the stores open their files: when ``latest`` is newer
than the local file (or there is no local file) it downloads, verifies and
atomically replaces. It never raises for cloud trouble; it returns a
:class:`RestoreReport` and reports through the :class:`HealthReporter`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata as importlib_metadata
from pathlib import Path

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError, OperationalError, TemporaryError, VibeError
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.storage.sync.backends import SyncBackend
from vibe.trading_bot.storage.sync.snapshot import (
    SnapshotIntegrityError,
    SnapshotMetadata,
    create_snapshot,
    local_modified_at,
    replace_database,
    verify_snapshot,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RestoreStatus(StrEnum):
    """What the start-up restore did for one database."""

    RESTORED = "restored"  # the cloud copy replaced (or created) the local file
    KEPT_LOCAL = "kept_local"  # the local file is as new as or newer than the cloud's latest
    NO_SNAPSHOT = "no_snapshot"  # the cloud has no snapshot of this database
    UNREACHABLE = "unreachable"  # temporary failure: started on local data, degraded
    REFUSED = "refused"  # checksum / integrity / metadata failure: local files untouched
    FAILED = "failed"  # an operational failure (missing bucket, bad credentials, disk)


_BAD = frozenset({RestoreStatus.UNREACHABLE, RestoreStatus.REFUSED, RestoreStatus.FAILED})


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """The outcome for one database.

    Attributes:
        database: logical name.
        status: see :class:`RestoreStatus`.
        detail: a human-readable explanation (never contains a secret).
        snapshot: the cloud's latest snapshot, when it could be read.
    """

    database: str
    status: RestoreStatus
    detail: str = ""
    snapshot: SnapshotMetadata | None = None


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """The start-up restore of every database.

    Attributes:
        results: one :class:`RestoreResult` per database, in configuration order.
    """

    results: tuple[RestoreResult, ...]

    @property
    def degraded(self) -> bool:
        """True when any database could not be checked or restored (daemon runs on local data)."""
        return any(result.status in _BAD for result in self.results)


@dataclass(frozen=True, slots=True)
class UploadResult:
    """One uploaded snapshot.

    Attributes:
        key: the snapshot object's key.
        metadata: its metadata (``compressed_size`` is the bytes sent, plus ``latest.json``).
        pruned: keys deleted by retention.
    """

    key: str
    metadata: SnapshotMetadata
    pruned: tuple[str, ...] = field(default_factory=tuple)


def app_version() -> str:
    """The installed ``vibe-trading-bot`` version, or ``"unknown"``."""
    try:
        return importlib_metadata.version("vibe-trading-bot")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


class CloudSync:
    """Snapshot and restore a set of SQLite files through one :class:`SyncBackend`.

    Args:
        backend: where snapshots go.
        databases: logical name -> SQLite file path, e.g. ``{"trades": data_dir/"trades.db"}``.
        clock: source of ``created_at`` (tz-aware UTC).
        prefix: key prefix (``CLOUD_SYNC_PREFIX``); ``""`` for none.
        keep: snapshots kept per database (``CLOUD_SYNC_KEEP``), >= 1.
        health: where cloud trouble is reported.
        host: recorded in metadata; defaults to :func:`socket.gethostname`.
        version: recorded in metadata; defaults to :func:`app_version`.

    Raises:
        InvalidInputError: ``keep < 1`` or a database name that is not a plain word.
    """

    def __init__(
        self,
        backend: SyncBackend,
        databases: Mapping[str, Path],
        clock: Clock,
        *,
        prefix: str,
        keep: int,
        health: HealthReporter,
        host: str | None = None,
        version: str | None = None,
    ) -> None:
        if keep < 1:
            raise InvalidInputError(f"CLOUD_SYNC_KEEP={keep!r}; expected an integer >= 1")
        for name in databases:
            if not name or not name.replace("_", "").replace("-", "").isalnum():
                raise InvalidInputError(f"database name {name!r}; expected letters, digits, _ -")
        self.backend = backend
        self.databases = {name: Path(path) for name, path in databases.items()}
        self._clock = clock
        self._prefix = prefix.strip("/")
        self.keep = keep
        self._health = health
        self._host = host or socket.gethostname()
        self._version = version or app_version()
        self._guards: dict[str, datetime] = {}

    def _key(self, name: str, *parts: str) -> str:
        return "/".join(p for p in (self._prefix, name, *parts) if p)

    def latest_key(self, name: str) -> str:
        """The key of ``name``'s ``latest.json`` pointer."""
        return self._key(name, "latest.json")

    def snapshots_prefix(self, name: str) -> str:
        """The key prefix under which ``name``'s snapshots live (ends with ``/``)."""
        return self._key(name, "snapshots") + "/"

    async def list_snapshots(self, name: str) -> list[str]:
        """Keys of ``name``'s stored snapshots, oldest first."""
        return await self.backend.list_keys(self.snapshots_prefix(name))

    async def latest(self, name: str) -> tuple[str, SnapshotMetadata] | None:
        """``(key, metadata)`` named by ``latest.json``, or ``None`` when there is none.

        Raises:
            SnapshotIntegrityError: the pointer is not valid JSON / metadata.
            TemporaryError | OperationalError: the backend failed.
        """
        raw = await self.backend.get_bytes(self.latest_key(name))
        if raw is None:
            return None
        try:
            pointer = json.loads(raw)
            key = str(pointer["key"])
            meta = SnapshotMetadata.from_metadata(dict(pointer["metadata"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotIntegrityError(f"{name}: latest.json is malformed ({exc!r})") from exc
        return key, meta

    async def upload_all(self) -> list[UploadResult]:
        """Upload a snapshot of every database; one failing database does not stop the others.

        Raises:
            TemporaryError: some database failed temporarily (the first such error; retry).
            OperationalError: some database failed for good and none temporarily.
        """
        results: list[UploadResult] = []
        errors: list[VibeError] = []
        for name in self.databases:
            try:
                results.append(await self.upload(name))
            except VibeError as exc:
                errors.append(exc)
        if errors:
            temporary = [e for e in errors if isinstance(e, TemporaryError)]
            raise (temporary or errors)[0]
        return results

    async def upload(self, name: str) -> UploadResult:
        """Snapshot ``name``, upload it, then write ``latest.json``, then prune.

        Raises:
            StorageError: the local file cannot be snapshotted.
            OperationalError: the cloud holds a newer snapshot than the local data this
                daemon started from after an unreachable start-up (not overwritten), or
                the backend refused.
            TemporaryError: the backend could not be reached (retry).
        """
        await self._check_guard(name)
        with tempfile.TemporaryDirectory(prefix="vibe-sync-") as work:
            snap = await asyncio.to_thread(
                create_snapshot,
                self.databases[name],
                Path(work),
                database=name,
                created_at=self._clock.now(),
                app_version=self._version,
                host=self._host,
            )
            meta = snap.metadata
            stamp = meta.created_at.strftime("%Y%m%dT%H%M%S%fZ")
            key = self._key(name, "snapshots", f"{stamp}-{meta.sha256[:12]}.sqlite.gz")
            await self.backend.put_file(key, snap.path, meta.to_metadata())
        pointer = json.dumps({"key": key, "metadata": meta.to_metadata()}, indent=1).encode()
        await self.backend.put_bytes(self.latest_key(name), pointer, meta.to_metadata())
        pruned = await self._prune(name, key)
        _log.info("cloud sync upload", database=name, key=key, bytes=meta.compressed_size)
        return UploadResult(key, meta, pruned)

    async def _check_guard(self, name: str) -> None:
        started_from = self._guards.get(name)
        if started_from is None:
            return
        found = await self.latest(name)
        if found is not None and found[1].created_at > started_from:
            raise OperationalError(
                f"{name}: the cloud's latest snapshot ({found[1].created_at.isoformat()}) is "
                "newer than the local data this daemon started from (the cloud was unreachable "
                "at start-up); not overwriting it. Restart the daemon to restore it, or delete "
                f"{self.latest_key(name)} to keep the local data"
            )
        del self._guards[name]

    async def _prune(self, name: str, keep_key: str) -> tuple[str, ...]:
        try:
            keys = await self.list_snapshots(name)
            doomed = [k for k in keys[: max(0, len(keys) - self.keep)] if k != keep_key]
            for key in doomed:
                await self.backend.delete(key)
        except VibeError as exc:  # the snapshot is safe; retention catches up next time
            self._health.record_error(f"cloud sync retention for {name} failed: {exc}")
            return ()
        return tuple(doomed)

    async def restore_all(self) -> RestoreReport:
        """Restore every database whose cloud copy is newer; never raises for cloud trouble.

        Reports ``DEGRADED`` through the health reporter when any database could not be
        checked or restored, ``HEALTHY`` otherwise.
        """
        results = tuple([await self.restore_if_newer(name) for name in self.databases])
        report = RestoreReport(results)
        if report.degraded:
            bad = [f"{r.database}: {r.status}" for r in results if r.status in _BAD]
            self._health.set_state(HealthState.DEGRADED, "start-up restore: " + ", ".join(bad))
        else:
            self._health.set_state(HealthState.HEALTHY, "start-up restore checked")
        return report

    async def restore_if_newer(self, name: str) -> RestoreResult:
        """Replace ``name``'s local file with the cloud's latest snapshot when that is newer.

        Never raises for backend, checksum or integrity failures: the result says
        what happened, errors are recorded on the health reporter, and local files
        are untouched unless the status is ``RESTORED``.
        """
        path = self.databases[name]
        local_time = local_modified_at(path)
        try:
            return await self._restore(name, path, local_time)
        except TemporaryError as exc:
            self._guards[name] = local_time or _EPOCH
            return self._failed(name, RestoreStatus.UNREACHABLE, exc)
        except SnapshotIntegrityError as exc:
            return self._failed(name, RestoreStatus.REFUSED, exc)
        except (OperationalError, OSError) as exc:
            return self._failed(name, RestoreStatus.FAILED, exc)

    async def _restore(self, name: str, path: Path, local_time: datetime | None) -> RestoreResult:
        found = await self.latest(name)
        if found is None:
            return RestoreResult(name, RestoreStatus.NO_SNAPSHOT, "no snapshot in the cloud")
        key, meta = found
        if local_time is not None and meta.created_at <= local_time:
            detail = f"local file ({local_time.isoformat()}) is not older than the snapshot"
            return RestoreResult(name, RestoreStatus.KEPT_LOCAL, detail, meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=path.parent) as work:
            gz_path, restored = Path(work) / "snapshot.gz", Path(work) / "restored.sqlite"
            if not await self.backend.get_file(key, gz_path):
                raise SnapshotIntegrityError(f"{name}: latest.json names {key}, which is missing")
            await asyncio.to_thread(verify_snapshot, gz_path, meta, restored)
            await asyncio.to_thread(replace_database, restored, path)
        _log.info("cloud sync restored", database=name, key=key)
        detail = f"restored {key} ({meta.created_at.isoformat()})"
        return RestoreResult(name, RestoreStatus.RESTORED, detail, meta)

    def _failed(self, name: str, status: RestoreStatus, exc: BaseException) -> RestoreResult:
        detail = f"{type(exc).__name__}: {exc}"
        self._health.record_error(f"cloud restore of {name} {status}: {detail}")
        _log.warning("cloud sync restore failed", database=name, status=str(status), error=detail)
        return RestoreResult(name, status, detail)
