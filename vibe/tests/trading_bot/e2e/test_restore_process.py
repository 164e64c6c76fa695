"""Restore onto an empty volume, through the real ``run --replay`` process, on S3 and Azure.

Against moto's S3 server and Azurite on 127.0.0.1:

1. a replay into DATA_DIR A with cloud sync on (Discord off): the sync status is ``ok``;
2. a replay on an empty DATA_DIR B: every closed trade, the resume cursor and the
   metrics are restored before the first bar (B trades nothing twice);
3. A trades on and uploads a newer ``latest``;
4. B restarts while the cloud is unreachable (it comes back after start-up): B keeps
   trading and never overwrites the cloud's newer ``latest``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vibe.common.clock import SimulatedClock
from vibe.tests.support import eventually_sync
from vibe.tests.trading_bot.e2e.cloud_gate import cloud_gate
from vibe.tests.trading_bot.e2e.test_replay_daemon import stored_trades
from vibe.tests.trading_bot.e2e.test_replay_process import (
    daemon_env,
    log_tail,
    query,
    start_replay,
)
from vibe.tests.trading_bot.storage.sync_fixtures import (
    AWS_KEY_ID,
    AWS_SECRET,
    REGION,
    azure_backend,
    azurite_connection_string,
    azurite_server,
    create_bucket,
    create_container,
    moto_server,
    s3_backend,
)
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.storage.sync import CloudSync, SyncBackend

START = "2025-06-05"
CURSOR_SQL = "SELECT max(value) FROM run_state WHERE key = 'last_bar_end'"
METRICS_SQL = "SELECT timestamp, metric_type, metric_name, metric_value, dimensions FROM metrics"


@dataclass
class Cloud:
    """One running cloud: how the daemon reaches it, and a backend for the test's checks."""

    port: int
    env: dict[str, str]
    backend: SyncBackend

    def pointed_at(self, port: int) -> dict[str, str]:
        """The daemon's settings with the endpoint moved to ``port`` (a :class:`CloudGate`)."""
        return {k: v.replace(f":{self.port}", f":{port}") for k, v in self.env.items()}


@contextmanager
def running_cloud(provider: str) -> Iterator[Cloud]:
    if provider == "s3":
        with moto_server() as endpoint:
            bucket = create_bucket(endpoint)
            yield Cloud(
                int(endpoint.rsplit(":", 1)[1]),
                {
                    "CLOUD_PROVIDER": "s3",
                    "CLOUD_SYNC_BUCKET": bucket,
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": AWS_KEY_ID.get_secret_value(),
                    "AWS_SECRET_ACCESS_KEY": AWS_SECRET.get_secret_value(),
                    "AWS_DEFAULT_REGION": REGION,
                },
                s3_backend(endpoint, bucket),
            )
        return
    with azurite_server() as port:
        container = create_container(port)
        yield Cloud(
            port,
            {
                "CLOUD_PROVIDER": "azure",
                "CLOUD_SYNC_CONTAINER": container,
                "AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string(
                    port
                ).get_secret_value(),
            },
            azure_backend(port, container),
        )


def replay(folder: Path, cloud_env: dict[str, str], end: str, *speed: str) -> None:
    folder.mkdir(exist_ok=True)
    env = daemon_env(folder, ENABLE_CLOUD_SYNC="true", **cloud_env)
    proc = start_replay(folder, env, *(speed or ("--speed", "max")), "--start", START, "--end", end)
    assert proc.wait(timeout=180) == 0, log_tail(folder)


def log_events(folder: Path, event: str) -> list[dict[str, object]]:
    found = []
    for line in (folder / "daemon.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"event": "{event}"' in line.replace('":"', '": "'):
            found.append(json.loads(line))
    return found


def latest_key(cloud: Cloud, database: str) -> str:
    sync = CloudSync(
        cloud.backend,
        {database: Path("unused")},
        SimulatedClock(datetime(2025, 1, 1, tzinfo=UTC)),
        prefix="vibe-trading-bot",
        keep=1,
        health=RecordingHealthReporter(),
    )
    found = asyncio.run(sync.latest(database))
    assert found is not None, f"no latest.json for {database}"
    return found[0]


def status_json(folder: Path, cloud_env: dict[str, str]) -> dict[str, object]:
    env = daemon_env(folder, ENABLE_CLOUD_SYNC="true", **cloud_env)
    done = subprocess.run(
        [sys.executable, "-m", "vibe.trading_bot", "show-status", "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body: dict[str, object] = json.loads(done.stdout)
    return body


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["s3", "azure"])
def test_empty_volume_restores_and_never_overwrites_a_newer_cloud(
    provider: str, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    with running_cloud(provider) as cloud:
        # 1. A replays with sync on and Discord off: the sync status is ok
        replay(a, cloud.env, "2025-06-10")
        a_trades = stored_trades(a / "data")
        assert any(t[9] == "closed" for t in a_trades)
        notes = query(
            a / "data" / "state.db", "SELECT value FROM run_state WHERE key = 'last_cloud_sync'"
        )
        assert notes == [("ok",)], log_tail(a)
        assert str(status_json(a, cloud.env)["last_cloud_sync"]).startswith("ok at ")
        assert not log_events(a, "cloud sync failed")
        # Discord off: one log line per alert, the Startup alert first (before any bar)
        alerts = log_events(a, "alert")
        assert alerts[0]["title"] == "Startup"
        assert any(e.get("symbol") and e.get("fields") for e in alerts[1:])
        a_cursor = query(a / "data" / "state.db", CURSOR_SQL)
        a_metrics = set(query(a / "data" / "metrics.db", METRICS_SQL))

        # 2. an empty DATA_DIR B: everything is back before the first bar, nothing traded twice
        started = time.monotonic()
        replay(b, cloud.env, "2025-06-10")
        run_seconds = time.monotonic() - started
        statuses = {e["database"]: e["status"] for e in log_events(b, "cloud restore")}
        assert statuses == {"trades": "restored", "metrics": "restored", "state": "restored"}
        (done,) = log_events(b, "cloud restore done")
        print(f"\n{provider}: restore {done['seconds']} s, whole run {run_seconds:.1f} s")
        assert stored_trades(b / "data") == a_trades
        assert query(b / "data" / "state.db", CURSOR_SQL) == a_cursor
        assert a_metrics <= set(query(b / "data" / "metrics.db", METRICS_SQL))

        # 3. A trades on: the cloud's latest is now newer than B's data
        replay(a, cloud.env, "2025-06-12")
        newer = {db: latest_key(cloud, db) for db in ("trades", "metrics", "state")}

        # 4. B restarts with the cloud unreachable; it comes back after B has started
        with cloud_gate(cloud.port) as gate:
            env = daemon_env(b, ENABLE_CLOUD_SYNC="true", **cloud.pointed_at(gate.port))
            proc = start_replay(b, env, "--speed", "3000", "--start", START, "--end", "2025-06-11")
            try:
                eventually_sync(lambda: len(log_events(b, "cloud restore done")) == 2, within=60)
                gate.is_open = True
                assert proc.wait(timeout=120) == 0, log_tail(b)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert gate.refused > 0
        restarts = [e["status"] for e in log_events(b, "cloud restore")][3:]
        assert restarts == ["unreachable"] * 3
        b_cursor = query(b / "data" / "state.db", CURSOR_SQL)
        assert str(b_cursor[0][0]) > str(a_cursor[0][0])  # B kept trading (2025-06-11)
        assert str(b_cursor[0][0]).startswith("2025-06-11")
        assert {db: latest_key(cloud, db) for db in newer} == newer
        refusals = [e for e in log_events(b, "cloud sync failed") if "newer than" in str(e)]
        assert refusals, log_tail(b)


@pytest.mark.slow
def test_the_daemon_uploads_every_interval_while_it_trades(tmp_path: Path):
    """``CLOUD_SYNC_INTERVAL_SECONDS`` (real seconds) uploads the databases while a
    session runs, not only at its close and at shutdown; SIGTERM stops the
    periodic sync before the final one."""
    with running_cloud("s3") as cloud:
        env = daemon_env(
            tmp_path, ENABLE_CLOUD_SYNC="true", CLOUD_SYNC_INTERVAL_SECONDS="1", **cloud.env
        )
        # a session of 78 five-minute bars at 2400x lasts ~10 real seconds
        proc = start_replay(tmp_path, env, "--speed", "2400", "--start", START, "--end", START)
        try:
            eventually_sync(lambda: len(log_events(tmp_path, "cloud sync done")) >= 3, 60)
            reasons = [e["reason"] for e in log_events(tmp_path, "cloud sync done")]
            assert reasons[:3] == ["interval"] * 3, reasons  # before the session closed
            assert not log_events(tmp_path, "session closed")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        assert code == 0, log_tail(tmp_path)
        done = log_events(tmp_path, "cloud sync done")
        assert done[-1]["reason"] == "shutdown", done
        assert latest_key(cloud, "trades")  # the snapshots are in the bucket
