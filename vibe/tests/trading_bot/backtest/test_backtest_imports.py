"""A backtest loads only what it uses: no web server, cloud SDK, chart or calendar library.

The ``backtest`` command must start fast (issue 10: a year of 1-minute bars in
under 2 s including start-up), so libraries of the live daemon are imported
where they are used, and the market calendar of past years comes from the
sessions shipped with the package (``core/xnys_history.json``).
"""

from __future__ import annotations

import json
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


def _run(data, out) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), str(out)],
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
