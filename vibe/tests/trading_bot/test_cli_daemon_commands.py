"""``run``, ``backtest`` and ``show-status`` on the command line: outputs and user errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.trading_bot.backtest.test_report import METRIC_KEYS, TOP_KEYS
from vibe.trading_bot.cli import app

SAMPLE = REPO_ROOT / "examples" / "data"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RESULTS_DIR", str(tmp_path / "results"))
    return CliRunner()


def one_line_error(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--start", "2025-13-01", "--end", "2025-07-01"], "--start='2025-13-01'"),
        (["--start", "2025-07-10", "--end", "2025-07-01"], "is before --start=2025-07-10"),
        (
            ["--start", "2025-06-05", "--end", "2025-06-06", "--param", "trend_filtr=false"],
            "--param trend_filtr: unknown",
        ),
        (
            ["--start", "2025-06-05", "--end", "2025-06-06", "--param", "max_open_positions=-3"],
            "MAX_OPEN_POSITIONS",
        ),
        (["--start", "2025-06-05", "--end", "2025-06-06", "--symbols", "NVDA"], "NVDA"),
        (["--start", "2025-06-05", "--end", "2025-06-06", "--timeframe", "7m"], "--timeframe"),
    ],
)
def test_backtest_user_errors_are_one_line_exit_2(
    cli: CliRunner, args: list[str], named: str
) -> None:
    result = cli.invoke(app, ["backtest", *args, "--data", str(SAMPLE)])
    assert result.exit_code == 2
    assert named in one_line_error(result)


def test_an_in_process_backtest_gives_the_garbage_collector_back(cli: CliRunner) -> None:
    """The command pauses the cyclic collector for its run (a process exits after it)."""
    import gc

    assert gc.isenabled()
    args = ["--start", "2025-06-05", "--end", "2025-06-06", "--symbols", "SPY"]
    result = cli.invoke(app, ["backtest", *args, "--data", str(SAMPLE)])
    assert result.exit_code == 0, result.stderr
    assert gc.isenabled()
    failed = cli.invoke(app, ["backtest", "--start", "2025-06-06", "--end", "2025-06-05"])
    assert failed.exit_code == 2 and gc.isenabled()  # also after an error exit


def test_backtest_unreadable_data_folder(cli: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = cli.invoke(
        app, ["backtest", "--start", "2025-06-05", "--end", "2025-06-06", "--data", str(missing)]
    )
    assert result.exit_code == 2
    assert str(missing) in one_line_error(result)


def test_run_replay_user_errors(cli: CliRunner) -> None:
    result = cli.invoke(app, ["run", "--replay", str(SAMPLE), "--speed", "fast"])
    assert result.exit_code == 2
    assert "--speed='fast'" in one_line_error(result)
    result = cli.invoke(app, ["run", "--replay", str(SAMPLE), "--symbols", "SPY,ZZZZ"])
    assert result.exit_code == 2
    assert "ZZZZ" in one_line_error(result)


def test_backtest_writes_json_and_html_reports(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "bt" / "report.json"
    result = cli.invoke(
        app,
        [
            "backtest",
            "--start",
            "2025-06-05",
            "--end",
            "2025-06-27",
            "--symbols",
            "AAPL,QQQ,SPY,TSLA",
            "--data",
            str(SAMPLE),
            "--param",
            "trend_filter=false",
            "--param",
            "slippage_model=none",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report) == TOP_KEYS
    assert set(report["metrics"]) == METRIC_KEYS
    assert report["config"]["params"] == {"trend_filter": False, "slippage_model": "none"}
    assert report["config"]["slippage_model"] == "none"
    assert report["trades"], "expected trades in four symbols over 16 sessions"
    assert all(t["slippage_cost"] == 0 for t in report["trades"])  # slippage_model=none applied
    assert report["metrics"]["num_trades"] == len(report["trades"])
    html = out.with_suffix(".html").read_text()
    assert 'id="price-chart"' in html and "LightweightCharts" in html
    assert "Total return" in result.output
    assert not (tmp_path / "data" / "trades.db").exists()  # never the live databases


def test_replay_then_show_status_from_the_databases(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(
        app,
        [
            "run",
            "--replay",
            str(SAMPLE),
            "--symbols",
            "AAPL",
            "--start",
            "2025-06-05",
            "--end",
            "2025-06-06",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "replay finished" in result.output
    status = cli.invoke(app, ["show-status", "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert report["source"] == "databases"
    assert report["status"] == "not running"
    assert report["mode"] == "replay"
    assert report["session"] == "2025-06-06"
    assert report["last_bar_time"] == "2025-06-06T20:00:00+00:00"
    assert report["positions"] == []
    # the AAPL short of 2025-06-05 lost 170.59 USD (see test_replay_daemon.py)
    assert report["equity"] < 100_000.0


INTERRUPT_AFTER_5_SESSIONS = """
import os, signal, sys
from vibe.trading_bot.commands import progress

shown = progress.SessionProgress.update

def update(self, done, total, bars):
    shown(self, done, total, bars)
    if done == 5:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C during the 6th session's turn

progress.SessionProgress.update = update
from vibe.trading_bot.cli import main
sys.argv = ["vibe", *sys.argv[1:]]
main()
"""


def test_ctrl_c_stops_a_backtest_between_sessions_with_a_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    args = ["backtest", "--start", "2025-06-05", "--end", "2025-08-28", "--symbols", "SPY"]
    args += ["--timeframe", "5m", "--data", str(REPO_ROOT / "examples" / "data")]
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPT_AFTER_5_SESSIONS, *args, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 130, done.stderr
    # the signal is handled when the loop next yields: within a session or two
    match = re.search(r"stopped by SIGINT: the reports cover 2025-06-05 to (\S+) only", done.stderr)
    assert match is not None, done.stderr
    last = match.group(1)
    assert "2025-06-11" <= last <= "2025-06-16"  # 5th session .. two more; of 59
    report = json.loads(out.read_text())
    assert report["config"]["end"] == last
    assert report["equity_curve"][-1][0] == f"{last}T20:00:00+00:00"  # that session's close
    assert all(t["entry_time"] < f"{last}T23" for t in report["trades"])
    assert (tmp_path / "bt.html").is_file()
