"""The HTTP session behind yfinance when ``YAHOO_BASE_URL`` is not the public host.

yfinance (1.x) hard-codes its hosts: the chart API on ``query2.finance.yahoo.com``,
its cookie and crumb dance on ``fc.yahoo.com`` and ``query1.finance.yahoo.com``,
the consent pages on ``guce.yahoo.com``. It does accept a session, so a mirror
(or a stand-in on 127.0.0.1) is reached by handing it :class:`RewritingSession`,
which sends every request for a ``*.yahoo.com`` host to ``YAHOO_BASE_URL``
instead, keeping the path (after the base URL's own path) and the query.
Everything else yfinance does (cookies, crumb, retries, parsing, the browser
TLS fingerprint of curl_cffi) is unchanged; at the public default no session
is passed at all and yfinance manages its own.

curl_cffi (yfinance's HTTP client) lets libcurl read the proxy variables:
``https_proxy``/``HTTPS_PROXY``, ``http_proxy`` (lower case only), ``all_proxy``
and ``no_proxy``/``NO_PROXY``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from curl_cffi import requests as curl_requests

from vibe.trading_bot.config.settings import PUBLIC_YAHOO_BASE_URL

#: Hosts yfinance talks to all end with this.
_YAHOO_SUFFIX = "yahoo.com"


def is_public_yahoo(base_url: str) -> bool:
    """True when ``base_url`` is Yahoo's own public chart host (the default)."""
    return base_url.rstrip("/") == PUBLIC_YAHOO_BASE_URL


def rewrite_yahoo_url(url: str, base_url: str) -> str:
    """``url`` sent to ``base_url`` when its host is a Yahoo host; other URLs unchanged.

    ``https://query2.finance.yahoo.com/v8/finance/chart/AAPL?interval=1m`` with
    base ``http://127.0.0.1:8001/yahoo`` becomes
    ``http://127.0.0.1:8001/yahoo/v8/finance/chart/AAPL?interval=1m``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host != _YAHOO_SUFFIX and not host.endswith("." + _YAHOO_SUFFIX):
        return url
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + (parts.path or "/")
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


class RewritingSession(curl_requests.Session):
    """A curl_cffi session (Chrome fingerprint, as yfinance's own) aimed at ``base_url``.

    Args:
        base_url: ``YAHOO_BASE_URL``, e.g. ``https://yahoo-mirror.internal`` (http or https,
            optionally with a path prefix).
    """

    def __init__(self, base_url: str) -> None:
        super().__init__(impersonate="chrome")
        self.mirror_url = base_url.rstrip("/")

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request to :func:`rewrite_yahoo_url` of ``url``."""
        return super().request(method, rewrite_yahoo_url(url, self.mirror_url), *args, **kwargs)


def yahoo_session(base_url: str) -> RewritingSession | None:
    """The session to hand yfinance: ``None`` for the public host, else a rewriting one."""
    return None if is_public_yahoo(base_url) else RewritingSession(base_url)
