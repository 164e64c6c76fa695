"""Reading Discord's webhook replies: outcome, rate-limit headers, error codes.

Facts used (discord-api-docs ``developers/topics/rate-limits.mdx``,
``opcodes-and-status-codes.mdx``; samples in ``shared/data/api_samples/discord``):

* every reply may carry ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset-After``
  (seconds, decimals allowed); when ``Remaining`` is 0 the next request must wait
  ``Reset-After`` seconds;
* a 429 carries ``retry_after`` (seconds, float) and ``global`` in its JSON body and
  ``Retry-After`` (seconds) as a header; a Cloudflare ban is a 429 with neither
  X-RateLimit headers nor ``retry_after``;
* 400 with code 50035 is an invalid body (retrying the same body cannot help);
* 401, 403 and 404 (code 10015 "Unknown Webhook") mean the webhook itself is bad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import httpx

#: Wait after a 429 that names no wait at all (Cloudflare ban), seconds.
DEFAULT_RETRY_AFTER_SECONDS = 60.0
INVALID_WEBHOOK_STATUSES = frozenset({401, 403, 404})


class Outcome(Enum):
    """What to do with a message after one attempt."""

    SENT = "sent"  # accepted: mark sent
    REJECTED = "rejected"  # refused for good (400...): mark failed, do not retry
    DISABLED = "disabled"  # the webhook is invalid: stop sending altogether
    RATE_LIMITED = "rate_limited"  # 429: wait retry_after, then retry
    RETRY = "retry"  # 5xx or network error: back off, then retry


@dataclass(frozen=True, slots=True)
class Reply:
    """One attempt's result.

    Attributes:
        outcome: see :class:`Outcome`.
        status: HTTP status, 0 for a network error.
        wait_seconds: the wait the server asked for (429 ``retry_after``, 5xx
            ``Retry-After``), else 0. See :func:`bucket_wait` for the headers' wait.
        is_global: a 429 for every route of the bot, not just this webhook.
        error: a short description for logs and health (never contains the URL).
    """

    outcome: Outcome
    status: int
    wait_seconds: float = 0.0
    is_global: bool = False
    error: str = ""


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def bucket_wait(response: httpx.Response) -> float:
    """Seconds to wait before the next request per the X-RateLimit headers (0: no wait)."""
    remaining = _number(response.headers.get("X-RateLimit-Remaining"))
    reset_after = _number(response.headers.get("X-RateLimit-Reset-After"))
    if remaining is not None and remaining < 1 and reset_after is not None:
        return reset_after
    return 0.0


def discord_error(response: httpx.Response) -> str:
    """``"HTTP 400, Discord code 50035: Invalid Form Body"`` from an error reply."""
    data = _json(response)
    code, message = data.get("code"), data.get("message")
    text = f"HTTP {response.status_code}"
    if code is not None:
        text += f", Discord code {code}"
    return f"{text}: {message}" if message else text


def _rate_limited(response: httpx.Response) -> Reply:
    data = _json(response)
    body_wait = data.get("retry_after")
    wait = _number(str(body_wait)) if isinstance(body_wait, int | float) else None
    if wait is None:
        wait = _number(response.headers.get("Retry-After"))
    is_global = data.get("global") is True or response.headers.get("X-RateLimit-Global") == "true"
    scope = response.headers.get("X-RateLimit-Scope", "global" if is_global else "unknown")
    return Reply(
        Outcome.RATE_LIMITED,
        429,
        wait_seconds=DEFAULT_RETRY_AFTER_SECONDS if wait is None else wait,
        is_global=is_global,
        error=f"HTTP 429 rate limited (scope {scope})",
    )


def classify(response: httpx.Response) -> Reply:
    """Turn a webhook reply into a :class:`Reply`."""
    status = response.status_code
    if 200 <= status < 300:
        return Reply(Outcome.SENT, status)
    if status == 429:
        return _rate_limited(response)
    if status in INVALID_WEBHOOK_STATUSES:
        return Reply(Outcome.DISABLED, status, error=discord_error(response))
    if status >= 500:
        wait = _number(response.headers.get("Retry-After")) or 0.0
        return Reply(Outcome.RETRY, status, wait_seconds=wait, error=discord_error(response))
    return Reply(Outcome.REJECTED, status, error=discord_error(response))


def network_failure(exc: httpx.TransportError) -> Reply:
    """A :class:`Reply` for a request that got no response (the message omits the URL)."""
    return Reply(Outcome.RETRY, 0, error=f"network error: {type(exc).__name__}")
