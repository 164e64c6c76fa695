"""Only a backtest's stores skip disk syncs: a replay (and a live run) keeps them durable.

A backtest's ``DATA_DIR`` is a temporary folder deleted after the run, so its SQLite
files are opened as scratch (``synchronous=OFF``); a replay's and a live run's are
the trader's records and must survive a crash (``synchronous=NORMAL``).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from vibe.tests import kit
from vibe.tests.conftest import REPO_ROOT
from vibe.trading_bot.core.orchestrator import Orchestrator, RunOutcome
from vibe.trading_bot.core.run_plan import RunMode

SAMPLE = REPO_ROOT / "examples" / "data"
DAY = date(2025, 6, 5)


def _run(tmp_path: Path, mode: RunMode) -> RunOutcome:
    app = kit.settings(tmp_path / mode.value)
    plan = kit.replay_plan(app, SAMPLE, ["SPY"], DAY, DAY, mode=mode)
    return asyncio.run(Orchestrator(app, plan, handle_signals=False).run())


def test_backtest_stores_are_scratch_replay_stores_durable(tmp_path: Path) -> None:
    backtest = _run(tmp_path, RunMode.BACKTEST).daemon.stores
    replay = _run(tmp_path, RunMode.REPLAY).daemon.stores
    assert [s.db.scratch for s in (backtest.trades, backtest.metrics, backtest.state)] == [True] * 3
    assert [s.db.scratch for s in (replay.trades, replay.metrics, replay.state)] == [False] * 3
