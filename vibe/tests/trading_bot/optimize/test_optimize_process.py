"""The real ``python -m vibe.trading_bot optimize`` process on real SPY 1-minute bars.

Bad flags exit 2 with one line; a grid search run in three steps (``--trials 3``, a
run interrupted by SIGINT, the full run) resumes without repeating finished trials
and writes JSON + HTML each time; the best trial's metrics equal a ``backtest`` of
its parameters to the cent.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from vibe.tests.support import bot, eventually_sync, user_env
from vibe.tests.trading_bot.optimize.optimize_support import (
    END,
    FIXED,
    SPY_1M,
    START,
    optimize_args,
    read_report,
    trial_results,
)

GRID = ["--space", "orb_minutes=5,15,30,60", "--space", "take_profit_r=1.0:2.0:1.0"]  # 8 points


@pytest.fixture(scope="module")
def spy(shared_data: Path) -> Path:
    return shared_data / SPY_1M


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--space", "orb_minute=5,15"], "--space orb_minute: unknown; expected one of"),
        (["--space", "take_profit_r=3:1:1"], "expected LOW:HIGH:STEP"),
        (["--space", "orb_minutes=0,5"], "--space orb_minutes=0,5: value '0' refused"),
        (["--space", "orb_minutes=5", "--executor", "dask"], "needs tcp://HOST:PORT"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(tmp_path, spy, flags, message):
    done = bot(tmp_path, *optimize_args(spy, *flags))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert message in lines[0]


def _finished_trials(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')"
            ).fetchone()
        except sqlite3.OperationalError:  # tables not created yet
            return 0
    return int(row[0])


def _interrupted_run(tmp_path: Path, args: list[str], env: dict[str, str]) -> int:
    """Start the command, SIGINT it once a trial is told; its exit status."""
    db = tmp_path / "results" / "optimize" / "studies.db"
    before = _finished_trials(db)
    with (tmp_path / "interrupted.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vibe.trading_bot", *args],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            eventually_sync(lambda: _finished_trials(db) > before, within=120)
            proc.send_signal(signal.SIGINT)
            return proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_grid_search_resumes_writes_reports_and_best_equals_a_backtest(tmp_path, spy):
    env = user_env(tmp_path)
    report_path = tmp_path / "opt.json"
    args = optimize_args(spy, *GRID, "--workers", "2", "--output", str(report_path))

    first = bot(tmp_path, *args, "--trials", "3", env=env)
    assert first.returncode == 0, first.stderr
    early = read_report(report_path)
    assert len(early["trials"]) == 3 and early["interrupted"] is False
    assert "top trials by sharpe" in first.stdout

    status = _interrupted_run(tmp_path, args, env)
    assert status == 130, (tmp_path / "interrupted.log").read_text()
    cut = read_report(report_path)  # Ctrl-C wrote the trials finished so far
    assert cut["interrupted"] is True
    assert 3 < len(cut["trials"]) < 8
    assert trial_results(cut)[:3] == trial_results(early)

    last = bot(tmp_path, *args, env=env)
    assert last.returncode == 0, last.stderr
    report = read_report(report_path)
    assert report["interrupted"] is False
    finished = {t["number"]: t for t in report["trials"]}
    for number, params, _state, _value, metrics in trial_results(cut):  # kept, not re-run
        assert (finished[number]["params"], finished[number]["metrics"]) == (params, metrics)
    points = [(t["params"]["orb_minutes"], t["params"]["take_profit_r"]) for t in finished.values()]
    assert len(points) == len(set(points)) == 8  # every grid point exactly once
    assert report["space"]["take_profit_r"]["values"] == [1.0, 2.0]

    html = report_path.with_suffix(".html").read_text()
    for section in ("Objective by parameter", "Heatmap", "Walk-forward folds", "Top trials"):
        assert section in html
    assert "LightweightCharts" in html and "createOptionsChart" in html

    best = report["best"]
    assert best is not None
    assert best["value"] == max(t["value"] for t in report["trials"] if t["state"] == "complete")
    params = [f"--param={k}={str(v).lower()}" for k, v in best["params"].items()]
    backtest_json = tmp_path / "best_backtest.json"
    done = bot(
        tmp_path, "backtest", "--start", START, "--end", END, "--symbols", "SPY",
        "--timeframe", "1m", "--data", str(spy), *FIXED, *params,
        "--output", str(backtest_json), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_report(backtest_json)["metrics"] == best["metrics"]


def test_grid_stores_failed_and_infeasible_points_once_and_resumes_to_nothing(tmp_path, spy):
    env = user_env(tmp_path)
    out = tmp_path / "opt.json"
    space = ["--space", "min_range_pct=0.1,2.0", "--space", "max_range_pct=1.0,3.0"]
    # a range floor of 2 % above its 1 % cap cannot run; no two months of SPY have
    # 1,000 trades: the others are infeasible
    args = optimize_args(spy, *space, "--min-trades", "1000", "--workers", "1", "--output",
                         str(out))  # fmt: skip
    first = bot(tmp_path, *args, env=env)
    assert first.returncode == 0, first.stderr
    report = read_report(out)
    states = {(t["params"]["max_range_pct"], t["params"]["min_range_pct"]): t["state"]
              for t in report["trials"]}  # fmt: skip
    assert states == {
        (1.0, 0.1): "infeasible", (1.0, 2.0): "failed", (3.0, 0.1): "infeasible",
        (3.0, 2.0): "infeasible",
    }  # fmt: skip
    for trial in report["trials"]:
        if trial["state"] == "failed":
            assert "min_range_pct" in trial["error"].lower() and trial["metrics"] is None
        else:
            assert trial["error"] is None and trial["metrics"]["num_trades"] < 1000
    assert report["best"] is None

    db = tmp_path / "results" / "optimize" / "studies.db"
    stored = "SELECT number, state FROM trials ORDER BY number"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(stored).fetchall()
    # one trial per point, in grid order: (0.1, 1.0), (0.1, 3.0), (2.0, 1.0), (2.0, 3.0)
    assert rows == [(0, "PRUNED"), (1, "PRUNED"), (2, "FAIL"), (3, "PRUNED")]

    again = bot(tmp_path, *args, env=env)  # same flags: the study is complete
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute(stored).fetchall() == rows
    assert trial_results(read_report(out)) == trial_results(report)


@pytest.mark.slow
def test_without_data_the_bars_are_fetched_once_and_trials_equal_backtests(tmp_path, shared_data):
    from vibe.tests.trading_bot.data.shifted_bars import recent_bars
    from vibe.tests.trading_bot.data.yahoo_chart_standin import YahooChartStandIn

    # real SPY 5m bars of 2025-07-14..25 moved into Yahoo's last 60 days (real date)
    source = (shared_data / "bars_5m" / "yfinance_2025-06_2025-08", ["SPY"], "5m")
    recent = recent_bars(source, (date(2025, 7, 14), date(2025, 7, 25)), tmp_path / "recent")
    start, end = recent.start.isoformat(), recent.end.isoformat()
    window = ["--start", start, "--end", end, "--symbols", "SPY", "--timeframe", "5m", *FIXED]
    with YahooChartStandIn(recent.folder) as yahoo:
        env = user_env(tmp_path, YAHOO_BASE_URL=yahoo.url, XDG_CACHE_HOME=str(tmp_path / "xdg"))
        out = tmp_path / "yahoo.json"
        space = ["--space", "orb_minutes=15,30"]
        done = bot(tmp_path, "optimize", *window, *space, "--workers", "1", "--output", str(out),
                   env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert yahoo.chart_symbols() == ["SPY"]  # fetched once
        report = read_report(out)
        fetched = tmp_path / "results" / "optimize" / "bars" / f"SPY_5m_{start}_{end}"
        assert (fetched / "SPY_5m.parquet").is_file()
        assert report["config"]["data"] == str(fetched)
        best = report["best"]
        assert best is not None and len(report["trials"]) == 2
        backtest_json = tmp_path / "backtest.json"
        minutes = f"--param=orb_minutes={best['params']['orb_minutes']}"
        data = ["--data", str(recent.folder)]  # the moved bar files themselves
        done = bot(tmp_path, "backtest", *window, *data, minutes, "--output", str(backtest_json),
                   env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert read_report(backtest_json)["metrics"] == best["metrics"]
