"""The S3 backend (boto3): AWS S3, MinIO and other S3-compatible stores.

Objects live in one bucket; the key layout is decided by the caller (see
:mod:`.cloud_sync`). ``endpoint_url`` (``AWS_ENDPOINT_URL``) points the client
at an S3-compatible store. Credentials are the explicit key pair when given
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` as ``SecretStr``), else
boto3's standard chain (environment, shared config, container or instance
role). botocore's own retries are off: :class:`~.scheduler.SyncScheduler`
owns the retry policy, so one failed attempt is reported once.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import SecretStr

from vibe.common.errors import (
    InvalidInputError,
    OperationalError,
    RateLimitedError,
    TemporaryError,
    VibeError,
)
from vibe.trading_bot.storage.sync.backends import ThreadedBackend, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "429"}
_TRANSIENT = {"RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500", "502"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_CHUNK_BYTES = 1024 * 1024


class S3Backend(ThreadedBackend):
    """Snapshots in an S3 bucket.

    Args:
        bucket: the bucket name (``CLOUD_SYNC_BUCKET``); it must already exist.
        endpoint_url: S3-compatible endpoint (``AWS_ENDPOINT_URL``); ``None`` for AWS.
        region: region name (``AWS_DEFAULT_REGION``); ``None`` lets boto3 decide.
        access_key_id: explicit key id; with ``secret_access_key``, overrides the chain.
        secret_access_key: explicit secret key.
        connect_timeout_seconds: TCP connect timeout, seconds.
        read_timeout_seconds: socket read timeout, seconds.

    Raises:
        InvalidInputError: only one half of the explicit key pair was given.
    """

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: SecretStr | None = None,
        secret_access_key: SecretStr | None = None,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 60.0,
    ) -> None:
        if (access_key_id is None) != (secret_access_key is None):
            raise InvalidInputError(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; expected both or neither "
                "(neither uses the standard AWS credential chain)"
            )
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        session_args: dict[str, Any] = {"region_name": region}
        if access_key_id is not None and secret_access_key is not None:
            session_args["aws_access_key_id"] = access_key_id.get_secret_value()
            session_args["aws_secret_access_key"] = secret_access_key.get_secret_value()
        config = Config(
            connect_timeout=connect_timeout_seconds,
            read_timeout=read_timeout_seconds,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        session = boto3.session.Session(**session_args)
        self._client: S3Client = session.client("s3", endpoint_url=endpoint_url, config=config)

    def describe(self) -> str:
        """``s3://<bucket>`` plus the endpoint when one is set."""
        where = f"s3://{self.bucket}"
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def translate(self, exc: Exception, context: str) -> VibeError | None:
        """Map botocore exceptions to temporary (network, throttling, 5xx) or operational."""
        if isinstance(exc, BotoConnectionError | HTTPClientError):
            return TemporaryError(f"{context}: cannot reach the S3 endpoint ({exc})")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return OperationalError(
                f"{context}: no usable AWS credentials; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY or configure the standard AWS chain"
            )
        if isinstance(exc, ClientError):
            return _translate_client_error(exc, context)
        if isinstance(exc, BotoCoreError):
            return OperationalError(f"{context}: {exc}")
        return None

    async def put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        """``PutObject`` of the file at ``path`` with user metadata."""
        await self.run(f"upload {key}", self._put_file, validate_key(key), Path(path), metadata)

    def _put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        with path.open("rb") as body:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=dict(metadata))

    async def put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """``PutObject`` of ``data`` with user metadata."""
        await self.run(f"upload {key}", self._put_bytes, validate_key(key), data, metadata)

    def _put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=dict(metadata))

    async def get_file(self, key: str, dest: Path) -> bool:
        """``GetObject`` streamed into ``dest``; ``False`` when the key does not exist."""
        return await self.run(f"download {key}", self._get_file, validate_key(key), Path(dest))

    def _get_file(self, key: str, dest: Path) -> bool:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        with dest.open("wb") as out:
            shutil.copyfileobj(response["Body"], out, _CHUNK_BYTES)
        return True

    async def get_bytes(self, key: str) -> bytes | None:
        """``GetObject`` content, or ``None`` when the key does not exist."""
        return await self.run(f"download {key}", self._get_bytes, validate_key(key))

    def _get_bytes(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return response["Body"].read()

    async def list_keys(self, prefix: str) -> list[str]:
        """``ListObjectsV2`` over every page, keys sorted ascending."""
        return await self.run(f"list {prefix}", self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []) if "Key" in item)
        return sorted(keys)

    async def delete(self, key: str) -> None:
        """``DeleteObject`` (S3 treats a missing key as success)."""
        await self.run(f"delete {key}", self._delete, validate_key(key))

    def _delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=key)

    async def check(self) -> None:
        """``HeadBucket`` (exists and reachable with these credentials)."""
        await self.run("check", self._check)

    def _check(self) -> None:
        self._client.head_bucket(Bucket=self.bucket)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _translate_client_error(exc: ClientError, context: str) -> VibeError:
    code, status = _code(exc), _status(exc)
    if code in _THROTTLED or status == 429:
        return RateLimitedError(f"{context}: throttled by S3 ({code})")
    if code in _TRANSIENT or status >= 500:
        return TemporaryError(f"{context}: S3 error {code or status} (transient)")
    if code in ("NoSuchBucket", "404") or (status == 404 and "bucket" in code.lower()):
        return OperationalError(f"{context}: the bucket does not exist; create it first")
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return OperationalError(f"{context}: access denied ({code}); check the AWS credentials")
    return OperationalError(f"{context}: S3 error {code or status}")
