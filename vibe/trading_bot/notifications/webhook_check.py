"""``validate-config --check-connections``: is the Discord webhook there? (a harmless GET).

``GET <webhook URL>`` returns the webhook object without posting anything
(Discord's "Get Webhook with Token"). The URL is a secret: results show it
with the token masked, and failure details never contain it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

NOT_CONFIGURED = "not configured: alerts are written to the log"


@dataclass(frozen=True, slots=True)
class WebhookCheck:
    """The result of :func:`check_webhook`.

    Attributes:
        ok: the webhook answered 2xx, or none is configured.
        configured: ``DISCORD_WEBHOOK_URL`` is set.
        target: the URL with its token masked (``""`` when not configured).
        detail: ``"ok"``, :data:`NOT_CONFIGURED`, or the failure (never the URL or token).
        duration_seconds: how long the check took, seconds.
    """

    ok: bool
    configured: bool
    target: str
    detail: str
    duration_seconds: float


def mask_webhook(url: str) -> str:
    """``url`` with its last path segment (the token) replaced by ``***``.

    The query string and any user information are dropped too.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{path}/***"


def check_webhook(url: SecretStr | None, *, timeout_seconds: float = 10.0) -> WebhookCheck:
    """GET the webhook URL once; never raises for a failure (the result says what happened).

    Args:
        url: ``DISCORD_WEBHOOK_URL`` (``None``: nothing to check, reported ok).
        timeout_seconds: connect and read timeout, seconds.
    """
    if url is None:
        return WebhookCheck(True, False, "", NOT_CONFIGURED, 0.0)
    secret = url.get_secret_value()
    started = time.monotonic()
    try:
        reply = httpx.get(secret, timeout=timeout_seconds, follow_redirects=False)
    except httpx.HTTPError as exc:
        detail, ok = f"unreachable ({type(exc).__name__})", False
    else:
        ok = reply.is_success
        detail = "ok" if ok else _refusal(reply.status_code)
    return WebhookCheck(ok, True, mask_webhook(secret), detail, time.monotonic() - started)


def _refusal(status: int) -> str:
    if status in (401, 403, 404):
        return f"HTTP {status}: Discord does not know this webhook (wrong id or token)"
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return "HTTP 429: rate limited; try again in a moment"
    return f"HTTP {status}"
