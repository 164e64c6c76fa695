"""A local HTTP server replaying recorded Yahoo chart answers, and a session pointed at it.

yfinance accepts a ``requests.Session``; :class:`LocalYahooSession` rewrites every
URL (query2.finance.yahoo.com, fc.yahoo.com, ...) to ``http://127.0.0.1:<port>``
keeping path and query, so yfinance's real request, cookie/crumb and parsing
code runs against recorded bodies and nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import requests


@dataclass
class ChartRoute:
    """What the server answers for chart requests: status and body, per request window."""

    status: int = 200
    body: bytes = b""
    # (period1, period2) -> body override: requests overlapping `day` get `day_body`
    day_start: int | None = None
    day_body: bytes = b""


@dataclass
class YahooState:
    route: ChartRoute = field(default_factory=ChartRoute)
    tz_body: bytes = b""
    chart_requests: list[dict[str, str]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: YahooState

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        status, body = 200, b"ok"
        if parsed.path.endswith("/getcrumb"):
            body = b"local-crumb"
        elif parsed.path.startswith("/v8/finance/chart/"):
            status, body = self._chart(query)
        self.send_response(status)
        self.send_header("content-type", "application/json;charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chart(self, query: dict[str, str]) -> tuple[int, bytes]:
        if "period1" not in query:  # yfinance's timezone lookup (range=1d)
            return 200, self.state.tz_body
        self.state.chart_requests.append(query)
        route = self.state.route
        if route.day_start is not None:
            p1, p2 = int(query["period1"]), int(query["period2"])
            if p1 <= route.day_start < p2:
                return 200, route.day_body
        return route.status, route.body

    def log_message(self, *args: object) -> None:
        pass


class LocalYahooSession(requests.Session):
    """A requests session sending every request to the local server."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        parts = urllib.parse.urlsplit(url)
        local = urllib.parse.urlunsplit(
            ("http", f"127.0.0.1:{self.port}", parts.path, parts.query, "")
        )
        return super().request(method, local, *args, **kwargs)


def start_server(samples: Path) -> tuple[http.server.ThreadingHTTPServer, YahooState]:
    state = YahooState(tz_body=(samples / "AAPL_1m_2024-10-02.body.json").read_bytes())
    handler = type("Handler", (_Handler,), {"state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


def error_body(samples: Path, key: str) -> tuple[int, bytes]:
    item = json.loads((samples / "errors_observed.json").read_text())[key]
    return item["status"], json.dumps(item["body"]).encode()
