"""The Azure Blob backend (azure-storage-blob), also used against Azurite in tests.

Objects are block blobs in one container (``CLOUD_SYNC_CONTAINER``). The
client comes from ``AZURE_STORAGE_CONNECTION_STRING`` (a ``SecretStr``) or
from ``AZURE_STORAGE_ACCOUNT_URL`` with a credential (a SAS URL needs none; a
``TokenCredential`` such as ``azure.identity.DefaultAzureCredential`` when
azure-identity is installed). The SDK's own retries are off:
:class:`~.scheduler.SyncScheduler` owns the retry policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobServiceClient, ContainerClient
from pydantic import SecretStr

from vibe.common.errors import (
    InvalidInputError,
    OperationalError,
    RateLimitedError,
    TemporaryError,
    VibeError,
)
from vibe.trading_bot.storage.sync.backends import ThreadedBackend, validate_key

_BLOB_MISSING = "BlobNotFound"


class AzureBlobBackend(ThreadedBackend):
    """Snapshots as block blobs in an Azure Storage container.

    Args:
        container: the container name; it must already exist.
        connection_string: the account connection string (secret); or
        account_url: ``https://<account>.blob.core.windows.net`` (or a SAS URL), with
        credential: anything ``BlobServiceClient`` accepts (``None`` for a SAS URL).
        connect_timeout_seconds: TCP connect timeout, seconds.
        read_timeout_seconds: socket read timeout, seconds.
        api_version: pin the storage REST API version (``None``: the SDK's default).

    Raises:
        InvalidInputError: neither or both of ``connection_string`` and ``account_url``,
            or a malformed connection string (its text is never echoed).
    """

    name = "azure"

    def __init__(
        self,
        container: str,
        *,
        connection_string: SecretStr | None = None,
        account_url: str | None = None,
        credential: Any = None,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 60.0,
        api_version: str | None = None,
    ) -> None:
        if (connection_string is None) == (account_url is None):
            raise InvalidInputError(
                "Azure target; expected exactly one of AZURE_STORAGE_CONNECTION_STRING "
                "or AZURE_STORAGE_ACCOUNT_URL"
            )
        options: dict[str, Any] = {
            "connection_timeout": connect_timeout_seconds,
            "read_timeout": read_timeout_seconds,
            "retry_total": 0,
        }
        if api_version is not None:
            options["api_version"] = api_version
        self.container = container
        self._service = _service_client(connection_string, account_url, credential, options)
        self._client: ContainerClient = self._service.get_container_client(container)

    def describe(self) -> str:
        """``azure://<account host>/<container>`` (no key, no SAS token)."""
        host = self._service.primary_hostname
        return f"azure://{host}/{self.container}"

    def translate(self, exc: Exception, context: str) -> VibeError | None:
        """Map azure-core exceptions to temporary (network, throttling, 5xx) or operational."""
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return TemporaryError(
                f"{context}: cannot reach the Azure endpoint ({type(exc).__name__})"
            )
        if isinstance(exc, ClientAuthenticationError):
            return OperationalError(f"{context}: authentication failed; check the credential")
        if isinstance(exc, ResourceNotFoundError):
            return OperationalError(f"{context}: the container does not exist; create it first")
        if isinstance(exc, HttpResponseError):
            return _translate_status(exc, context)
        if isinstance(exc, AzureError):
            return OperationalError(f"{context}: {type(exc).__name__}")
        return None

    async def put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        """Upload the file at ``path`` as block blob ``key`` (overwrite) with metadata."""
        await self.run(f"upload {key}", self._put_file, validate_key(key), Path(path), metadata)

    def _put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        with path.open("rb") as body:
            self._client.upload_blob(key, body, overwrite=True, metadata=dict(metadata))

    async def put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Upload ``data`` as block blob ``key`` (overwrite) with metadata."""
        await self.run(f"upload {key}", self._put_bytes, validate_key(key), data, metadata)

    def _put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        self._client.upload_blob(key, data, overwrite=True, metadata=dict(metadata))

    async def get_file(self, key: str, dest: Path) -> bool:
        """Download blob ``key`` into ``dest``; ``False`` when the blob does not exist."""
        return await self.run(f"download {key}", self._get_file, validate_key(key), Path(dest))

    def _get_file(self, key: str, dest: Path) -> bool:
        try:
            downloader = self._client.download_blob(key)
        except ResourceNotFoundError as exc:
            if _error_code(exc) == _BLOB_MISSING:
                return False
            raise
        with dest.open("wb") as out:
            downloader.readinto(out)
        return True

    async def get_bytes(self, key: str) -> bytes | None:
        """The content of blob ``key``, or ``None`` when it does not exist."""
        return await self.run(f"download {key}", self._get_bytes, validate_key(key))

    def _get_bytes(self, key: str) -> bytes | None:
        try:
            data: bytes = self._client.download_blob(key).readall()
        except ResourceNotFoundError as exc:
            if _error_code(exc) == _BLOB_MISSING:
                return None
            raise
        return data

    async def list_keys(self, prefix: str) -> list[str]:
        """Blob names starting with ``prefix``, sorted ascending."""
        return await self.run(f"list {prefix}", self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        return sorted(str(blob.name) for blob in self._client.list_blobs(name_starts_with=prefix))

    async def delete(self, key: str) -> None:
        """Delete blob ``key`` (a missing blob is ignored)."""
        await self.run(f"delete {key}", self._delete, validate_key(key))

    def _delete(self, key: str) -> None:
        try:
            self._client.delete_blob(key)
        except ResourceNotFoundError as exc:
            if _error_code(exc) != _BLOB_MISSING:
                raise

    async def check(self) -> None:
        """Get the container's properties (exists and reachable with this credential)."""
        await self.run("check", self._client.get_container_properties)


def _service_client(
    connection_string: SecretStr | None,
    account_url: str | None,
    credential: Any,
    options: dict[str, Any],
) -> BlobServiceClient:
    if connection_string is None:
        return BlobServiceClient(account_url or "", credential=credential, **options)
    try:
        return BlobServiceClient.from_connection_string(
            connection_string.get_secret_value(), credential=credential, **options
        )
    except ValueError as exc:
        raise InvalidInputError(
            "AZURE_STORAGE_CONNECTION_STRING is malformed; expected "
            "'DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;...'"
        ) from exc


def _translate_status(exc: HttpResponseError, context: str) -> VibeError:
    status = int(exc.status_code or 0)
    code = _error_code(exc) or status
    if status in (429, 503) or code == "ServerBusy":
        return RateLimitedError(f"{context}: throttled by Azure ({code})")
    if status >= 500 or status == 408:
        return TemporaryError(f"{context}: Azure error {code} (transient)")
    if status == 403:
        return OperationalError(f"{context}: access denied ({code}); check the credential")
    return OperationalError(f"{context}: Azure error {code}")


def _error_code(exc: HttpResponseError) -> str | None:
    code = getattr(exc, "error_code", None)  # set by the storage SDK's error deserializer
    return None if code is None else str(code)
