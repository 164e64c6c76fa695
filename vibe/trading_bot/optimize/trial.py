"""One trial: exactly one ``backtest`` (same engine, fills and metrics), run in a worker.

:func:`run_trial` builds the settings the ``backtest`` command would build with
``--param`` for every fixed and searched value, and runs
:func:`~vibe.trading_bot.backtest.runner.run_backtest` on the installed bars. The
settings are sent, not re-read on the worker: :attr:`TrialContext.settings` holds
every non-secret value of the settings groups a backtest reads (trading, strategy,
risk, exchange, service) as resolved on the client, so a worker's environment or
``.env`` cannot change a result. No secret is ever sent (no alert is sent from a
trial; cloud sync is off in backtests).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from vibe.common.errors import ConfigurationError, VibeError
from vibe.trading_bot.optimize.bars import BarSet, install

if TYPE_CHECKING:
    from vibe.trading_bot.backtest.report import BacktestResult

#: Settings groups whose values a backtest reads and a trial therefore sends.
SENT_GROUPS = ("trading", "strategy", "risk", "exchange", "service")


@dataclass(frozen=True)
class TrialContext:
    """What every trial of one optimization shares.

    Attributes:
        symbols: tickers traded.
        timeframe: ``1m`` or ``5m``.
        settings: setting name (lower case) -> value, every non-secret setting of
            :data:`SENT_GROUPS` as resolved on the client, ``--param`` included.
    """

    symbols: tuple[str, ...]
    timeframe: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class TrialSpec:
    """One backtest to run.

    Attributes:
        number: the Optuna trial number (or ``-1`` for a walk-forward evaluation).
        start: first session (ET date).
        end: last session, inclusive (ET date).
        params: searched parameter -> value as ``--param`` text (``"true"``, ``"15"``).
        keep_equity: return the equity curve and the trades' P&L (evaluations only).
    """

    number: int
    start: date
    end: date
    params: Mapping[str, str]
    keep_equity: bool = False


@dataclass
class TrialOutcome:
    """What a trial sends back (small: no curve unless asked).

    Attributes:
        number: :attr:`TrialSpec.number`.
        metrics: the backtest report's ``metrics`` (USD to the cent), ``None`` on error.
        error: the one-line error of a backtest these parameters cannot run.
        equity: ``[(iso_utc_close_time, equity_usd), ...]`` when ``keep_equity``.
        trade_pnls: net P&L in USD of each closed trade when ``keep_equity``.
        worker: ``host:pid`` of the process that ran it.
    """

    number: int
    metrics: dict[str, float | int | None] | None
    error: str | None = None
    equity: list[tuple[str, float | None]] = field(default_factory=list)
    trade_pnls: list[float] = field(default_factory=list)
    worker: str = ""


def context_settings(settings: Any, params: Mapping[str, str]) -> dict[str, Any]:
    """The :attr:`TrialContext.settings` of ``settings`` (an ``AppSettings``) plus ``params``."""
    from vibe.trading_bot.config.settings import is_secret_setting

    values: dict[str, Any] = {}
    for group in SENT_GROUPS:
        dumped = getattr(settings, group).model_dump(mode="json")
        values.update({k: v for k, v in dumped.items() if not is_secret_setting(k)})
    return values | dict(params)


#: The bar set installed by a local pool worker's initializer (see :func:`init_local_worker`).
_DEFAULT_BARS: list[BarSet] = []


def init_local_worker(bars: BarSet) -> None:
    """Pool initializer: ignore Ctrl-C (the parent handles it) and install ``bars`` once.

    The worker's log lines (each backtest logs its warnings to stdout) are dropped: they
    would tear the progress bar; a trial's error is reported with the trial.
    """
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the process's lifetime
    install(bars, materialize=False)
    _DEFAULT_BARS[:] = [bars]


def prepare_worker(bars: BarSet) -> None:
    """Import what a trial runs and install ``bars`` (a Dask worker, before its first trial)."""
    import vibe.trading_bot.backtest.runner
    import vibe.trading_bot.core.orchestrator  # noqa: F401 - imported for the trials

    install(bars, materialize=True)


def _collect_young_garbage() -> None:
    """Free the trial's reference cycles: a collection of the youngest generation only.

    The trial runs with the cyclic collector paused (re-enabled at the end of the
    replay it would first walk the whole backtest's objects, ~0.07 s), so every
    container it allocated is still in generation 0 and its cycles are found there;
    without a collection a worker that runs many trials grows by one backtest's
    garbage per trial. A full collection would also walk the process's ~90,000
    older objects every trial (0.04-0.05 s; a Dask worker holds more); the older
    generations are left to the collector's own thresholds.
    """
    gc.collect(0)


def run_trial(context: TrialContext, spec: TrialSpec, bars: BarSet | None = None) -> TrialOutcome:
    """Run one trial's backtest in this process.

    Args:
        context: shared settings and symbols.
        spec: the trial.
        bars: the bar set (Dask: the scattered copy, installed on first use); ``None``
            in a local pool worker (installed by :func:`init_local_worker`).

    Returns:
        The metrics, or the error of a backtest these parameters cannot run (a bad
        combination such as ``min_range_pct >= max_range_pct``).

    Raises:
        RuntimeError: no bar set given or installed; the backtest was stopped.
    """
    from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
    from vibe.trading_bot.config.loader import load_settings
    from vibe.trading_bot.utils.collector import paused_gc

    bar_set = bars if bars is not None else (_DEFAULT_BARS[0] if _DEFAULT_BARS else None)
    if bar_set is None:
        raise RuntimeError("no bar set installed in this worker")
    folder = install(bar_set, materialize=bars is not None)
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        settings = load_settings(None, dict(context.settings) | dict(spec.params))
        request = BacktestRequest(
            spec.start, spec.end, context.symbols, context.timeframe, folder, dict(spec.params)
        )
        with paused_gc():  # the whole trial, not only its replay: one collection after it
            result = asyncio.run(
                run_backtest(settings, request, handle_signals=False, report_extras=False)
            )
            outcome = _outcome(spec, result, worker)
            # the result's ~100,000 equity points (a 1-minute year) are freed here by
            # reference counting, not walked by the collection that follows (~20 ms)
            del result
        _collect_young_garbage()
    except ConfigurationError as exc:
        issues = "; ".join(str(issue) for issue in exc.issues) or str(exc)
        return TrialOutcome(spec.number, None, error=issues, worker=worker)
    except VibeError as exc:
        return TrialOutcome(spec.number, None, error=str(exc), worker=worker)
    return outcome


def _outcome(spec: TrialSpec, result: BacktestResult, worker: str) -> TrialOutcome:
    """What a trial returns of its backtest: the metrics (and the equity when asked).

    Raises:
        RuntimeError: the backtest was stopped.
    """
    from vibe.trading_bot.backtest.report import equity_points, metrics_dict

    if result.stop_reason is not None:
        raise RuntimeError(f"trial {spec.number} stopped by {result.stop_reason}")
    outcome = TrialOutcome(spec.number, metrics_dict(result.metrics), worker=worker)
    if spec.keep_equity:
        outcome.equity = equity_points(result.equity_curve)
        outcome.trade_pnls = [t.pnl for t in result.trades if t.pnl is not None]
    return outcome
