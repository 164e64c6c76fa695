"""A backtest loads only what it uses: no web server, cloud SDK, chart or calendar library.

The ``backtest`` command must start fast (issue 10: a year of 1-minute bars in
under 2 s including start-up; issue 23: half of backtesting.py's wall time), so
libraries of the live daemon are imported where they are used, the market
calendar of past years comes from the sessions shipped with the package
(``core/xnys_history.json``), and recorded CSV bars are read, validated, traded
and reported without pandas or pyarrow (``data/bar_csv_bytes.py``, ``BarTable``):
importing pandas alone took 0.3-0.45 s of a ~1.7 s command on the 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

NOT_NEEDED = (
    "boto3",
    "azure.storage.blob",
    "fastapi",
    "uvicorn",
    "prometheus_client",
    "matplotlib",
    "yfinance",
    "curl_cffi",
    "httpx",
    "websockets",
    "pandas_market_calendars",
    "pandas",
    "pyarrow",
)

SCRIPT = """
import asyncio, json, sys
from datetime import date
from pathlib import Path
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
from vibe.trading_bot.backtest.html_report import write_html
from vibe.trading_bot.backtest.report import result_to_dict, write_json
from vibe.trading_bot.config.loader import load_settings

data, out = Path(sys.argv[1]), Path(sys.argv[2])
settings = load_settings(None, {"symbols": ["SPY"], "timeframe": "1m", "data_dir": str(out)})
request = BacktestRequest(date(2025, 1, 2), date(2025, 1, 10), ("SPY",), "1m", data, params={})
result = asyncio.run(run_backtest(settings, request))
payload = result_to_dict(result)
write_json(result, out / "r.json", payload)
write_html(result, out / "r.html", payload)
print(json.dumps({"trades": len(result.trades), "modules": sorted(sys.modules)}))
"""


CLI_SCRIPT = """
import json, os, runpy, sys

def report(code):
    print(json.dumps({"code": code, "modules": sorted(sys.modules)}), flush=True)
    exit_now(code)

exit_now, os._exit = os._exit, report
sys.argv = ["vibe", "backtest", *sys.argv[1:]]
try:
    runpy.run_module("vibe.trading_bot", run_name="__main__")
except SystemExit as exc:
    report(exc.code or 0)
"""


def _run(data, out, script: str = SCRIPT, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", script, *(args or (str(data), str(out)))],
        env={**os.environ, "DATA_DIR": str(out / "data"), "RESULTS_DIR": str(out)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_backtest_with_reports_imports_no_live_only_library(shared_data, tmp_path):
    data = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04"
    first = _run(data, tmp_path)  # past years: the sessions shipped with the package
    assert "pandas_market_calendars" not in first["modules"]
    assert not (tmp_path / "cache" / "calendar").exists()
    second = _run(data, tmp_path)
    assert second["trades"] == first["trades"]
    loaded = [name for name in NOT_NEEDED if name in second["modules"]]
    assert loaded == []
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_the_backtest_command_on_recorded_csv_bars_imports_no_pandas(shared_data, tmp_path):
    """The real command, reports included (the console summary, JSON and HTML)."""
    data = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    args = ("--data", str(data), "--symbols", "SPY,AAPL", "--timeframe", "5m",
            "--start", "2025-06-05", "--end", "2025-06-20",
            "--output", str(tmp_path / "r.json"))  # fmt: skip
    report = _run(data, tmp_path, CLI_SCRIPT, *args)
    assert report["code"] == 0
    assert (tmp_path / "r.json").is_file() and (tmp_path / "r.html").is_file()
    assert [name for name in NOT_NEEDED if name in report["modules"]] == []
