"""Kubernetes-style probes and ``/metrics``, served inside the daemon's event loop.

Endpoints (all ``GET``; JSON unless noted):

=================  ====================================================================
``/health/live``   200 ``{"status": "alive", ...}``; 503 ``"not_alive"`` when the loop lag
                   exceeds ``LIVENESS_MAX_LOOP_LAG_SECONDS``. Depends on nothing external.
``/health/ready``  200 ``"ready"`` when started, every critical component is healthy and,
                   in session, the newest bar is fresh; else 503 with the failing checks.
``/health/startup`` 503 ``"starting"`` (or ``"failed"``) until every start-up phase is
                   done, then 200 ``"started"``.
``/health/state``  200, the full state (explicit fields only; never a setting or secret).
``/metrics``       Prometheus text exposition (``text/plain; version=0.0.4``).
=================  ====================================================================

With a :class:`~vibe.trading_bot.api.context.DashboardApi` the same app also
serves the dashboard page (``/``), its REST API (``/api/v1``, see
:mod:`vibe.trading_bot.api.rest`) and the OpenAPI docs (``/docs``).

While the loop is blocked no endpoint answers (the server runs in that loop):
the kubelet's probe times out, which it counts as a failure; right after the
loop unblocks, ``/health/live`` answers 503 until the lag ticker catches up
(see :mod:`vibe.trading_bot.core.health_monitor`).

:class:`HealthServer` runs ``uvicorn.Server.serve()`` as the named task
``"health-server"`` in the running loop (never in a thread), on a socket it
binds itself (port 0 picks a free port), and leaves signal handling to the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from vibe.common.errors import OperationalError
from vibe.trading_bot.api.metrics import CONTENT_TYPE, TradingMetrics
from vibe.trading_bot.config.settings import HealthSettings
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    from vibe.trading_bot.api.context import DashboardApi

_log = get_logger(__name__)
_OK, _UNAVAILABLE = 200, 503
_BACKLOG = 128


def _reply(ok: bool, body: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=_OK if ok else _UNAVAILABLE)


def create_health_app(
    monitor: HealthMonitor,
    metrics: TradingMetrics | None = None,
    dashboard: DashboardApi | None = None,
) -> FastAPI:
    """The FastAPI app serving the probes for ``monitor`` and ``/metrics`` for ``metrics``.

    Args:
        monitor: answers the probes.
        metrics: rendered at ``/metrics``; a fresh :class:`TradingMetrics` when ``None``.
            Its uptime and loop-lag gauges are bound to ``monitor``.
        dashboard: when given, the dashboard page at ``/``, its REST API under
            ``/api/v1`` and the OpenAPI docs at ``/docs`` are served too
            (:mod:`vibe.trading_bot.api.rest`); probes and ``/metrics`` stay open.
    """
    metrics = metrics if metrics is not None else TradingMetrics()
    metrics.track(monitor.uptime_seconds, monitor.loop_lag_seconds)
    if dashboard is None:
        app = FastAPI(
            title="vibe trading bot health", docs_url=None, redoc_url=None, openapi_url=None
        )
    else:
        from vibe.trading_bot.api.rest import create_dashboard_app

        app = create_dashboard_app(dashboard)
    app.state.monitor, app.state.metrics = monitor, metrics

    # async handlers: they run on the loop itself, so they see its lag.
    @app.get("/health/live")
    async def live() -> JSONResponse:
        report = monitor.liveness()
        return _reply(
            report.alive,
            {
                "status": "alive" if report.alive else "not_alive",
                "loop_lag_seconds": report.loop_lag_seconds,
                "max_loop_lag_seconds": report.max_loop_lag_seconds,
                "uptime_seconds": report.uptime_seconds,
            },
        )

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        report = monitor.readiness()
        return _reply(
            report.ready,
            {
                "status": "ready" if report.ready else "not_ready",
                "failing": [check for check in report.checks if not check.ok],
                "checks": report.checks,
            },
        )

    @app.get("/health/startup")
    async def startup() -> JSONResponse:
        report = monitor.startup()
        failed = any(phase.status == "failed" for phase in report.phases)
        status = "started" if report.complete else "failed" if failed else "starting"
        return _reply(report.complete, {"status": status, "phases": report.phases})

    @app.get("/health/state")
    async def state() -> JSONResponse:
        return _reply(True, monitor.state())

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal handlers (the daemon owns SIGINT/SIGTERM), with a start event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_done.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """Serves an ASGI app with uvicorn as a task in the running event loop.

    Use ``await server.start()`` / ``await server.stop()`` or ``async with server:``.

    Args:
        app: the ASGI app (normally :func:`create_health_app`).
        host: interface to listen on (``"0.0.0.0"`` for every IPv4 interface).
        port: TCP port; 0 picks a free one (read it back from :attr:`port`).
        shutdown_timeout_seconds: how long :meth:`stop` waits for open requests, s.
        on_stop: called once the server has stopped (e.g. to close the API's readers).
    """

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str,
        port: int,
        shutdown_timeout_seconds: float = 5.0,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._on_stop = on_stop
        self._host = host
        self._port = port
        self._timeout = shutdown_timeout_seconds
        self._server: _InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one once started, even when 0 was asked for)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port`` for clients (``0.0.0.0``/``::`` shown as loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self._host, self._host)  # noqa: S104
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        """Bind, start serving as task ``"health-server"``, and return once it accepts.

        Raises:
            OperationalError: the address cannot be bound (port taken, bad host) or
                the server failed while starting.
        """
        if self._task is not None and not self._task.done():
            return
        sock = self._bind()
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=max(1, int(self._timeout)),
        )
        server = self._server = _InLoopServer(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="health-server")
        self._task.add_done_callback(_log_task_end)
        waiter = asyncio.ensure_future(server.startup_done.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not server.started:
            with contextlib.suppress(Exception):
                await self._task  # startup failed: let the task finish, keep its exception
            sock.close()
            failure = None if self._task.cancelled() else self._task.exception()
            self._task = self._server = None
            raise OperationalError(
                f"health server on {self._host}:{self._port} failed to start: {failure!r}"
            ) from failure
        _log.info("health server listening", host=self._host, port=self._port)

    async def stop(self) -> None:
        """Stop accepting, let open requests finish within the timeout, then end the task."""
        task, server = self._task, self._server
        self._task = self._server = None
        if task is None or server is None:
            return
        try:
            await self._stop_serving(task, server)
        finally:
            if self._on_stop is not None:
                self._on_stop()

    async def _stop_serving(self, task: asyncio.Task[None], server: _InLoopServer) -> None:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=self._timeout + 1.0)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> HealthServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _bind(self) -> socket.socket:
        # Bound here, not by uvicorn: a bind failure becomes our error instead of
        # uvicorn's sys.exit() inside a task. proto=IPPROTO_TCP (from getaddrinfo)
        # matters: asyncio only sets TCP_NODELAY on sockets that declare it, and
        # without it every response waits ~40 ms for a delayed ACK.
        sock: socket.socket | None = None
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(_BACKLOG)
        except OSError as exc:
            if sock is not None:
                sock.close()
            raise OperationalError(
                f"health server cannot listen on {self._host}:{self._port}: {exc}; "
                "expected a free port and a local address (HEALTH_CHECK_HOST/HEALTH_CHECK_PORT)"
            ) from exc
        return sock


def build_health_server(
    settings: HealthSettings,
    monitor: HealthMonitor,
    metrics: TradingMetrics | None = None,
    dashboard: DashboardApi | None = None,
) -> HealthServer:
    """A :class:`HealthServer` for ``monitor`` (and ``dashboard``) on ``HEALTH_CHECK_HOST:PORT``."""
    app = create_health_app(monitor, metrics, dashboard)
    return HealthServer(
        app,
        host=settings.health_check_host,
        port=settings.health_check_port,
        on_stop=None if dashboard is None else dashboard.reader.close,
    )


def _log_task_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("health server stopped with an error", error=repr(task.exception()))
