"""A Yahoo chart-v8 stand-in on 127.0.0.1 serving real bars from ``../shared/data``.

Point the bot at it with ``YAHOO_BASE_URL=<standin.url>``: yfinance's requests
(cookie on ``/``, crumb on ``/v1/test/getcrumb``, the chart API on
``/v8/finance/chart/<SYMBOL>``) all land here. Chart answers are built from
``<SYMBOL>_<interval>.csv`` files of one folder (the ``../shared/data`` bar
format), in the JSON shape of the recorded answers in
``api_samples/yahoo_chart_v8`` (meta with ``tradingPeriods``, ``timestamp``,
``indicators.quote``). A request without ``period1`` (yfinance's time-zone
lookup) gets the meta only.

Failure modes per symbol, for the warm-up tests: ``fail[symbol] = status``
answers the symbol's ranged chart requests (not the time-zone lookup) with that
HTTP status and Yahoo's error body; ``delay[symbol] = seconds``
sleeps before answering (a slow or hung upstream). Every chart request is
recorded in ``requests`` as ``(symbol, query)``; ``max_in_flight`` is the most
served at once.

Usable from tests and benchmarks: ``with YahooChartStandIn(folder) as yahoo: ...``.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

_INTERVALS = {"1m": "1m", "2m": "2m", "5m": "5m", "15m": "15m", "60m": "1h", "1d": "1d"}
_STEP = {"1m": 60, "2m": 120, "5m": 300, "15m": 900, "60m": 3600, "1d": 86400}
_ERRORS = {
    404: ("Not Found", "No data found, symbol may be delisted"),
    422: ("Unprocessable Entity", "The requested range must be within the last 60 days."),
    500: ("Internal Server Error", "upstream failure"),
    503: ("Service Unavailable", "upstream unavailable"),
}


@dataclass
class StandInState:
    """What the stand-in serves and what it saw (shared with the handler threads)."""

    folder: Path
    fail: dict[str, int] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    frames: dict[tuple[str, str], pd.DataFrame | None] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bars(self, symbol: str, interval: str) -> pd.DataFrame | None:
        """The symbol's bars at ``interval`` (UTC index), ``None`` when there is no file."""
        key = (symbol, interval)
        with self.lock:
            if key not in self.frames:
                path = self.folder / f"{symbol}_{_INTERVALS.get(interval, interval)}.csv"
                self.frames[key] = _read(path) if path.is_file() else None
            return self.frames[key]


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def chart_body(symbol: str, interval: str, frame: pd.DataFrame | None) -> dict[str, Any]:
    """A chart-v8 answer for ``frame`` (``None``: the meta only, for the time-zone lookup)."""
    stamps: list[int] = []
    quote: dict[str, list[Any]] = {k: [] for k in ("open", "high", "low", "close", "volume")}
    periods: list[list[dict[str, Any]]] = []
    if frame is not None and not frame.empty:
        stamps = _seconds(frame).tolist()
        for column in quote:
            quote[column] = frame[column].tolist()
        periods = _trading_periods(frame, _STEP.get(interval, 60))
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "instrumentType": "EQUITY",
        "firstTradeDate": 345479400,
        "regularMarketTime": stamps[-1] if stamps else 0,
        "gmtoffset": -14400,
        "timezone": "EDT",
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": quote["close"][-1] if stamps else 1.0,
        "chartPreviousClose": quote["open"][0] if stamps else 1.0,
        "priceHint": 2,
        "dataGranularity": interval,
        "range": "",
        "tradingPeriods": periods,
    }
    result: dict[str, Any] = {"meta": meta}
    if stamps:
        result["timestamp"] = stamps
        result["indicators"] = {"quote": [quote]}
    else:
        result["indicators"] = {"quote": [{}]}
    return {"chart": {"result": [result], "error": None}}


def _seconds(frame: pd.DataFrame) -> Any:
    return pd.DatetimeIndex(frame.index).as_unit("s").asi8


def _trading_periods(frame: pd.DataFrame, step: int) -> list[list[dict[str, Any]]]:
    """One regular period per day present: its first bar's start to its last bar's end."""
    local = pd.DatetimeIndex(frame.index).tz_convert("America/New_York")
    periods = []
    for _, stamps in pd.Series(_seconds(frame)).groupby(local.date):
        offset = -14400
        periods.append(
            [
                {
                    "timezone": "EDT",
                    "start": int(stamps.iloc[0]),
                    "end": int(stamps.iloc[-1]) + step,
                    "gmtoffset": offset,
                }
            ]
        )
    return periods


class _Handler(http.server.BaseHTTPRequestHandler):
    state: StandInState
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if parsed.path.endswith("/v1/test/getcrumb"):
            self._send(200, b"standin-crumb", "text/plain")
        elif "/v8/finance/chart/" in parsed.path:
            symbol = urllib.parse.unquote(parsed.path.rsplit("/", 1)[1]).upper()
            self._chart(symbol, query)
        else:  # the cookie request (fc.yahoo.com) and anything else
            self._send(200, b"ok", "text/plain")

    def _chart(self, symbol: str, query: dict[str, str]) -> None:
        state = self.state
        with state.lock:
            state.requests.append((symbol, query))
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer_chart(symbol, query)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer_chart(self, symbol: str, query: dict[str, str]) -> None:
        state = self.state
        delay = state.delay.get(symbol, 0.0)
        if delay:
            time.sleep(delay)
        interval = query.get("interval", "1d")
        ranged = "period1" in query
        status = state.fail.get(symbol) if ranged else None
        frame = state.bars(symbol, interval) if ranged else None
        if status is None and ranged and frame is None:
            status = 404
        if status is not None:
            code, text = _ERRORS.get(status, ("Error", "stand-in failure"))
            error = {"chart": {"result": None, "error": {"code": code, "description": text}}}
            self._send(status, json.dumps(error).encode(), "application/json;charset=utf-8")
            return
        selected = None
        if frame is not None:
            lo = pd.Timestamp(int(query["period1"]), unit="s", tz="UTC")
            hi = pd.Timestamp(int(query.get("period2", "4102444800")), unit="s", tz="UTC")
            selected = frame[(frame.index >= lo) & (frame.index < hi)]
        body = json.dumps(chart_body(symbol, interval, selected)).encode()
        self._send(200, body, "application/json;charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, *args: object) -> None:
        pass


class YahooChartStandIn:
    """The stand-in server; a context manager that starts and stops it.

    Args:
        folder: a folder of ``<SYMBOL>_<tf>.csv`` bar files, e.g.
            ``bars_5m/yfinance_2025-06_2025-08``.
    """

    def __init__(self, folder: Path) -> None:
        self.state = StandInState(Path(folder))
        handler = type("StandInHandler", (_Handler,), {"state": self.state})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the value for ``YAHOO_BASE_URL``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def chart_symbols(self) -> list[str]:
        """Symbols of the chart requests received with a range (not the time-zone lookups)."""
        with self.state.lock:
            return [symbol for symbol, query in self.state.requests if "period1" in query]

    def max_in_flight(self) -> int:
        """Most chart requests served at the same time so far."""
        with self.state.lock:
            return self.state.max_in_flight

    def start(self) -> YahooChartStandIn:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> YahooChartStandIn:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
