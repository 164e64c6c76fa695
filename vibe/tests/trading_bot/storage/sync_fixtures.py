"""Helpers for the cloud sync tests: real S3 (moto server) and Azure (Azurite) on 127.0.0.1.

Imported explicitly by the ``test_sync*.py`` files (not a conftest).
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from azure.storage.blob import BlobServiceClient
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from vibe.tests.support import free_port
from vibe.trading_bot.storage.sqlite import SQLiteDatabase
from vibe.trading_bot.storage.sync import AzureBlobBackend, LocalDirectoryBackend, S3Backend
from vibe.trading_bot.storage.sync.backends import SyncBackend

REPO_ROOT = Path(__file__).resolve().parents[4]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AWS_KEY_ID = SecretStr("testing-key-id")
AWS_SECRET = SecretStr("testing-secret-key")
REGION = "us-east-1"

# two tables written in the same transaction: a consistent copy has equal counts
SCHEMA = [
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, qty INTEGER NOT NULL);"
    "CREATE TABLE fills (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, qty INTEGER NOT NULL);"
]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def make_db(path: Path, orders: int = 0) -> SQLiteDatabase:
    db = SQLiteDatabase(path, SCHEMA)
    for _ in range(orders):
        insert_order(db)
    return db


def insert_order(db: SQLiteDatabase, symbol: str = "SPY", qty: int = 10) -> None:
    with db.transaction() as conn:
        cur = conn.execute("INSERT INTO orders (symbol, qty) VALUES (?, ?)", (symbol, qty))
        conn.execute("INSERT INTO fills (order_id, qty) VALUES (?, ?)", (cur.lastrowid, qty))


def counts(path: Path) -> tuple[int, int]:
    db = SQLiteDatabase(path, SCHEMA)
    try:
        return (
            int(db.query("SELECT count(*) FROM orders")[0][0]),
            int(db.query("SELECT count(*) FROM fills")[0][0]),
        )
    finally:
        db.close()


@contextmanager
def busy_writer(db: SQLiteDatabase) -> Iterator[list[int]]:
    """A thread inserting order+fill pairs until the block exits; yields [rows written]."""
    stop = threading.Event()
    written = [0]

    def loop() -> None:
        while not stop.is_set():
            insert_order(db, qty=written[0] % 100 + 1)
            written[0] += 1
        db.close()

    thread = threading.Thread(target=loop, name="busy-writer")
    thread.start()
    try:
        yield written
    finally:
        stop.set()
        thread.join(10)


# ---- S3 (moto server) -------------------------------------------------------------------


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """A moto server on 127.0.0.1; yields its endpoint URL (state is per process, kept)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, real_port = server.get_host_and_port()
    try:
        yield f"http://{host}:{real_port}"
    finally:
        server.stop()


def create_bucket(endpoint: str, name: str | None = None) -> str:
    name = name or f"vibe-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=AWS_KEY_ID.get_secret_value(),
        aws_secret_access_key=AWS_SECRET.get_secret_value(),
    )
    client.create_bucket(Bucket=name)
    return name


def s3_backend(endpoint: str, bucket: str) -> S3Backend:
    return S3Backend(
        bucket,
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=AWS_KEY_ID,
        secret_access_key=AWS_SECRET,
        connect_timeout_seconds=2.0,
        read_timeout_seconds=10.0,
    )


# ---- Azure (Azurite) --------------------------------------------------------------------


def azurite_connection_string(port: int) -> SecretStr:
    return SecretStr(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


@contextmanager
def azurite_server(port: int | None = None) -> Iterator[int]:
    """``azurite-blob --inMemoryPersistence`` on 127.0.0.1; yields its port."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"{AZURITE_BIN} missing; run `npm install` at the repository root")
    port = port or free_port()
    args = [
        str(AZURITE_BIN),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
    ]
    workdir = tempfile.TemporaryDirectory(prefix="azurite-")
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir.name
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        workdir.cleanup()


def create_container(port: int, name: str | None = None) -> str:
    name = name or f"vibe-{uuid.uuid4().hex[:12]}"
    conn = azurite_connection_string(port).get_secret_value()
    BlobServiceClient.from_connection_string(conn).create_container(name)
    return name


def azure_backend(port: int, container: str) -> AzureBlobBackend:
    return AzureBlobBackend(
        container,
        connection_string=azurite_connection_string(port),
        connect_timeout_seconds=2.0,
        read_timeout_seconds=10.0,
    )


def local_backend(root: Path) -> SyncBackend:
    return LocalDirectoryBackend(root)
