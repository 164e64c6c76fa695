"""Shared pieces of the ``optimize`` process tests: real SPY 1-minute bars, short ranges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPY_1M = "bars_1m/alpaca_spy_2024-03_2025-04"
START, END = "2024-04-01", "2024-05-31"
# volume_filter off: more trades in two months, so most trials are feasible
FIXED = ["--param", "volume_filter=false"]


def optimize_args(data: Path, *extra: str) -> list[str]:
    """``optimize`` over SPY 1m, April-May 2024, with ``extra`` flags."""
    return [
        "optimize", "--start", START, "--end", END, "--symbols", "SPY", "--timeframe", "1m",
        "--data", str(data), *FIXED, *extra,
    ]  # fmt: skip


def read_report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def trial_results(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must not depend on the executor: params, state, value and metrics of each trial."""
    return [
        (t["number"], t["params"], t["state"], t["value"], t["metrics"]) for t in report["trials"]
    ]
