"""Backtest results and their JSON report.

A :class:`BacktestResult` is what a backtest run hands to the writers:
:func:`write_json` here, :func:`vibe.trading_bot.backtest.html_report.write_html`
(interactive chart report on TradingView Lightweight Charts) and
:func:`vibe.trading_bot.backtest.console.print_summary` (rich table).

JSON layout (``result_to_dict``), the contract of the ``backtest`` command:

* ``config``: ``symbols``, ``start``, ``end`` (``YYYY-MM-DD``), ``timeframe``, ``params``
  (the ``--param`` overrides as given), ``initial_capital`` (USD), ``slippage_model``,
  ``commission_model``.
* ``metrics``: :meth:`PerformanceMetrics.as_dict` (percent, ratios, USD; ``null`` when
  undefined).
* ``trades``: one object per round trip: ``symbol``, ``side`` (``long``/``short``),
  ``quantity`` (shares), ``entry_time``, ``entry_price``, ``exit_time``, ``exit_price``,
  ``pnl`` (USD net of fees), ``pnl_pct``, ``fees`` (USD), ``slippage_cost`` (USD),
  ``exit_reason``; the exit fields are ``null`` for a trade still open.
* ``equity_curve``: ``[timestamp, equity_usd]`` at every bar close.
* ``rejections``: rule name -> number of entries it refused.
* ``benchmark``, ``benchmark_equity``, ``drawdown``, ``trade_stats``, ``breakdown``:
  buy and hold of the same symbols over the same bars and the excess over it, the max
  drawdown's peak/trough/recovery times, best/worst trade and day, durations of
  winners and losers, streaks, R-multiples, and the trades by symbol, month and
  weekday; every key, unit and definition is listed in :mod:`.sections`.

Each trade also carries ``initial_stop`` (USD per share, the stop-loss placed with the
entry; ``null`` when unknown) and ``r_multiple`` (net P&L / (|entry - initial stop| x
quantity); ``null`` when unknown or open).

Times are ISO-8601 in UTC with an explicit ``+00:00`` offset (the console and HTML
show America/New_York time with its zone). USD amounts are rounded to cents, prices to
6 decimals (never fewer than 4), percentages and ratios to 6 decimals; no number is
``-0.0``. NaN and infinities become ``null``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from vibe.common.errors import InvalidInputError, StorageError
from vibe.common.models import Trade, require_aware
from vibe.trading_bot.backtest.benchmark import Benchmark
from vibe.trading_bot.backtest.curve_columns import CurveColumns, curve_columns
from vibe.trading_bot.backtest.json_values import finite_or_none, iso_utc, rounded_list
from vibe.trading_bot.backtest.metrics import PerformanceMetrics
from vibe.trading_bot.backtest.price_history import PriceHistory
from vibe.trading_bot.backtest.sections import analysis_sections
from vibe.trading_bot.backtest.trade_stats import r_multiple
from vibe.trading_bot.utils.atomic_file import write_bytes_atomically

ParamValue = str | float | int | bool

USD_DECIMALS = 2
PRICE_DECIMALS = 6
RATIO_DECIMALS = 6
_USD_METRICS = frozenset({"expectancy_usd", "final_equity"})
_REPORT_FILE_MODE = 0o644
#: The analysis sections (:mod:`.sections`), one JSON line each after ``rejections``.
_SECTION_KEYS = ("benchmark", "drawdown", "trade_stats", "breakdown", "benchmark_equity")

#: Metric key -> (label, unit) for human-facing reports; unit is ``%``, ``USD``, ``""``.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "total_return_pct": ("Total return", "%"),
    "cagr_pct": ("CAGR", "%"),
    "sharpe": ("Sharpe ratio", ""),
    "sortino": ("Sortino ratio", ""),
    "calmar": ("Calmar ratio", ""),
    "max_drawdown_pct": ("Max drawdown", "%"),
    "win_rate_pct": ("Win rate", "%"),
    "profit_factor": ("Profit factor", ""),
    "expectancy_usd": ("Expectancy per trade", "USD"),
    "num_trades": ("Trades", ""),
    "exposure_pct": ("Exposure", "%"),
    "var_95_pct": ("VaR 95 % (per bar)", "%"),
    "final_equity": ("Final equity", "USD"),
}


@dataclass(frozen=True)
class BacktestConfig:
    """What a backtest was asked to do, as recorded in the report.

    Attributes:
        symbols: tickers traded.
        start: first session date (inclusive).
        end: last session date (inclusive).
        timeframe: bar timeframe, ``1m`` or ``5m``.
        params: the ``--param`` overrides as given (settings name in lower case -> value).
        initial_capital: starting equity in USD (> 0).
        slippage_model: name of the slippage model used.
        commission_model: name of the commission model used.
    """

    symbols: list[str]
    start: date
    end: date
    timeframe: str
    params: dict[str, ParamValue]
    initial_capital: float
    slippage_model: str
    commission_model: str


@dataclass(frozen=True)
class BacktestResult:
    """Everything a backtest produced.

    Attributes:
        config: the run's configuration.
        metrics: headline figures from :func:`~vibe.trading_bot.backtest.metrics.compute_metrics`.
        trades: round trips in entry order (closed ones carry exit time, price and reason).
        equity_curve: ``(bar close time tz-aware UTC, equity USD)`` at every bar close,
            ascending.
        rejections: rule name -> count of entries that rule refused.
        stop_reason: the signal that cut the run short (e.g. ``SIGINT``), ``None`` when
            every session ran; ``config.end`` is then the last session that ran.
        benchmark: equal-weight buy and hold of the same symbols over the same bars
            (:mod:`.benchmark`); ``None`` when the bars were not available.
        initial_stops: the stop-loss price (USD per share) placed with each trade's
            entry, in the order of ``trades`` (``None``: unknown); empty when unknown.
        prices: the traded sessions' bars of each symbol and the strategy's opening
            range length, for the HTML report's price charts (:mod:`.price_history`);
            ``None`` when not available (the report then has no price chart).
    """

    config: BacktestConfig
    metrics: PerformanceMetrics
    trades: list[Trade]
    equity_curve: list[tuple[datetime, float]]
    rejections: dict[str, int]
    stop_reason: str | None = None
    benchmark: Benchmark | None = None
    initial_stops: tuple[float | None, ...] = ()
    prices: PriceHistory | None = None

    @cached_property
    def curve_columns(self) -> CurveColumns:
        """``equity_curve`` as columns (epoch seconds, ISO text, equity; :mod:`.curve_columns`).

        Built on first use and kept: the JSON report, the charts and the analysis
        sections read it instead of each walking the ~100,000 points of a 1-minute
        year again. ``equity_curve`` is not to be changed afterwards.

        Raises:
            InvalidInputError: a naive time in ``equity_curve``.
        """
        return curve_columns(self.equity_curve)

    def replaced(self, **changes: Any) -> BacktestResult:
        """A copy with ``changes`` (as :func:`dataclasses.replace`).

        The copy keeps :attr:`curve_columns` when they were built and
        ``equity_curve`` is not among the changes (a 1-minute year's columns cost
        ~50 ms to build again).
        """
        copy = dataclasses.replace(self, **changes)
        built = self.__dict__.get("curve_columns")
        if built is not None and "equity_curve" not in changes:
            copy.__dict__["curve_columns"] = built  # where cached_property keeps its value
        return copy


def _param_value(value: ParamValue) -> ParamValue | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _config_dict(config: BacktestConfig) -> dict[str, Any]:
    return {
        "symbols": list(config.symbols),
        "start": config.start.isoformat(),
        "end": config.end.isoformat(),
        "timeframe": config.timeframe,
        "params": {name: _param_value(value) for name, value in config.params.items()},
        "initial_capital": finite_or_none(config.initial_capital, USD_DECIMALS),
        "slippage_model": config.slippage_model,
        "commission_model": config.commission_model,
    }


def metrics_dict(metrics: PerformanceMetrics) -> dict[str, float | int | None]:
    """:meth:`PerformanceMetrics.as_dict` rounded (USD to cents) with NaN/inf as ``None``."""
    out: dict[str, float | int | None] = {}
    for key, value in metrics.as_dict().items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
        else:
            digits = USD_DECIMALS if key in _USD_METRICS else RATIO_DECIMALS
            out[key] = finite_or_none(value, digits)
    return out


def trade_dict(trade: Trade, initial_stop: float | None = None) -> dict[str, Any]:
    """One trade as its JSON object (keys listed in the module docstring).

    ``initial_stop``: the stop-loss price placed with the entry (USD per share), if known.
    """
    return {
        "symbol": trade.symbol,
        "side": trade.side.value,
        "quantity": trade.quantity,
        "entry_time": iso_utc("entry_time", trade.entry_time),
        "entry_price": finite_or_none(trade.entry_price, PRICE_DECIMALS),
        "exit_time": None if trade.exit_time is None else iso_utc("exit_time", trade.exit_time),
        "exit_price": finite_or_none(trade.exit_price, PRICE_DECIMALS),
        "pnl": finite_or_none(trade.pnl, USD_DECIMALS),
        "pnl_pct": finite_or_none(trade.pnl_pct, RATIO_DECIMALS),
        "fees": finite_or_none(trade.fees, USD_DECIMALS),
        "slippage_cost": finite_or_none(trade.slippage_cost, USD_DECIMALS),
        "exit_reason": None if trade.exit_reason is None else trade.exit_reason.value,
        "initial_stop": finite_or_none(initial_stop, PRICE_DECIMALS),
        "r_multiple": finite_or_none(r_multiple(trade, initial_stop), RATIO_DECIMALS),
    }


def equity_points(curve: Sequence[tuple[datetime, float]]) -> list[tuple[str, float | None]]:
    """``[(iso_utc_time, equity_usd_cents), ...]``; non-finite equity becomes ``None``.

    The pairs are tuples, written as two-element JSON arrays; built from
    :func:`~.curve_columns.curve_columns` (one pass over a 1-minute year's ~100,000
    points).

    Raises:
        InvalidInputError: a naive timestamp.
    """
    return _points(curve_columns(curve))


def _points(columns: CurveColumns) -> list[tuple[str, float | None]]:
    return list(zip(columns.iso, rounded_list(columns.equity, USD_DECIMALS), strict=True))


def result_to_dict(result: BacktestResult) -> dict[str, Any]:
    """The JSON-ready report with exactly the keys listed in the module docstring.

    Raises:
        InvalidInputError: a naive timestamp in a trade or the equity curve.
    """
    stops = result.initial_stops
    return {
        "config": _config_dict(result.config),
        "metrics": metrics_dict(result.metrics),
        "trades": [
            trade_dict(trade, stops[i] if i < len(stops) else None)
            for i, trade in enumerate(result.trades)
        ],
        "equity_curve": _points(result.curve_columns),
        "rejections": {str(rule): int(count) for rule, count in result.rejections.items()},
        **analysis_sections(result),
    }


def exit_reason_counts(trades: Sequence[Trade]) -> dict[str, int]:
    """Exit reason value -> number of trades, most frequent (then by name) first.

    Trades still open count under ``open``.
    """
    counts = Counter(
        "open" if trade.exit_reason is None else trade.exit_reason.value for trade in trades
    )
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def format_number(value: float | int | None, unit: str, decimals: int = 2) -> str:
    """Human text for a figure: ``unit`` ``USD`` -> ``-$1,234.56``, ``%`` -> ``1.23 %``.

    ``None``, NaN and infinities read ``n/a``; ints are printed as they are; a value
    that rounds to zero prints without a minus sign.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if round(value, decimals) == 0:
        value = 0.0  # no "-0.00": a figure that shows as zero has no sign
    if unit == "USD":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.{decimals}f}"
    text = f"{value:,.{decimals}f}"
    return f"{text} %" if unit == "%" else text


def format_metric(key: str, value: float | int | None) -> str:
    """A metric's value formatted with its unit from :data:`METRIC_LABELS`."""
    return format_number(value, METRIC_LABELS.get(key, (key, ""))[1])


def render_json_bytes(result: BacktestResult, payload: dict[str, Any] | None = None) -> bytes:
    """The report as UTF-8 JSON: one line per top-level key and per trade (diff-friendly).

    Encoded with orjson straight to bytes (a year of 1-minute equity points in a few
    milliseconds, no text copy); tuples are written as arrays. ``payload`` is
    ``result_to_dict(result)`` when the caller has it already.

    Raises:
        InvalidInputError: a naive timestamp.
    """
    if payload is None:
        payload = result_to_dict(result)
    dumps = orjson.dumps
    trades = b",\n  ".join(map(dumps, payload["trades"]))
    keys = ("config", "metrics", "trades", "equity_curve", "rejections", *_SECTION_KEYS)
    parts = [
        b' "trades": [\n  ' + trades + b"\n ]"
        if key == "trades" and trades
        else b' "' + key.encode() + b'": ' + dumps(payload[key])
        for key in keys
    ]
    return b"{\n" + b",\n".join(parts) + b"\n}\n"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`write_report_bytes`).

    Raises:
        StorageError: the folder or file cannot be created or written; names ``path``.
    """
    return write_report_bytes(path, text.encode("utf-8"))


def write_report_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: temp file beside it, ``os.replace``.

    Creates missing parent folders. On failure nothing is left behind and an existing
    file at ``path`` keeps its old content. The file is made readable by all (0644).

    Not fsynced: the rename already keeps a killed process (Ctrl-C, OOM killer) from
    leaving a partial report; only an OS crash or power cut within the kernel's
    write-back delay (~30 s) could lose it, and running the backtest again makes it
    again. The fsync cost ~16 ms per file of a 1-minute year on this project's VM
    (more on slow disks) in every run.

    Returns:
        ``path``.

    Raises:
        StorageError: the folder or file cannot be created or written; names ``path``.
    """
    path = Path(path)
    try:
        return write_bytes_atomically(path, data, _REPORT_FILE_MODE, durable=False)
    except OSError as exc:
        raise StorageError(f"cannot write report {path}: {exc.strerror or exc}") from exc


def write_json(result: BacktestResult, path: Path, payload: dict[str, Any] | None = None) -> Path:
    """Write the JSON report to ``path`` atomically (see :func:`write_report_bytes`).

    ``payload`` is ``result_to_dict(result)`` when the caller has it already.

    Returns:
        ``path``.

    Raises:
        InvalidInputError: a naive timestamp (nothing is written).
        StorageError: ``path`` cannot be written; the message names it.
    """
    return write_report_bytes(Path(path), render_json_bytes(result, payload))


def default_output_path(results_dir: Path, now: datetime) -> Path:
    """``results_dir / backtest_<UTC time as YYYYMMDDTHHMMSSZ>.json``.

    Raises:
        InvalidInputError: ``now`` is naive.
    """
    stamp = require_aware("now", now).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(results_dir) / f"backtest_{stamp}.json"


def html_path_for(json_path: Path) -> Path:
    """The HTML report's path: beside ``json_path`` with the same stem and ``.html``.

    Raises:
        InvalidInputError: ``json_path`` already ends in ``.html`` (the report would
            overwrite it).
    """
    json_path = Path(json_path)
    if json_path.suffix.lower() == ".html":
        raise InvalidInputError(
            f"output path {json_path} ends in .html; expected a .json path (the HTML report "
            "is written beside it)"
        )
    return json_path.with_suffix(".html")
