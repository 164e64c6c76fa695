"""Build the data layer from settings: which providers, in which order.

* replay (``replay_dir`` given): history and live bars from the files only;
* live: history = cache -> Yahoo (``YAHOO_BASE_URL``); live = Finnhub
  (``FINNHUB_WS_URL``, when ``FINNHUB_API_KEY`` is set) -> Yahoo polling; the
  cache lives in ``DATA_DIR/cache/bars``;
* offline: the cache only, no network.

The parts get the times they need (see :mod:`vibe.common.clock`): the data
manager and Finnhub the trading ``clock``; Yahoo and the bar cache the
``wall_clock``, because what Yahoo has (its retention windows, which bars have
closed) and how old a cached range is belong to the outside world, so a
``backtest`` on a simulated clock fetches exactly what a live run would; and
every network provider a real ``timer`` for rate limits, polling waits and
reconnect backoff, so a ``backtest`` still paces Yahoo in real seconds. The
caller decides the wall clock: the trading clock itself in a live run (a
:class:`~vibe.common.clock.LiveClock`), a ``LiveClock`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.health_reporter import HealthReporter
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.market_health import MarketDataHealth
from vibe.trading_bot.data.providers.base import HistoryProvider, StreamingProvider
from vibe.trading_bot.data.providers.replay import ReplayProvider


def build_data_manager(
    settings: AppSettings,
    clock: Clock,
    health: HealthReporter,
    scheduler: MarketScheduler,
    replay_dir: Path | None = None,
    offline: bool = False,
    timer: Timer | None = None,
    *,
    wall_clock: Clock,
) -> DataManager:
    """A :class:`DataManager` wired for live, replay or offline use (see module docs).

    ``clock`` is trading time; ``wall_clock`` the outside world's time for Yahoo
    and the cache (unused in a replay); ``timer`` the waiting time of the network
    providers (default the real :class:`~vibe.common.clock.MonotonicTimer`).

    Raises:
        DataError: ``replay_dir`` is not a folder.
        InvalidInputError: ``YAHOO_BASE_URL`` is not an http(s) URL.
        StorageError: the cache folder cannot be created.
    """
    data = settings.data
    timer = timer or MonotonicTimer()
    health = MarketDataHealth.wrap(health)  # one reporter for the manager and the stream
    timeframe = settings.trading.timeframe
    if replay_dir is not None:
        replay = ReplayProvider(replay_dir, scheduler, timeframe=timeframe)
        return DataManager(scheduler, clock, health, [replay], [replay])
    from vibe.trading_bot.data.cache import ParquetCache  # pandas: not in replays
    from vibe.trading_bot.data.providers.yahoo import YahooProvider  # yfinance: not in replays

    cache = ParquetCache(
        settings.storage.data_dir / "cache" / "bars", wall_clock, data.data_cache_ttl_seconds
    )
    yahoo = YahooProvider(
        scheduler,
        wall_clock,
        rate_limit_per_second=data.yahoo_rate_limit,
        poll_timeframe="1m",
        timer=timer,
        base_url=data.yahoo_base_url,
    )
    live: list[StreamingProvider] = []
    if data.finnhub_api_key is not None:
        from vibe.trading_bot.data.providers.finnhub import FinnhubProvider  # live only

        live.append(
            FinnhubProvider(
                data.finnhub_api_key.get_secret_value(),
                scheduler,
                clock,
                health.part("finnhub"),
                url=data.finnhub_ws_url,
                silence_seconds=data.stream_silence_seconds,
                max_attempts=10,
                timer=timer,
            )
        )
    live.append(yahoo)
    history: list[HistoryProvider] = [yahoo]
    return DataManager(scheduler, clock, health, history, live, cache=cache, offline=offline)
