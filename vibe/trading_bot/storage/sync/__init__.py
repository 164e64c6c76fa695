"""Cloud sync of the SQLite databases: snapshot, upload, retain, restore.

Wiring (the orchestrator, in this order)::

    backend = build_backend(settings.cloud)
    sync = CloudSync(backend, {"trades": data_dir / "trades.db", ...}, clock,
                     prefix=settings.cloud.cloud_sync_prefix,
                     keep=settings.cloud.cloud_sync_keep, health=reporter)
    report = await sync.restore_all()          # BEFORE the stores open their files
    scheduler = SyncScheduler(sync, clock, settings.cloud.cloud_sync_interval_seconds, reporter)
    task = asyncio.create_task(scheduler.run(), name="cloud-sync")
    ... await scheduler.on_session_close() after each session ...
    task.cancel(); await scheduler.shutdown()   # after the stores flushed, before they close
"""

from vibe.trading_bot.storage.sync.azure_blob import AzureBlobBackend
from vibe.trading_bot.storage.sync.backends import LocalDirectoryBackend, SyncBackend
from vibe.trading_bot.storage.sync.cloud_sync import (
    CloudSync,
    RestoreReport,
    RestoreResult,
    RestoreStatus,
    UploadResult,
    app_version,
)
from vibe.trading_bot.storage.sync.factory import (
    BACKENDS,
    ConnectionCheck,
    build_backend,
    check_connection,
    check_connection_async,
)
from vibe.trading_bot.storage.sync.s3 import S3Backend
from vibe.trading_bot.storage.sync.scheduler import RetryPolicy, SyncScheduler, SyncStats
from vibe.trading_bot.storage.sync.snapshot import (
    SnapshotFile,
    SnapshotIntegrityError,
    SnapshotMetadata,
    create_snapshot,
)

__all__ = [
    "BACKENDS",
    "AzureBlobBackend",
    "CloudSync",
    "ConnectionCheck",
    "LocalDirectoryBackend",
    "RestoreReport",
    "RestoreResult",
    "RestoreStatus",
    "RetryPolicy",
    "S3Backend",
    "SnapshotFile",
    "SnapshotIntegrityError",
    "SnapshotMetadata",
    "SyncBackend",
    "SyncScheduler",
    "SyncStats",
    "UploadResult",
    "app_version",
    "build_backend",
    "check_connection",
    "check_connection_async",
    "create_snapshot",
]
