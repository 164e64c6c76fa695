"""Build the configured backend by name, and check that it works (``--check-connections``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vibe.common.errors import InvalidInputError, OperationalError, TemporaryError
from vibe.trading_bot.config.settings import AppSettings, CloudSettings
from vibe.trading_bot.storage.sync.azure_blob import AzureBlobBackend
from vibe.trading_bot.storage.sync.backends import LocalDirectoryBackend, SyncBackend
from vibe.trading_bot.storage.sync.s3 import S3Backend


def _local(cloud: CloudSettings, timeout_seconds: float) -> SyncBackend:
    return LocalDirectoryBackend(cloud.cloud_sync_dir)


def _s3(cloud: CloudSettings, timeout_seconds: float) -> SyncBackend:
    if not cloud.cloud_sync_bucket:
        raise InvalidInputError("CLOUD_SYNC_BUCKET is not set; expected a bucket name for s3")
    return S3Backend(
        cloud.cloud_sync_bucket,
        endpoint_url=cloud.aws_endpoint_url,
        region=cloud.aws_default_region,
        access_key_id=cloud.aws_access_key_id,
        secret_access_key=cloud.aws_secret_access_key,
        connect_timeout_seconds=timeout_seconds,
    )


def _azure(cloud: CloudSettings, timeout_seconds: float) -> SyncBackend:
    if not cloud.cloud_sync_container:
        raise InvalidInputError("CLOUD_SYNC_CONTAINER is not set; expected a container name")
    connection_string = cloud.azure_storage_connection_string
    account_url = None if connection_string is not None else cloud.azure_storage_account_url
    return AzureBlobBackend(
        cloud.cloud_sync_container,
        connection_string=connection_string,
        account_url=account_url,
        credential=None if account_url is None else _default_azure_credential(),
        connect_timeout_seconds=timeout_seconds,
    )


def _default_azure_credential() -> Any:
    """``DefaultAzureCredential`` when azure-identity is installed; else ``None`` (SAS URL)."""
    try:
        from azure.identity import DefaultAzureCredential  # optional dependency
    except ImportError:
        return None
    return DefaultAzureCredential()


BACKENDS: dict[str, Callable[[CloudSettings, float], SyncBackend]] = {
    "local": _local,
    "s3": _s3,
    "azure": _azure,
}


def build_backend(cloud: CloudSettings, *, connect_timeout_seconds: float = 5.0) -> SyncBackend:
    """The backend named by ``CLOUD_PROVIDER`` (``local`` | ``s3`` | ``azure``).

    Args:
        cloud: the cloud settings group.
        connect_timeout_seconds: TCP connect timeout for network backends, seconds.

    Raises:
        InvalidInputError: a required setting for the provider is missing or malformed.
    """
    try:
        factory = BACKENDS[cloud.cloud_provider]
    except KeyError as exc:
        raise InvalidInputError(
            f"CLOUD_PROVIDER={cloud.cloud_provider!r}; expected one of {sorted(BACKENDS)}"
        ) from exc
    return factory(cloud, connect_timeout_seconds)


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """The result of :func:`check_connection`.

    Attributes:
        ok: the backend is reachable and the target exists.
        provider: ``local`` | ``s3`` | ``azure``.
        target: where it points (no secrets), or ``""`` when it could not be built.
        detail: ``"ok"`` or a clear failure message (no secrets).
        enabled: ``ENABLE_CLOUD_SYNC`` (a check runs even when sync is disabled).
        duration_seconds: how long the check took, seconds.
    """

    ok: bool
    provider: str
    target: str
    detail: str
    enabled: bool
    duration_seconds: float


async def check_connection_async(
    settings: AppSettings | CloudSettings, *, timeout_seconds: float = 10.0
) -> ConnectionCheck:
    """Build the configured backend and call its ``check()``; never raises for failures.

    Args:
        settings: the application settings (or just their cloud group).
        timeout_seconds: overall limit for the check, seconds.
    """
    cloud = settings.cloud if isinstance(settings, AppSettings) else settings
    started = time.monotonic()
    target = ""
    try:
        backend = build_backend(cloud, connect_timeout_seconds=min(5.0, timeout_seconds))
        target = backend.describe()
        await asyncio.wait_for(backend.check(), timeout_seconds)
        detail, ok = "ok", True
    except TimeoutError:
        detail, ok = f"timed out after {timeout_seconds:g} s", False
    except (InvalidInputError, TemporaryError, OperationalError) as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return ConnectionCheck(
        ok=ok,
        provider=cloud.cloud_provider,
        target=target,
        detail=detail,
        enabled=cloud.enable_cloud_sync,
        duration_seconds=time.monotonic() - started,
    )


def check_connection(
    settings: AppSettings | CloudSettings, *, timeout_seconds: float = 10.0
) -> ConnectionCheck:
    """Synchronous :func:`check_connection_async` for the CLI (must not run inside a loop)."""
    return asyncio.run(check_connection_async(settings, timeout_seconds=timeout_seconds))
