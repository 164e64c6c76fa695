"""``validate-config --check-connections``: probe every configured endpoint, one line each.

* **Yahoo** (``YAHOO_BASE_URL``): the real provider asks for the first symbol's
  daily bars of the last ten days, through yfinance and the same session as the
  daemon. Reachable when Yahoo answers with bars or with its own "no data".
* **Finnhub** (``FINNHUB_WS_URL``, only when ``FINNHUB_API_KEY`` is set): a
  websocket handshake with the token, closed at once. A 401/403 is a refused key.
* **Cloud sync** (``CLOUD_PROVIDER``): the backend's own check.
* **Discord** (``DISCORD_WEBHOOK_URL``): a GET of the webhook, which posts
  nothing (:mod:`~vibe.trading_bot.notifications.webhook_check`); the token is
  masked.

The probes run concurrently, each within ``timeout_seconds``. No secret is ever
printed: the Finnhub token is removed from every message, and the targets shown
are the configured URLs, which cannot hold a token (see the settings' rules).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from vibe.common.clock import LiveClock
from vibe.common.errors import NoDataError, VibeError
from vibe.trading_bot.config.settings import AppSettings

#: Real seconds one probe may take.
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class EndpointCheck:
    """The outcome of one probe.

    Attributes:
        name: ``yahoo``, ``finnhub``, ``cloud sync [<provider>, enabled|disabled]`` or
            ``discord webhook``.
        target: where it points (a URL, bucket or folder; never a secret), or ``""``.
        ok: reachable (always True for an endpoint that is not configured).
        configured: False when the endpoint is not in use (nothing was probed).
        detail: ``ok ...``, ``not configured ...`` or the failure, in plain words.
        duration_seconds: real seconds the probe took.
    """

    name: str
    target: str
    ok: bool
    configured: bool
    detail: str
    duration_seconds: float

    def line(self) -> str:
        """``<name> <target>: <detail>`` (the one line printed for this endpoint)."""
        where = f"{self.name} {self.target}".strip()
        return f"{where}: {self.detail}"


async def check_yahoo(settings: AppSettings, timeout_seconds: float) -> EndpointCheck:
    """Ask ``YAHOO_BASE_URL`` for the first symbol's recent daily bars (see module doc)."""
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.data.providers.yahoo import YahooProvider

    clock = LiveClock()
    now = clock.now()
    symbol = settings.trading.symbols[0]
    url = settings.data.yahoo_base_url

    async def probe() -> str:
        scheduler = MarketScheduler(settings.trading.market_calendar, now.year - 1, now.year + 1)
        provider = YahooProvider(scheduler, clock, rate_limit_per_second=10.0, base_url=url)
        try:
            frame = await provider.get_history(symbol, "1d", now - timedelta(days=10), now)
        except NoDataError as exc:  # Yahoo answered: reachable
            return f"ok (answered: no data for {symbol}: {exc})"
        finally:
            await provider.close()
        return f"ok ({symbol}: {len(frame)} daily bars)"

    return await _run("yahoo", url, probe, timeout_seconds)


async def check_finnhub(settings: AppSettings, timeout_seconds: float) -> EndpointCheck:
    """Open and close a websocket to ``FINNHUB_WS_URL`` with the key (see module doc)."""
    data = settings.data
    if data.finnhub_api_key is None:
        return EndpointCheck(
            "finnhub",
            data.finnhub_ws_url,
            ok=True,
            configured=False,
            detail="not configured (FINNHUB_API_KEY unset: live bars from Yahoo polling)",
            duration_seconds=0.0,
        )
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    from vibe.trading_bot.data.providers.finnhub_protocol import redact_token, stream_url

    token = data.finnhub_api_key.get_secret_value()

    async def probe() -> str:
        try:
            async with connect(stream_url(data.finnhub_ws_url, token), open_timeout=None):
                return "ok (handshake accepted)"
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise _ProbeError(f"the key was refused (HTTP {status})") from None
            raise _ProbeError(f"handshake refused with HTTP {status}") from None
        except (OSError, ValueError) as exc:
            raise _ProbeError(redact_token(f"{type(exc).__name__}: {exc}", token)) from None

    return await _run("finnhub", data.finnhub_ws_url, probe, timeout_seconds, token)


async def check_cloud(settings: AppSettings, timeout_seconds: float) -> EndpointCheck:
    """The cloud sync backend's own check (it runs even when sync is disabled)."""
    from vibe.trading_bot.storage.sync import check_connection_async

    check = await check_connection_async(settings, timeout_seconds=timeout_seconds)
    state = "enabled" if check.enabled else "disabled"
    return EndpointCheck(
        f"cloud sync [{check.provider}, {state}]",
        check.target or "-",
        ok=check.ok,
        configured=True,
        detail="ok" if check.ok else f"FAILED - {check.detail}",
        duration_seconds=check.duration_seconds,
    )


async def check_discord(settings: AppSettings, timeout_seconds: float) -> EndpointCheck:
    """GET the Discord webhook (it posts nothing); the token is masked in the target."""
    from vibe.trading_bot.notifications.webhook_check import check_webhook

    url = settings.notifications.discord_webhook_url
    check = await asyncio.to_thread(check_webhook, url, timeout_seconds=timeout_seconds)
    failed = check.configured and not check.ok
    detail = f"FAILED - {check.detail}" if failed else check.detail
    return EndpointCheck(
        "discord webhook",
        check.target,
        ok=check.ok,
        configured=check.configured,
        detail=detail,
        duration_seconds=check.duration_seconds,
    )


class _ProbeError(Exception):
    """A probe failed; the message is safe to print."""


async def _run(
    name: str,
    target: str,
    probe: Callable[[], Awaitable[str]],
    timeout_seconds: float,
    secret: str = "",
) -> EndpointCheck:
    started = time.monotonic()
    ok = False
    try:
        async with asyncio.timeout(timeout_seconds):
            detail = await probe()
        ok = True
    except TimeoutError:
        detail = f"FAILED - no answer within {timeout_seconds:g} s"
    except (_ProbeError, VibeError) as exc:
        detail = f"FAILED - {exc}"
    if secret:
        from vibe.trading_bot.data.providers.finnhub_protocol import redact_token

        detail = redact_token(detail, secret)
    return EndpointCheck(name, target, ok, True, detail, time.monotonic() - started)


async def check_endpoints(
    settings: AppSettings, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> list[EndpointCheck]:
    """Probe Yahoo, Finnhub, cloud sync and Discord concurrently; never raises for failures.

    Args:
        settings: the validated settings.
        timeout_seconds: real seconds allowed per probe.
    """
    return list(
        await asyncio.gather(
            check_yahoo(settings, timeout_seconds),
            check_finnhub(settings, timeout_seconds),
            check_cloud(settings, timeout_seconds),
            check_discord(settings, timeout_seconds),
        )
    )


def check_endpoints_sync(
    settings: AppSettings, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> list[EndpointCheck]:
    """:func:`check_endpoints` for the CLI (must not run inside an event loop)."""
    return asyncio.run(check_endpoints(settings, timeout_seconds=timeout_seconds))
