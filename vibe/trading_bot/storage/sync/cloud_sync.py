"""Upload snapshots of the databases and restore the newest at start-up.

Object layout under ``<prefix>/<database>/`` in the backend::

    snapshots/20250703T200000000000Z-<sha256[:12]>.sqlite.gz   one per upload
    latest.json                                                  {"key": ..., "metadata": {...}}

An upload writes the snapshot object first, then ``latest.json`` (LAST, so a
reader following ``latest`` never meets a missing or half-written object),
then prunes all but the newest ``keep`` snapshots (never the one ``latest``
names). Snapshot names start with a fixed-width UTC time, so key order is time
order.

"Newer" has one meaning, read from the data on both sides and never from
file times (:class:`~.snapshot.Watermark`, :func:`~.snapshot.is_newer`): the
daemon's progress mark (its resume cursor, a bar end time on the trading
clock) and the row count. Every snapshot records both in its metadata.

Restore runs before the stores open their files: when ``latest`` holds data
the local file lacks (an empty or missing file never wins against a snapshot
with rows) it downloads, verifies and atomically replaces. It never raises for
cloud trouble; it returns a :class:`RestoreReport` and reports through the
:class:`HealthReporter`.

An upload never replaces a ``latest`` that holds data the local copy lacks:
each database remembers the watermark its local data is known to contain
(what it restored, kept, or last uploaded); when the cloud's ``latest`` is
newer than that (another daemon uploaded, or the cloud was unreachable at
start-up), the upload is refused with an :class:`OperationalError` and the
cloud is left untouched (so retention never prunes its snapshots either).
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
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
    Watermark,
    create_snapshot,
    is_newer,
    local_rows,
    replace_database,
    verify_snapshot,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)

#: Where the daemon's progress mark comes from (``None``: unknown).
ProgressSource = Callable[[], datetime | None]


def _no_progress() -> datetime | None:
    return None


class RestoreStatus(StrEnum):
    """What the start-up restore did for one database."""

    RESTORED = "restored"  # the cloud copy replaced (or created) the local file
    KEPT_LOCAL = "kept_local"  # the cloud's latest holds nothing the local file lacks
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
        progress: returns the daemon's progress mark (tz-aware UTC; ``None`` when
            unknown), read from the local data; recorded in every snapshot and
            compared at restore (see module doc). Default: always unknown.

    Raises:
        InvalidInputError: ``keep < 1`` or a database name that is not a plain word.
    """

    def __init__(  # noqa: PLR0913 - each is a documented setting or collaborator
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
        progress: ProgressSource | None = None,
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
        self._progress = progress or _no_progress
        self._bases: dict[str, Watermark] = {}

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
            OperationalError: the cloud's ``latest`` holds data the local copy lacks
                (not overwritten; see module doc), or the backend refused.
            TemporaryError: the backend could not be reached (retry).
        """
        progress = await asyncio.to_thread(self._progress)  # before the copy: it holds as much
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
            meta = replace(snap.metadata, progress=progress)
            await self._check_not_behind(name, self._bases.get(name, meta.watermark))
            stamp = meta.created_at.strftime("%Y%m%dT%H%M%S%fZ")
            key = self._key(name, "snapshots", f"{stamp}-{meta.sha256[:12]}.sqlite.gz")
            await self.backend.put_file(key, snap.path, meta.to_metadata())
        pointer = json.dumps({"key": key, "metadata": meta.to_metadata()}, indent=1).encode()
        await self.backend.put_bytes(self.latest_key(name), pointer, meta.to_metadata())
        self._bases[name] = meta.watermark
        pruned = await self._prune(name, key)
        _log.info("cloud sync upload", database=name, key=key, bytes=meta.compressed_size)
        return UploadResult(key, meta, pruned)

    async def _check_not_behind(self, name: str, local: Watermark) -> None:
        found = await self.latest(name)
        if found is None or not is_newer(found[1].watermark, local):
            return
        cloud = found[1]
        raise OperationalError(
            f"{name}: the cloud's latest snapshot (progress {_mark(cloud.watermark)}) is "
            f"newer than the local data this daemon started from (progress {_mark(local)}); "
            "not overwriting it. Restart the daemon to restore it, or delete "
            f"{self.latest_key(name)} to keep the local data"
        )

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

    async def restore_all(self, names: Iterable[str] | None = None) -> RestoreReport:
        """Restore every database whose cloud copy is newer; never raises for cloud trouble.

        Args:
            names: the databases to restore, in order; default every database.

        The local progress mark is read once, before any file is replaced. Reports
        ``DEGRADED`` through the health reporter when any database could not be
        checked or restored, ``HEALTHY`` otherwise.

        Raises:
            StorageError: the local progress mark cannot be read (a damaged ``state.db``).
        """
        progress = await asyncio.to_thread(self._progress)
        chosen = list(self.databases if names is None else names)
        results = tuple([await self._restore_one(name, progress) for name in chosen])
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

        Raises:
            StorageError: the local file or progress mark cannot be read.
        """
        return await self._restore_one(name, await asyncio.to_thread(self._progress))

    async def _restore_one(self, name: str, progress: datetime | None) -> RestoreResult:
        path = self.databases[name]
        local = Watermark(progress, await asyncio.to_thread(local_rows, path))
        self._bases[name] = local
        try:
            return await self._restore(name, path, local)
        except TemporaryError as exc:
            return self._failed(name, RestoreStatus.UNREACHABLE, exc)
        except SnapshotIntegrityError as exc:
            return self._failed(name, RestoreStatus.REFUSED, exc)
        except (OperationalError, OSError) as exc:
            return self._failed(name, RestoreStatus.FAILED, exc)

    async def _restore(self, name: str, path: Path, local: Watermark) -> RestoreResult:
        found = await self.latest(name)
        if found is None:
            return RestoreResult(name, RestoreStatus.NO_SNAPSHOT, "no snapshot in the cloud")
        key, meta = found
        if not is_newer(meta.watermark, local):
            detail = (
                f"local data (progress {_mark(local)}) holds what the snapshot "
                f"(progress {_mark(meta.watermark)}) holds"
            )
            return RestoreResult(name, RestoreStatus.KEPT_LOCAL, detail, meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=path.parent) as work:
            gz_path, restored = Path(work) / "snapshot.gz", Path(work) / "restored.sqlite"
            if not await self.backend.get_file(key, gz_path):
                raise SnapshotIntegrityError(f"{name}: latest.json names {key}, which is missing")
            await asyncio.to_thread(verify_snapshot, gz_path, meta, restored)
            await asyncio.to_thread(replace_database, restored, path)
        self._bases[name] = meta.watermark
        _log.info("cloud sync restored", database=name, key=key, rows=meta.rows)
        detail = f"restored {key} (progress {_mark(meta.watermark)})"
        return RestoreResult(name, RestoreStatus.RESTORED, detail, meta)

    def _failed(self, name: str, status: RestoreStatus, exc: BaseException) -> RestoreResult:
        detail = f"{type(exc).__name__}: {exc}"
        self._health.record_error(f"cloud restore of {name} {status}: {detail}")
        _log.warning("cloud sync restore failed", database=name, status=str(status), error=detail)
        return RestoreResult(name, status, detail)


def _mark(mark: Watermark) -> str:
    when = mark.progress.isoformat() if mark.progress is not None else "unknown"
    rows = "unknown" if mark.rows is None else str(mark.rows)
    return f"{when}, {rows} rows"
