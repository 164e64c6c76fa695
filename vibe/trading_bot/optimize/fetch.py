"""Without ``--data``: fetch the bars once, as a ``backtest`` without ``--data`` would.

The bars come from the same data manager a backtest builds without a folder (the
``DATA_DIR/cache/bars`` parquet cache, else Yahoo), for every symbol from the first
warm-up session's open to the last session's close, on a simulated clock at that
close (every bar of the range has closed; Yahoo's own limits, e.g. 5-minute bars for
the last 60 days only, still apply and are reported as the error). The warm-up
covers the largest ``volume_lookback_bars`` any trial uses. They are written once
as ``<SYMBOL>_<timeframe>.parquet`` into
``RESULTS_DIR/optimize/bars/<symbols>_<timeframe>_<start>_<end>/`` (the record of the
data the study used), which then serves as the ``--data`` folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.historical_feed import (
    sessions_before,
    sessions_between,
    warmup_sessions_needed,
)
from vibe.trading_bot.core.scheduler import MarketScheduler


def bars_folder(
    results_dir: Path, symbols: tuple[str, ...], timeframe: str, window: tuple[date, date]
) -> Path:
    """``RESULTS_DIR/optimize/bars/<A-B>_<tf>_<start>_<end>``."""
    name = f"{'-'.join(symbols)}_{timeframe}_{window[0].isoformat()}_{window[1].isoformat()}"
    return Path(results_dir) / "optimize" / "bars" / name


async def fetch_bars(
    settings: AppSettings,
    scheduler: MarketScheduler,
    window: tuple[date, date],
    lookback_bars: int,
) -> Path:
    """Fetch every symbol's bars for ``window`` plus warm-up and write them (module doc).

    Args:
        settings: the run's settings (symbols, timeframe, ``DATA_DIR``, Yahoo).
        scheduler: the market calendar.
        window: first and last session (ET dates, inclusive).
        lookback_bars: the largest ``volume_lookback_bars`` of any trial.

    Returns:
        The folder written.

    Raises:
        InvalidInputError: no session in ``window``.
        NoDataError: a symbol has no bars (offline: nothing cached).
        DataUnavailableError: Yahoo could not be reached (the message lists why).
    """
    from vibe.common.errors import InvalidInputError
    from vibe.trading_bot.core.health_monitor import HealthMonitor
    from vibe.trading_bot.data.factory import build_data_manager

    trading = settings.trading
    sessions = sessions_between(scheduler, *window)
    if not sessions:
        raise InvalidInputError(f"no session between {window[0]} and {window[1]}")
    warmup = sessions_before(
        scheduler, window[0], warmup_sessions_needed(lookback_bars, trading.timeframe)
    )
    clock = SimulatedClock(sessions[-1].close)
    monitor = HealthMonitor(settings.health, clock, mode="optimize")
    data = build_data_manager(settings, clock, monitor.register("market_data"), scheduler)
    folder = bars_folder(
        settings.storage.results_dir, tuple(trading.symbols), trading.timeframe, window
    )
    folder.mkdir(parents=True, exist_ok=True)
    first = (warmup or sessions)[0].open
    await data.connect()
    try:
        for symbol in trading.symbols:
            frame = await data.get_history(symbol, trading.timeframe, first, sessions[-1].close)
            frame.to_parquet(folder / f"{symbol}_{trading.timeframe}.parquet")
    finally:
        await data.close()
    return folder
