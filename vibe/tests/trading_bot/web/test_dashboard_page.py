"""The dashboard page in headless Chromium, on a real ``run --replay --speed 600`` daemon.

Sample data: ``examples/data`` (7 symbols, 5-minute bars). Screenshots are test
artefacts in the test's tmp folder (``dashboard-no-token.png``,
``dashboard-charts.png``, ``dashboard-with-token.png``; keep them with ``--basetemp``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from vibe.tests.browser import chromium, console_errors, save_screenshot
from vibe.tests.support import eventually_sync
from vibe.tests.trading_bot.e2e.test_replay_process import daemon_env, log_tail, query, start_replay

TOKEN = "dashboard-test-token-7f3a"
FIRST_FILL_SECONDS = 5.0  # issue 18: the page shows the first fill within 5 s of trades.db


def base_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['HEALTH_CHECK_PORT']}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_serving(url: str, proc: subprocess.Popen[bytes], tmp_path: Path) -> None:
    def up() -> bool:
        assert proc.poll() is None, log_tail(tmp_path)
        try:
            return httpx.get(url + "/health/startup", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually_sync(up, within=60)


@contextmanager
def replay_daemon(tmp_path: Path, **extra: str) -> Iterator[dict[str, str]]:
    """A replay daemon from 2025-06-06 at 600x; yields its environment.

    That session trades AMZN (entry 13:50 UTC), GOOGL (14:00) and SPY (15:20).
    """
    env = daemon_env(tmp_path, **extra)
    proc = start_replay(tmp_path, env, "--speed", "600", "--start", "2025-06-06")
    try:
        wait_until_serving(base_url(env), proc, tmp_path)
        yield env
    finally:
        stop(proc)


def trade_rows(driver: WebDriver) -> list[str]:
    """The trade ids of the table's rows, read in one script.

    The page re-renders the table as trades arrive: rows found by one WebDriver call
    and read by the next may be gone in between (a stale element), so both happen in
    the page at once.
    """
    ids: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#trades tbody tr'),"
        " (row) => row.getAttribute('data-trade-id') || '')"
    )
    return ids


def chart_drawn(driver: WebDriver) -> bool:
    canvases = driver.find_elements(By.CSS_SELECTOR, "#charts .symbol canvas")
    return bool(canvases) and canvases[0].size["width"] > 100


@pytest.mark.slow
def test_without_a_token_the_page_follows_the_replay_and_explains_the_disabled_buttons(
    tmp_path: Path,
) -> None:
    with replay_daemon(tmp_path) as replay, chromium() as driver:
        trades_db = Path(replay["DATA_DIR"]) / "trades.db"
        driver.get(base_url(replay) + "/")
        WebDriverWait(driver, 20).until(chart_drawn)
        eventually_sync(lambda: bool(query(trades_db, "SELECT id FROM trades")), within=90)
        stored = str(query(trades_db, "SELECT min(id) FROM trades")[0][0])
        # issue 18: shown within 5 s of its row appearing in trades.db
        WebDriverWait(driver, FIRST_FILL_SECONDS).until(lambda d: stored in trade_rows(d))
        for button in ("pause", "resume", "flatten-all"):
            assert not driver.find_element(By.ID, button).is_enabled()
        note = driver.find_element(By.ID, "control-note").text
        assert "API_TOKEN" in note and "disabled" in note.lower()
        assert driver.find_element(By.ID, "pause").get_attribute("title") == note
        refused = httpx.post(base_url(replay) + "/api/v1/control/pause-entries", timeout=10)
        assert refused.status_code == 403 and "set API_TOKEN" in refused.json()["detail"]
        assert driver.find_elements(By.CSS_SELECTOR, "#badges .badge.healthy")
        assert console_errors(driver) == []
        save_screenshot(driver, tmp_path / "dashboard-no-token.png")
        driver.execute_script("document.getElementById('charts').scrollIntoView()")
        save_screenshot(driver, tmp_path / "dashboard-charts.png")


def replay_clock(env: dict[str, str]) -> str:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    reply = httpx.get(base_url(env) + "/api/v1/status", headers=headers, timeout=5)
    return str(reply.json()["now"])


def stored_time(iso: str) -> str:
    """An API time as trades.db writes it (comparable as text)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).isoformat(timespec="microseconds")


def count(db: Path, sql: str) -> int:
    return int(str(query(db, sql)[0][0]))


@pytest.mark.slow
def test_with_a_token_pause_stops_entries_and_flatten_closes_the_position(
    tmp_path: Path,
) -> None:
    with replay_daemon(tmp_path, API_TOKEN=TOKEN) as replay, chromium() as driver:
        data = Path(replay["DATA_DIR"])
        driver.get(base_url(replay) + "/")
        token = WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "token"))
        token.send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        WebDriverWait(driver, 20).until(chart_drawn)
        # a position opens: flatten it from its row (the token was asked once, above)
        flatten = "#positions tbody tr button"
        WebDriverWait(driver, 90).until(lambda d: d.find_elements(By.CSS_SELECTOR, flatten))
        driver.execute_script(f"document.querySelector('{flatten}').click()")
        manual = "SELECT count(*) FROM trades WHERE exit_reason = 'manual'"
        eventually_sync(lambda: count(data / "trades.db", manual) == 1, within=20)
        driver.find_element(By.ID, "pause").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "entries").text == "paused")
        paused_at = replay_clock(replay)
        # the strategy wants entries again (SPY at 15:20 UTC): refused, none stored
        refused = (
            "SELECT count(*) FROM service_logs WHERE message = 'signal refused' "
            "AND extra_data LIKE '%\"entries_paused\"%'"
        )
        eventually_sync(lambda: count(data / "logs.db", refused) > 0, within=60)
        after = f"SELECT count(*) FROM trades WHERE entry_time > '{stored_time(paused_at)}'"  # noqa: S608
        assert count(data / "trades.db", after) == 0
        assert driver.find_element(By.ID, "resume").is_enabled()
        assert console_errors(driver) == []
        save_screenshot(driver, tmp_path / "dashboard-with-token.png")
    commands = "SELECT count(*) FROM service_logs WHERE message = 'operator command'"
    assert count(data / "logs.db", commands) == 2  # flatten and pause, in the service log
