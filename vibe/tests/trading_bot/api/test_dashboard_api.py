"""``/api/v1`` of a real ``run --replay --speed 600`` daemon with ``API_TOKEN`` set.

One daemon for the module (``examples/data``, from 2025-06-06); every test asks
it over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibe.tests.support import eventually_sync
from vibe.tests.trading_bot.e2e.test_replay_process import daemon_env, log_tail, query, start_replay

pytestmark = pytest.mark.slow  # one daemon replaying at 600x for the module
TOKEN = "api-test-token-9c2e41"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Event = tuple[str, str, dict[str, Any]]


class Daemon:
    def __init__(self, folder: Path, env: dict[str, str], proc: subprocess.Popen[bytes]) -> None:
        self.folder, self.env, self.proc = folder, env, proc
        self.url = f"http://127.0.0.1:{env['HEALTH_CHECK_PORT']}"
        self.data = Path(env["DATA_DIR"])

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **{"headers": AUTH, **kwargs})

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10, **{"headers": AUTH, **kwargs})


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    folder = tmp_path_factory.mktemp("api")
    env = daemon_env(folder, API_TOKEN=TOKEN)
    proc = start_replay(folder, env, "--speed", "600", "--start", "2025-06-06")
    running = Daemon(folder, env, proc)

    def serving() -> bool:
        assert proc.poll() is None, log_tail(folder)
        try:
            return httpx.get(running.url + "/health/startup", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually_sync(serving, within=60)
        yield running
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def read_events(daemon: Daemon, done: Callable[[list[Event]], bool], **headers: str) -> list[Event]:
    """``(event, id, data)`` from ``/api/v1/events`` until ``done(events)``."""
    events: list[Event] = []
    kind, ident, data = "message", "", ""
    timeout = httpx.Timeout(10, read=60)
    with httpx.stream(
        "GET", daemon.url + "/api/v1/events", headers={**AUTH, **headers}, timeout=timeout
    ) as reply:
        assert reply.status_code == 200, reply.read()
        for line in reply.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and data:
                events.append((kind, ident, json.loads(data)))
                kind, data = "message", ""
                if done(events):
                    return events
    raise AssertionError("the event stream ended")


def test_every_api_call_needs_the_token_but_probes_metrics_and_page_do_not(daemon: Daemon):
    for path in ("/api/v1/status", "/api/v1/trades", "/api/v1/events"):
        missing = httpx.get(daemon.url + path, timeout=10)
        assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = daemon.get(path, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert wrong.status_code == 401 and TOKEN not in wrong.text
    assert httpx.post(daemon.url + "/api/v1/control/pause-entries").status_code == 401
    for path in ("/health/live", "/health/ready", "/metrics", "/", "/dashboard.json"):
        assert httpx.get(daemon.url + path, timeout=10).status_code in (200, 503), path
    script = httpx.get(daemon.url + "/static/vendor/lightweight-charts/LICENSE", timeout=10)
    assert "Apache License" in script.text
    paths = httpx.get(daemon.url + "/openapi.json", timeout=10).json()["paths"]
    assert {"/api/v1/status", "/api/v1/bars/{symbol}", "/api/v1/control/flatten"} <= set(paths)


def test_status_positions_trades_orders_bars_equity_daily_answer(daemon: Daemon):
    eventually_sync(lambda: bool(daemon.get("/api/v1/trades").json()), within=60)
    status = daemon.get("/api/v1/status").json()
    assert status["mode"] == "paper-replay" and status["control_enabled"] is True
    assert status["now"].endswith("Z") or "+00:00" in status["now"]
    assert {c["name"] for c in status["components"]} >= {"market_data", "execution"}
    assert TOKEN not in json.dumps(status)
    trade = daemon.get("/api/v1/trades", params={"limit": 1}).json()[0]
    stored = query(daemon.data / "trades.db", "SELECT id, symbol, entry_price FROM trades")
    assert (trade["id"], trade["symbol"], trade["entry_price"]) in stored  # more may come
    orders = daemon.get("/api/v1/orders", params={"symbol": trade["symbol"]}).json()
    assert orders and {o["symbol"] for o in orders} == {trade["symbol"]}
    bars = daemon.get(f"/api/v1/bars/{trade['symbol']}", params={"limit": 5}).json()
    assert len(bars["bars"]) == 5 and bars["interval_seconds"] == 300
    first = bars["opening_ranges"][-1]
    assert first["start"].startswith("2025-06-0") and first["low"] < first["high"]
    assert daemon.get("/api/v1/equity").json()[-1]["equity_usd"] > 0
    assert isinstance(daemon.get("/api/v1/positions").json(), list)
    assert daemon.get("/api/v1/daily").status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/api/v1/trades", {"since": "2025-06-05T10:00:00"}, 422, "timezone"),
        ("/api/v1/trades", {"since": "yesterday"}, 422, "datetime"),
        ("/api/v1/trades", {"limit": 0}, 422, "greater than or equal to 1"),
        ("/api/v1/trades", {"limit": 5001}, 422, "less than or equal to 5000"),
        ("/api/v1/trades", {"symbol": "NOPE"}, 422, "unknown symbol 'NOPE'"),
        ("/api/v1/orders", {"status": "lost"}, 422, "lost"),
        ("/api/v1/bars/NOPE", {}, 404, "this daemon trades: AAPL"),
    ],
)
def test_bad_input_is_refused_naming_the_value(
    daemon: Daemon, path: str, params: dict[str, Any], status: int, says: str
):
    reply = daemon.get(path, params=params)
    assert reply.status_code == status
    assert says in json.dumps(reply.json()["detail"])


def test_a_reconnect_with_last_event_id_gets_every_fill_again(daemon: Daemon):
    def fills(events: list[Event]) -> list[str]:
        return [data["fill_id"] for kind, _, data in events if kind == "fill"]

    def fill_and_bar(events: list[Event]) -> bool:
        return bool(fills(events)) and any(kind == "bar" for kind, _, _ in events)

    first = read_events(daemon, fill_and_bar)
    kind, start, hello = first[0]
    assert kind == "hello" and hello["resumed"] is False
    again = read_events(daemon, lambda events: len(fills(events)) >= 1, **{"Last-Event-ID": start})
    assert again[0][2]["resumed"] is True
    assert fills(again)[:1] == fills(first)[:1]
    stored = {str(row[0]) for row in query(daemon.data / "trades.db", "SELECT fill_id FROM fills")}
    assert set(fills(first)) <= stored
    bars = [data for kind, _, data in first if kind == "bar"]
    assert bars and {"symbol", "time", "open", "close"} <= set(bars[0])
    bad = daemon.get("/api/v1/events", headers={**AUTH, "Last-Event-ID": "nonsense"})
    assert bad.status_code == 422 and "nonsense" in bad.json()["detail"]


def test_control_pauses_resumes_and_refuses_bad_flattens(daemon: Daemon):
    assert daemon.post("/api/v1/control/flatten", json={"symbol": "NOPE"}).status_code == 404
    assert daemon.post("/api/v1/control/flatten", json={"sym": "AAPL"}).status_code == 422
    paused = daemon.post("/api/v1/control/pause-entries").json()
    assert paused["entries_paused"] is True
    assert daemon.get("/api/v1/status").json()["entries_paused"] is True
    resumed = daemon.post("/api/v1/control/resume-entries").json()
    assert resumed["entries_paused"] is False
    everything = daemon.post("/api/v1/control/flatten").json()
    assert everything["command"] == "flatten"
    logged = "SELECT count(*) FROM service_logs WHERE message = 'operator command'"
    eventually_sync(lambda: int(str(query(daemon.data / "logs.db", logged)[0][0])) >= 3)
    assert TOKEN not in (daemon.folder / "daemon.log").read_text()
