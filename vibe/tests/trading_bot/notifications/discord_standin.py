"""A Discord webhook stand-in: FastAPI served by uvicorn on 127.0.0.1.

Implements ``POST /api/webhooks/{id}/{token}`` the way Discord documents it
(discord-api-docs rate-limits.mdx, message.mdx, webhook.mdx; the limits are read
from ``shared/data/api_samples/discord/embed_and_webhook_limits.json``, not from
the code under test):

* a per-webhook bucket (default 5 requests per 2 s) with the real
  ``X-RateLimit-*`` headers: a fixed window by default, or with ``sliding=True``
  the strict reading (at most ``limit`` requests, of any outcome, in any
  ``period`` seconds); a request over the limit gets 429 with ``retry_after``
  and ``Retry-After`` (counted in ``self_provoked_429s``: the bot should never
  cause one);
* forced replies on demand (429, global 429, 503, 400...), an ``outage`` switch,
  and ``fail_every=n``: every n-th request answered 503;
* 400 / code 50035 for any body breaking an embed limit;
* 404 / code 10015 for an unknown webhook;
* a record of every request (the timeline, :meth:`DiscordStandIn.timeline`) and
  every accepted body.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from vibe.tests.support import eventually


@dataclass
class Forced:
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    code: int = 0


@dataclass
class RequestRecord:
    at: float  # time.monotonic() when received
    webhook_id: str
    status: int
    retry_after: float | None = None
    forced: bool = False


@dataclass(frozen=True)
class Timeline:
    """What a run of requests looked like from the server's side.

    Attributes:
        requests: every request received.
        accepted: 2xx replies.
        rate_limited: 429 replies (forced and self-provoked).
        unavailable: 5xx replies.
        max_in_window: the most requests received in any ``period`` seconds.
        into_full_window: requests that arrived while ``limit`` requests were already
            in the last ``period`` seconds.
        before_retry_after: requests that arrived before an earlier 429's ``retry_after``.
        span_seconds: from the first request to the last.
    """

    requests: int
    accepted: int
    rate_limited: int
    unavailable: int
    max_in_window: int
    into_full_window: int
    before_retry_after: int
    span_seconds: float


@dataclass
class Bucket:
    limit: int
    period: float
    count: int = 0
    reset_at: float = 0.0


def _length_error(limit: int) -> dict[str, Any]:
    message = f"Must be {limit} or fewer in length."
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}


def _required() -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}


def embed_errors(embed: dict[str, Any], limits: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """(errors, counted characters) for one embed under the documented limits."""
    lim = limits["embed"]
    errors: dict[str, Any] = {}
    texts = {
        "title": str(embed.get("title", "")).strip(),
        "description": str(embed.get("description", "")).strip(),
        "footer.text": str(embed.get("footer", {}).get("text", "")).strip(),
        "author.name": str(embed.get("author", {}).get("name", "")).strip(),
    }
    counted = sum(len(text) for text in texts.values())
    for key, text in texts.items():
        if len(text) > lim[key]:
            errors[key] = _length_error(lim[key])
    fields = embed.get("fields", [])
    if len(fields) > lim["fields"]:
        errors["fields"] = _length_error(lim["fields"])
    for i, item in enumerate(fields):
        for part, key in (("name", "field.name"), ("value", "field.value")):
            text = str(item.get(part, "")).strip()
            counted += len(text)
            if not text:
                errors[f"fields.{i}.{part}"] = _required()
            elif len(text) > lim[key]:
                errors[f"fields.{i}.{part}"] = _length_error(lim[key])
    return errors, counted


def body_errors(body: Any, limits: dict[str, Any]) -> dict[str, Any]:
    """Discord-style ``errors`` object for a webhook body; empty when valid."""
    if not isinstance(body, dict):
        return {"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries"}]}
    errors: dict[str, Any] = {}
    content = str(body.get("content", "")).strip()
    embeds = body.get("embeds", [])
    if not content and not embeds:
        errors["content"] = _required()
    if len(content) > limits["content_chars"]:
        errors["content"] = _length_error(limits["content_chars"])
    if len(embeds) > limits["embeds_per_message"]:
        errors["embeds"] = _length_error(limits["embeds_per_message"])
    total = 0
    for i, embed in enumerate(embeds):
        found, counted = embed_errors(embed, limits)
        total += counted
        if found:
            errors[f"embeds.{i}"] = found
    if total > limits["combined_chars_all_embeds_per_message"]:
        errors["embeds.total"] = _length_error(limits["combined_chars_all_embeds_per_message"])
    return errors


@dataclass
class DiscordStandIn:
    limits: dict[str, Any]
    limit: int = 5
    period: float = 2.0
    webhooks: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    forced: deque[Forced] = field(default_factory=deque)
    requests: list[RequestRecord] = field(default_factory=list)
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    self_provoked_429s: int = 0
    outage: bool = False
    global_until: float = 0.0
    base_url: str = ""
    sliding: bool = False
    fail_every: int = 0
    recent: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/api/webhooks/{webhook_id}/{token}")(self._execute)
        self.app.get("/api/webhooks/{webhook_id}/{token}")(self._get_webhook)

    def add_webhook(self, webhook_id: str, token: str) -> str:
        self.webhooks[webhook_id] = token
        return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"

    def force(self, status: int, times: int = 1, **kwargs: Any) -> None:
        self.forced.extend(Forced(status, **kwargs) for _ in range(times))

    def bodies(self, webhook_id: str | None = None) -> list[dict[str, Any]]:
        return [b for wid, b in self.accepted if webhook_id in (None, wid)]

    def timeline(self) -> Timeline:
        """The request timeline measured against a sliding ``period`` window of ``limit``."""
        times = sorted(r.at for r in self.requests)
        in_window = [
            sum(1 for t in times[: i + 1] if t > at - self.period) for i, at in enumerate(times)
        ]
        early = 0
        for record in self.requests:
            if record.status == 429 and record.retry_after is not None:
                until = record.at + record.retry_after
                early += sum(1 for r in self.requests if record.at < r.at < until)
        return Timeline(
            requests=len(self.requests),
            accepted=sum(1 for r in self.requests if 200 <= r.status < 300),
            rate_limited=sum(1 for r in self.requests if r.status == 429),
            unavailable=sum(1 for r in self.requests if r.status >= 500),
            max_in_window=max(in_window, default=0),
            into_full_window=sum(1 for n in in_window if n > self.limit),
            before_retry_after=early,
            span_seconds=round(times[-1] - times[0], 3) if times else 0.0,
        )

    def _sliding(self, webhook_id: str, now: float) -> Response | None:
        """Count the request in the sliding window; a 429 when the window was full."""
        window = self.recent.setdefault(webhook_id, deque())
        while window and window[0] <= now - self.period:
            window.popleft()
        full = len(window) >= self.limit
        window.append(now)
        if not full:
            return None
        self.self_provoked_429s += 1
        return self._rate_limited(now, webhook_id, window[-self.limit] + self.period - now, False)

    def _sliding_headers(self, webhook_id: str, now: float) -> dict[str, str]:
        window = self.recent[webhook_id]
        remaining = max(0, self.limit - len(window))
        oldest = window[-self.limit] if len(window) >= self.limit else window[0]
        reset_after = math.ceil(max(0.0, oldest + self.period - now) * 1000) / 1000
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "standin0001",
        }

    async def _execute(self, webhook_id: str, token: str, request: Request) -> Response:
        now = time.monotonic()
        if self.webhooks.get(webhook_id) != token:
            return self._reply(now, webhook_id, 404, {"message": "Unknown Webhook", "code": 10015})
        if self.sliding and (refused := self._sliding(webhook_id, now)) is not None:
            return refused
        if now < self.global_until:
            return self._rate_limited(now, webhook_id, self.global_until - now, True, forced=True)
        periodic = self.fail_every and (len(self.requests) + 1) % self.fail_every == 0
        if self.forced or self.outage or periodic:
            return self._forced(now, webhook_id)
        if self.sliding:
            return await self._accept(
                now, webhook_id, request, self._sliding_headers(webhook_id, now)
            )
        bucket = self.buckets.setdefault(webhook_id, Bucket(self.limit, self.period))
        if now >= bucket.reset_at:
            bucket.count, bucket.reset_at = 0, now + bucket.period
        if bucket.count >= bucket.limit:
            self.self_provoked_429s += 1
            return self._rate_limited(now, webhook_id, bucket.reset_at - now, False)
        bucket.count += 1
        return await self._accept(now, webhook_id, request, self._headers(bucket, now))

    async def _accept(
        self, now: float, webhook_id: str, request: Request, headers: dict[str, str]
    ) -> Response:
        body = json.loads(await request.body())
        errors = body_errors(body, self.limits)
        if errors:
            payload = {"code": 50035, "errors": errors, "message": "Invalid Form Body"}
            return self._reply(now, webhook_id, 400, payload, headers)
        self.accepted.append((webhook_id, body))
        return self._reply(now, webhook_id, 204, None, headers)

    async def _get_webhook(self, webhook_id: str, token: str) -> Response:
        """Get Webhook with Token: the webhook object, or 404 / 10015 (never posts)."""
        now = time.monotonic()
        if self.webhooks.get(webhook_id) != token:
            return self._reply(now, webhook_id, 404, {"message": "Unknown Webhook", "code": 10015})
        return self._reply(now, webhook_id, 200, {"id": webhook_id, "type": 1, "name": "stand-in"})

    def _forced(self, now: float, webhook_id: str) -> Response:
        forced = self.forced.popleft() if self.forced else Forced(503)
        if forced.status == 429:
            if forced.is_global:
                self.global_until = now + forced.retry_after
            return self._rate_limited(
                now, webhook_id, forced.retry_after, forced.is_global, forced=True
            )
        message = {"message": f"forced {forced.status}", "code": forced.code}
        return self._reply(now, webhook_id, forced.status, message, forced=True)

    def _headers(self, bucket: Bucket, now: float) -> dict[str, str]:
        reset_after = math.ceil(max(0.0, bucket.reset_at - now) * 1000) / 1000
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.limit - bucket.count),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "standin0001",
        }

    def _rate_limited(
        self, now: float, webhook_id: str, wait: float, is_global: bool, forced: bool = False
    ) -> Response:
        wait = math.ceil(wait * 1000) / 1000
        body = {"message": "You are being rate limited.", "retry_after": wait, "global": is_global}
        headers = {"Retry-After": str(math.ceil(wait))}
        if is_global:
            headers |= {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
        elif self.sliding:
            headers |= self._sliding_headers(webhook_id, now) | {"X-RateLimit-Scope": "user"}
        else:
            bucket = self.buckets.setdefault(webhook_id, Bucket(self.limit, self.period))
            headers |= self._headers(bucket, now) | {"X-RateLimit-Scope": "user"}
        record = RequestRecord(now, webhook_id, 429, retry_after=wait, forced=forced)
        self.requests.append(record)
        return Response(json.dumps(body), 429, headers, media_type="application/json")

    def _reply(
        self,
        now: float,
        webhook_id: str,
        status: int,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
        forced: bool = False,
    ) -> Response:
        self.requests.append(RequestRecord(now, webhook_id, status, forced=forced))
        content = None if body is None else json.dumps(body)
        return Response(content, status, headers, media_type="application/json")


def load_limits(shared_data: Path) -> dict[str, Any]:
    path = shared_data / "api_samples" / "discord" / "embed_and_webhook_limits.json"
    limits: dict[str, Any] = json.loads(path.read_text())
    return limits


class StandInServer:
    """Runs a :class:`DiscordStandIn` with uvicorn in the current event loop."""

    def __init__(self, stand_in: DiscordStandIn) -> None:
        self.stand_in = stand_in
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DiscordStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.stand_in.app, log_level="warning", lifespan="off", ws="none", http="h11"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        await eventually(lambda: self._server is not None and self._server.started)
        self.stand_in.base_url = f"http://127.0.0.1:{port}"
        return self.stand_in

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task
