"""An HTTP session that sends every Yahoo request to ``YAHOO_BASE_URL`` instead.

yfinance hard-codes Yahoo's hosts (``query1``/``query2.finance.yahoo.com`` for
the chart API and the crumb, ``fc.yahoo.com`` for the cookie). It accepts a
``requests.Session``; :class:`YahooMirrorSession` rewrites each request's
scheme and host (plus the base URL's path prefix, if any) and keeps the path
and query, so yfinance's own request, cookie/crumb and parsing code runs
against a mirror or a test venue. ``requests`` honours ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``NO_PROXY`` for the rewritten URL.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests

from vibe.common.errors import InvalidInputError

#: Yahoo's public chart host (``YAHOO_BASE_URL``'s default: no rewriting).
PUBLIC_YAHOO_URL = "https://query2.finance.yahoo.com"


class YahooMirrorSession(requests.Session):
    """A ``requests.Session`` sending every request to ``base_url`` (see module doc).

    Args:
        base_url: ``http(s)://host[:port][/prefix]``.

    Raises:
        InvalidInputError: ``base_url`` is not an http or https URL with a host.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInputError(
                f"YAHOO_BASE_URL={base_url!r}; expected an http:// or https:// URL with a host"
            )
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._prefix = parts.path.rstrip("/")

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send the request to the mirror (same path and query)."""
        text = url.decode() if isinstance(url, bytes) else url
        parts = urllib.parse.urlsplit(text)
        local = urllib.parse.urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, "")
        )
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, local, *args, **kwargs)


def yahoo_session(base_url: str) -> YahooMirrorSession | None:
    """The session for ``YAHOO_BASE_URL``: ``None`` (yfinance's own) for the public host.

    Raises:
        InvalidInputError: ``base_url`` is not an http or https URL with a host.
    """
    if base_url.rstrip("/") == PUBLIC_YAHOO_URL:
        return None
    return YahooMirrorSession(base_url)
