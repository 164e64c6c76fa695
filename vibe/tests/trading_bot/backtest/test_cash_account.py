"""No margin: at every entry the open positions are worth no more than the equity.

Real 5-minute bars (four symbols, June-August 2025), every entry allowed the
whole equity (``max_position_pct=100``) with 10 bps slippage: the sizing
reserves for the fill's slippage and a price collar, and the paper exchange
fills only what the cash pays for, so no entry ever spends money the account
does not have. Positions are valued at their entry prices (what was paid).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vibe.common.models import Trade
from vibe.tests.trading_bot.e2e.test_replay_daemon import SAMPLE, settings_for
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest

SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT")
CAPITAL = 100_000.0


def worst_excess(trades: list[Trade]) -> tuple[float, str]:
    """The largest ``gross open value - equity`` (USD) right after an entry, and where."""
    worst, where = float("-inf"), ""
    for new in trades:
        at = new.entry_time
        open_now = [
            t for t in trades if t.entry_time <= at and (t.exit_time is None or t.exit_time > at)
        ]
        closed = [t for t in trades if t.exit_time is not None and t.exit_time <= at]
        gross = sum(t.quantity * t.entry_price for t in open_now)
        equity = CAPITAL + sum(t.pnl or 0.0 for t in closed) - sum(t.fees for t in open_now) / 2
        if gross - equity > worst:
            worst, where = gross - equity, f"{new.symbol} {at.isoformat()}"
    return worst, where


@pytest.mark.slow
@pytest.mark.asyncio
async def test_gross_position_value_never_exceeds_equity_at_any_entry(
    shared_data: Path, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path,
        list(SYMBOLS),
        initial_capital=CAPITAL,
        max_position_pct=100.0,
        max_open_positions=4,
        slippage_model="fixed_bps",
        slippage_bps=10.0,
    )
    request = BacktestRequest(
        date(2025, 6, 5), date(2025, 8, 28), SYMBOLS, "5m", shared_data / SAMPLE, {}
    )
    result = await run_backtest(settings, request)
    assert len(result.trades) >= 20
    excess, where = worst_excess(result.trades)
    assert excess <= 1e-6, f"positions worth {excess:.2f} USD more than the equity at {where}"
    assert sum(result.rejections.values()) > 0  # entries the cash could not pay for are visible
