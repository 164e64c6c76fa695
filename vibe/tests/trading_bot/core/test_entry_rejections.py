"""Refused entries are counted by rule: backtest report and console, metrics.db, show-status.

Real processes on the real sample data (examples/data). With
``max_position_pct=100`` the first position of a bar takes the whole buying
power, so the risk manager refuses the next breakouts of that bar for zero
quantity (``zero_quantity``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import bot, user_env
from vibe.trading_bot.core.entry_rejections import (
    METRIC_NAME,
    METRIC_TYPE,
    RejectionStage,
    refused_entry,
    stage_of,
)

SAMPLE = REPO_ROOT / "examples" / "data"
SYMBOLS = "AAPL,AMZN,GOOGL,MSFT,QQQ,SPY,TSLA"


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return bot(tmp_path, *args, env=env, timeout=300)


def test_backtest_counts_risk_refusals_in_json_html_and_console(tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    done = _cli(
        tmp_path,
        user_env(tmp_path),
        "backtest",
        "--start",
        "2025-06-05",
        "--end",
        "2025-08-28",
        "--data",
        str(SAMPLE),
        "--symbols",
        SYMBOLS,
        "--param",
        "max_position_pct=100",
        "--output",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    rejections = json.loads(out.read_text())["rejections"]
    assert rejections["zero_quantity"] > 0  # the risk manager's refusals
    assert rejections["volume_filter"] > 0  # and the strategy's, as before
    assert "zero_quantity" in out.with_suffix(".html").read_text()
    console = done.stdout
    assert "Rejected entries" in console
    line = next(line for line in console.splitlines() if "zero_quantity" in line)
    assert "risk" in line and f"{rejections['zero_quantity']:,}" in line


def test_replay_stores_refusals_and_show_status_reports_them_for_the_day(tmp_path: Path) -> None:
    env = user_env(tmp_path, MAX_POSITION_PCT="100", LOG_FORMAT="json")
    replay = _cli(
        tmp_path,
        env,
        "run",
        "--replay",
        str(SAMPLE),
        "--symbols",
        SYMBOLS,
        "--start",
        "2025-06-05",
        "--end",
        "2025-06-06",
    )
    assert replay.returncode == 0, replay.stderr[-2000:]
    with sqlite3.connect(tmp_path / "data" / "metrics.db") as conn:
        rows = conn.execute(
            "SELECT substr(timestamp, 1, 10), json_extract(dimensions, '$.stage'), "
            "json_extract(dimensions, '$.rule') FROM metrics "
            "WHERE metric_type = ? AND metric_name = ?",
            (METRIC_TYPE, METRIC_NAME),
        ).fetchall()
    assert ("2025-06-06", "risk", "zero_quantity") in rows
    assert any(stage == "strategy" for _, stage, _ in rows)

    status = _cli(tmp_path, env, "show-status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["session"] == "2025-06-06"
    today = [rule for day, _, rule in rows if day == "2025-06-06"]
    assert report["rejections_today"] == {r: today.count(r) for r in set(today)}
    table = _cli(tmp_path, env, "show-status")
    assert "entries refused that session" in table.stdout
    assert "zero_quantity 1" in table.stdout
    _show_status_on_a_read_only_copy(tmp_path, env, report)


def _show_status_on_a_read_only_copy(
    tmp_path: Path, env: dict[str, str], expected: dict[str, object]
) -> None:
    """The same answer from a copy of the databases on a read-only bind mount."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "data", copy, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    before = sorted(p.name for p in copy.iterdir())
    mount = f"mount --bind {copy} {copy} && mount -o remount,bind,ro {copy}"
    script = f'{mount} && touch {copy}/x 2>/dev/null; exec "$@"'
    command = [sys.executable, "-m", "vibe.trading_bot", "show-status", "--json"]
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *command],
        cwd=tmp_path,
        env={**env, "DATA_DIR": str(copy)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "Operation not permitted" in done.stderr or "mount:" in done.stderr:
        pytest.skip(f"no read-only bind mount here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
    assert sorted(p.name for p in copy.iterdir()) == before  # nothing written, even "x"


def test_stage_of_every_known_rule() -> None:
    assert stage_of("volume_filter") is RejectionStage.STRATEGY
    assert stage_of("zero_quantity") is RejectionStage.RISK
    assert stage_of("circuit_breaker_open") is RejectionStage.RISK
    assert stage_of("insufficient_buying_power") is RejectionStage.VENUE


def test_closes_and_submitted_entries_are_not_refusals() -> None:
    from datetime import UTC, datetime

    from vibe.common.models import Signal, SignalAction
    from vibe.trading_bot.execution.outcome import ExecutionResult, Outcome

    at = datetime(2025, 6, 6, 14, 0, tzinfo=UTC)
    entry = Signal("SPY", SignalAction.OPEN_LONG, at, 600.0, stop_price=598.0)
    close = Signal("SPY", SignalAction.CLOSE, at, 600.0)
    refused = refused_entry(ExecutionResult(entry, Outcome.RISK_REJECTED, "zero_quantity"))
    assert refused is not None and refused.stage is RejectionStage.RISK
    venue = refused_entry(ExecutionResult(entry, Outcome.EXCHANGE_REJECTED, "market_closed"))
    assert venue is not None and venue.stage is RejectionStage.VENUE
    assert refused_entry(ExecutionResult(entry, Outcome.SUBMITTED)) is None
    assert refused_entry(ExecutionResult(entry, Outcome.ERROR, "StorageError")) is None
    assert refused_entry(ExecutionResult(close, Outcome.RISK_REJECTED, "no_position")) is None
