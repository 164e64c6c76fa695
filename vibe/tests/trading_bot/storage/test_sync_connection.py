"""`validate-config --check-connections`: each backend reports success or a clear failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from vibe.common.errors import InvalidInputError
from vibe.tests.trading_bot.storage.sync_fixtures import (
    AWS_KEY_ID,
    AWS_SECRET,
    AZURITE_KEY,
    azurite_connection_string,
    azurite_server,
    create_bucket,
    create_container,
    free_port,
    moto_server,
)
from vibe.trading_bot.config.settings import CloudSettings
from vibe.trading_bot.storage.sync import (
    AzureBlobBackend,
    LocalDirectoryBackend,
    S3Backend,
    build_backend,
    check_connection,
    check_connection_async,
)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def s3_settings(endpoint: str, bucket: str, **extra) -> CloudSettings:
    return CloudSettings(
        enable_cloud_sync=True,
        cloud_provider="s3",
        cloud_sync_bucket=bucket,
        aws_endpoint_url=endpoint,
        aws_default_region="us-east-1",
        **extra,
    )


def test_local_directory(tmp_path):
    result = check_connection(CloudSettings(cloud_sync_dir=tmp_path / "backups"))
    assert result.ok and result.provider == "local" and not result.enabled
    assert result.target.startswith("file://") and (tmp_path / "backups").is_dir()
    (tmp_path / "file").write_text("x")
    bad = check_connection(CloudSettings(cloud_sync_dir=tmp_path / "file" / "sub"))
    assert not bad.ok and "OperationalError" in bad.detail
    assert isinstance(build_backend(CloudSettings()), LocalDirectoryBackend)


def test_s3_with_explicit_keys(moto_endpoint):
    bucket = create_bucket(moto_endpoint)
    settings = s3_settings(
        moto_endpoint, bucket, aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET
    )
    assert isinstance(build_backend(settings), S3Backend)
    result = check_connection(settings)
    assert result.ok, result.detail
    assert result.target == f"s3://{bucket} at {moto_endpoint}"
    missing = check_connection(
        s3_settings(
            moto_endpoint,
            "no-such-bucket",
            aws_access_key_id=AWS_KEY_ID,
            aws_secret_access_key=AWS_SECRET,
        )
    )
    assert not missing.ok and "does not exist" in missing.detail
    for text in (missing.detail, missing.target, repr(missing)):
        assert AWS_SECRET.get_secret_value() not in text


def test_s3_standard_credential_chain(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    bucket = create_bucket(moto_endpoint)
    assert check_connection(s3_settings(moto_endpoint, bucket)).ok


@pytest.mark.asyncio
async def test_s3_unreachable_is_a_clear_failure():
    endpoint = f"http://127.0.0.1:{free_port()}"
    settings = s3_settings(
        endpoint, "b", aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET
    )
    result = await check_connection_async(settings)
    assert not result.ok and "TemporaryError" in result.detail and "cannot reach" in result.detail


def test_s3_half_a_key_pair_is_rejected():
    with pytest.raises(InvalidInputError, match="both or neither"):
        S3Backend("b", access_key_id=SecretStr("only-the-id"))
    with pytest.raises(InvalidInputError, match="CLOUD_SYNC_BUCKET"):
        build_backend(CloudSettings(cloud_provider="s3"))


def test_azure_connection_string_and_missing_container():
    with azurite_server() as port:
        container = create_container(port)
        settings = CloudSettings(
            enable_cloud_sync=True,
            cloud_provider="azure",
            cloud_sync_container=container,
            azure_storage_connection_string=azurite_connection_string(port),
        )
        assert isinstance(build_backend(settings), AzureBlobBackend)
        result = check_connection(settings)
        assert result.ok, result.detail
        assert result.target == f"azure://127.0.0.1:{port}/devstoreaccount1/{container}"
        missing = check_connection(settings.model_copy(update={"cloud_sync_container": "nope"}))
        assert not missing.ok and "container does not exist" in missing.detail
        for text in (result.target, missing.detail, repr(missing)):
            assert AZURITE_KEY not in text
    down = check_connection(settings, timeout_seconds=5)
    assert not down.ok and "cannot reach" in down.detail


def test_azure_bad_configuration_is_named_without_the_secret():
    with pytest.raises(InvalidInputError, match="AZURE_STORAGE_CONNECTION_STRING") as info:
        AzureBlobBackend("c", connection_string=SecretStr("not-a-connection-string-s3cr3t"))
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(InvalidInputError, match="exactly one"):
        AzureBlobBackend("c")
    with pytest.raises(InvalidInputError, match="CLOUD_SYNC_CONTAINER"):
        build_backend(CloudSettings(cloud_provider="azure"))
