"""Finnhub websocket messages: parsing server messages and building client ones.

Server -> client (finnhub.io/docs/api/websocket-trades, recorded samples in
``../shared/data/api_samples/finnhub_ws/``):

* ``{"type":"trade","data":[{"s":"AAPL","p":129.58,"t":1672348887666,"v":1,"c":["1","12"]}]}``
  - ``s`` symbol, ``p`` price (USD), ``t`` UNIX **milliseconds**, ``v`` volume
    (shares; fractional for crypto, truncated to whole shares here), ``c``
    condition codes (list, ``null`` or absent);
* ``{"type":"ping"}``: heartbeat, needs no answer;
* ``{"type":"error","msg":"Subscribing to too many symbols"}``.

Client -> server: ``{"type":"subscribe","symbol":"AAPL"}`` / ``unsubscribe``.

The connection URL is ``FINNHUB_WS_URL`` with ``token=<FINNHUB_API_KEY>``
added to its query (:func:`stream_url`), percent-encoded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit


class MalformedMessageError(ValueError):
    """A server message that is not valid Finnhub JSON; the stream counts and skips it."""


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade print: ``ts_ms`` UNIX milliseconds, ``price`` USD, ``size`` shares."""

    symbol: str
    ts_ms: int
    price: float
    size: int
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed server message: ``kind`` is ``trade``, ``ping``, ``error`` or ``other``."""

    kind: str
    trades: list[Trade] = field(default_factory=list)
    error: str = ""


def stream_url(base_url: str, token: str) -> str:
    """``base_url`` with ``token`` added to its query, every parameter percent-encoded.

    The base URL's own path and query parameters are kept (a ``token`` it already
    carries is replaced), so ``wss://proxy.example/finnhub?region=us`` becomes
    ``wss://proxy.example/finnhub?region=us&token=...``. The result holds the
    secret: never log it.
    """
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def redact_token(text: str, token: str) -> str:
    """``text`` with ``token`` replaced by ``***``, raw and percent-encoded forms alike."""
    if not token:
        return text
    for form in (token, quote_plus(token), quote(token, safe="")):
        text = text.replace(form, "***")
    return text


def subscribe_message(symbol: str) -> str:
    """The client message subscribing to ``symbol``'s trades."""
    return json.dumps({"type": "subscribe", "symbol": symbol})


def parse_message(raw: str | bytes) -> Message:
    """Parse one server message.

    Raises:
        MalformedMessageError: not JSON, not an object, or a trade missing/invalid fields.
    """
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessageError(f"not JSON: {str(raw)[:80]!r}") from exc
    if not isinstance(payload, dict):
        raise MalformedMessageError(f"expected a JSON object, got {type(payload).__name__}")
    kind = payload.get("type")
    if kind == "ping":
        return Message("ping")
    if kind == "error":
        return Message("error", error=str(payload.get("msg", "")))
    if kind != "trade":
        return Message("other")
    data = payload.get("data")
    if not isinstance(data, list):
        raise MalformedMessageError("trade message without a 'data' list")
    return Message("trade", trades=[_trade(item) for item in data])


def _trade(item: object) -> Trade:
    if not isinstance(item, dict):
        raise MalformedMessageError(f"trade entry is not an object: {item!r}")
    try:
        symbol = str(item["s"])
        price = float(item["p"])
        ts_ms = int(item["t"])
        volume = float(item.get("v") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessageError(f"trade entry missing or bad s/p/t/v: {item!r}") from exc
    if not (math.isfinite(price) and price > 0 and math.isfinite(volume) and volume >= 0):
        raise MalformedMessageError(f"trade entry with bad price or volume: {item!r}")
    raw_conditions = item.get("c")
    conditions = raw_conditions if isinstance(raw_conditions, list) else ()
    return Trade(symbol, ts_ms, price, int(volume), tuple(str(c) for c in conditions))
