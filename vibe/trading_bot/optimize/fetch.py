"""Without ``--data``: fetch the bars once, as a ``backtest`` without ``--data`` does.

The bars come through the same path a backtest takes without a folder: the data
manager of :func:`~vibe.trading_bot.data.factory.build_data_manager` (the
``DATA_DIR/cache/bars`` parquet cache, else Yahoo, both judged on the wall clock)
read by a :class:`~vibe.trading_bot.core.historical_feed.HistoricalFeed` over the
window plus its warm-up, for every symbol. Yahoo's own limits (e.g. 5-minute bars
for the last 60 days only) apply and are reported as the error. The warm-up
covers the largest ``volume_lookback_bars`` any trial uses. They are written once
as ``<SYMBOL>_<timeframe>.parquet`` into
``RESULTS_DIR/optimize/bars/<symbols>_<timeframe>_<start>_<end>/`` (the record of the
data the study used), which then serves as the ``--data`` folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.historical_feed import HistoricalFeed, warmup_sessions_needed
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
        NoDataError: a symbol has no bars in ``window`` (offline: nothing cached; the
            range is older than Yahoo keeps).
        DataUnavailableError: Yahoo could not be reached (the message lists why).
    """
    from vibe.trading_bot.core.health_monitor import HealthMonitor
    from vibe.trading_bot.data.factory import build_data_manager

    trading = settings.trading
    clock = LiveClock()  # nothing is traded: the fetch's records are stamped when it runs
    monitor = HealthMonitor(settings.health, clock, mode="optimize")
    health = monitor.register("market_data")
    data = build_data_manager(settings, clock, health, scheduler, wall_clock=clock)
    warmup = warmup_sessions_needed(lookback_bars, trading.timeframe)
    feed = HistoricalFeed(
        data, scheduler, trading.symbols, trading.timeframe, *window, warmup, keep_tables=True
    )
    await data.connect()
    try:
        await feed.load()
    finally:
        await data.close()
    folder = bars_folder(
        settings.storage.results_dir, tuple(trading.symbols), trading.timeframe, window
    )
    folder.mkdir(parents=True, exist_ok=True)
    for symbol, table in feed.tables.items():
        if table is not None:  # always, once load() returned (it refuses a symbol without bars)
            table.to_frame().to_parquet(folder / f"{symbol}_{trading.timeframe}.parquet")
    return folder
