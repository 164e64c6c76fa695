"""The Python usage the design documents show, tested call by call as the README writes it.

Each call below is written exactly as in the README's "Storage and library API"
section, in a fresh working directory (``./data/...`` is relative to it).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from vibe.common.clock import LiveClock
from vibe.common.errors import ConfigurationError, InvalidInputError
from vibe.common.models import PositionSide, Trade
from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import eventually_sync, free_port, user_env
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.service import TradingService
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore
from vibe.trading_bot.utils.logger import get_logger, log_with_context

SAMPLE = REPO_ROOT / "examples" / "data"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def an_aapl_trade() -> Trade:
    return Trade(
        symbol="AAPL",
        side=PositionSide.LONG,
        quantity=100,
        entry_price=150.0,
        entry_time=datetime.now(UTC) - timedelta(hours=1),
        strategy="orb",
    )


def test_trade_store_calls_as_documented(workdir: Path) -> None:
    store = TradeStore(db_path="./data/trades.db")
    trade_id = store.insert_trade(an_aapl_trade())
    closed = store.update_trade(trade_id, exit_price=155.0, status="closed")
    trades = store.get_trades(symbol="AAPL", status="closed")
    stats = store.get_pnl_stats(symbol="AAPL")
    store.close()

    assert (workdir / "data" / "trades.db").is_file()
    assert isinstance(store._clock, LiveClock)  # the default clock: the wall clock
    assert closed.exit_price == 155.0 and closed.exit_time is not None  # closed now
    assert [t.id for t in trades] == [trade_id]
    assert trades[0].pnl == pytest.approx(500.0)  # (155 - 150) * 100 shares, no fees
    assert stats.count == 1 and stats.wins == 1 and stats.total_pnl == pytest.approx(500.0)


def test_positional_path_and_clock_still_work_and_both_paths_must_agree(workdir: Path) -> None:
    store = TradeStore(workdir / "t.db", LiveClock())
    store.close()
    with pytest.raises(InvalidInputError, match="expected one"):
        TradeStore(workdir / "a.db", db_path=workdir / "b.db")
    with pytest.raises(InvalidInputError, match="expected db_path"):
        TradeStore()


def test_status_closed_must_agree_with_the_exit_fields(workdir: Path) -> None:
    store = TradeStore(db_path="./data/trades.db")
    trade_id = store.insert_trade(an_aapl_trade())
    with pytest.raises(InvalidInputError, match="status='closed' needs exit_price"):
        store.update_trade(trade_id, status="closed")
    with pytest.raises(InvalidInputError, match="status='open' but exit_price"):
        store.update_trade(trade_id, exit_price=155.0, status="open")
    with pytest.raises(InvalidInputError, match="status='done'"):
        store.update_trade(trade_id, exit_price=155.0, status="done")
    assert store.get_trades(status="open")[0].id == trade_id  # nothing was written
    exit_time = datetime.now(UTC)
    closed = store.update_trade(trade_id, exit_price=149.0, exit_time=exit_time, status="closed")
    assert closed.exit_time == exit_time and closed.pnl == pytest.approx(-100.0)
    reopened = store.update_trade(trade_id, exit_price=None, exit_time=None, status="open")
    assert not reopened.is_closed
    assert store.get_pnl_stats(symbol="AAPL").count == 0
    store.close()


def test_metrics_store_as_documented(workdir: Path) -> None:
    metrics = MetricsStore(db_path="./data/metrics.db")
    metrics.record_metric("trading", "equity", 100_250.0, {"symbol": "AAPL"})
    stats = metrics.get_metric_stats("trading", "equity")
    metrics.close()
    assert (workdir / "data" / "metrics.db").is_file()
    assert stats.count == 1 and stats.last == 100_250.0


def test_settings_and_logging_as_documented(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / ".env").write_text("SYMBOLS=AAPL,MSFT\n")
    settings = AppSettings()
    assert settings.trading.symbols == ["AAPL", "MSFT"]  # .env read, as the daemon reads it
    monkeypatch.setenv("SYMBOLS", "SPY")
    assert AppSettings().trading.symbols == ["SPY"]  # the environment wins
    monkeypatch.setenv("INITIAL_CAPITAL", "-5")
    with pytest.raises(ConfigurationError, match="INITIAL_CAPITAL"):
        AppSettings()

    logger = get_logger(__name__)
    with structlog.testing.capture_logs() as lines:
        log_with_context(logger, "info", "Trade executed", symbol="AAPL", quantity=100, price=150.0)
    assert lines == [
        {
            "event": "Trade executed",
            "log_level": "info",
            "symbol": "AAPL",
            "quantity": 100,
            "price": 150.0,
        }
    ]


def test_trading_service_runs_a_replay_and_then_the_registered_handler(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(workdir / "data"))
    monkeypatch.setenv("HEALTH_CHECK_PORT", str(free_port()))
    settings = AppSettings()
    plan = RunPlan(
        RunMode.REPLAY,
        settings.storage.data_dir,
        ("AAPL",),
        "5m",
        replay_dir=SAMPLE,
        start=date(2025, 6, 5),
        end=date(2025, 6, 6),
    )
    service = TradingService(config=settings, plan=plan, handle_signals=False)
    ran: list[bool] = []
    service.register_shutdown_handler(lambda: ran.append((workdir / "data").is_dir()))
    outcome = asyncio.run(service.start())
    assert outcome.stop_reason is None and outcome.sessions == 2
    assert ran == [True]
    assert outcome.shutdown[-1].name.endswith("<lambda>")  # registered first, so it ran last
    with pytest.raises(RuntimeError, match="starts once"):
        asyncio.run(service.start())


def readme_example() -> str:
    """The Python block of the README's "Storage and library API" section, as printed."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## Storage and library API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_as_printed_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The whole README example in a real process: stores, logs, settings, then the live
    daemon (``TradingService``) until SIGTERM, after which the registered handler runs."""
    # live on the wall clock; Yahoo behind a proxy on a closed local port: nothing leaves
    closed = f"http://127.0.0.1:{free_port()}"
    env = user_env(tmp_path, HTTPS_PROXY=closed, https_proxy=closed, NO_PROXY="", no_proxy="")
    env["LOG_FORMAT"] = "json"
    port = int(env["HEALTH_CHECK_PORT"])
    with (tmp_path / "out.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", readme_example()],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )

    def started() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/startup", timeout=2).is_success
        except httpx.HTTPError:
            return False

    try:
        eventually_sync(started, 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "out.log").read_text()
    lines = log.splitlines()
    assert "bye" in lines, log[-3000:]
    daemon_steps = [i for i, line in enumerate(lines) if '"shutdown step done"' in line]
    assert daemon_steps and lines.index("bye") > daemon_steps[-2]  # after the daemon's own steps
    assert "Trade executed" in log and "symbol=AAPL" in log
    store = TradeStore(tmp_path / "data" / "trades.db", read_only=True)
    (trade,) = store.get_trades(symbol="AAPL", status="closed")
    store.close()
    assert trade.exit_price == 155.0 and trade.pnl == pytest.approx(500.0)
    assert (tmp_path / "data" / "metrics.db").is_file()
    assert (tmp_path / "data" / "state.db").is_file()  # the daemon ran on the same DATA_DIR
