"""The dashboard's FastAPI app: the REST API under ``/api/v1``, the page, OpenAPI docs.

=====================================  ===================================================
``GET /api/v1/status``                 mode, session, health, equity, day P&L, switches
``GET /api/v1/positions``              open positions
``GET /api/v1/orders?status=&symbol=``  orders
``GET /api/v1/trades?symbol=&since=&limit=``  round trips
``GET /api/v1/equity?since=``          equity points
``GET /api/v1/bars/{symbol}?since=&limit=``  traded bars with the opening ranges
``GET /api/v1/daily``                  per-session figures
``GET /api/v1/events``                 server-sent events (:mod:`.events`)
``POST /api/v1/control/...``           pause-entries, resume-entries, flatten (:mod:`.control`)
``GET /``, ``/static/...``             the page (:mod:`.dashboard`)
``GET /docs``, ``/openapi.json``       the API's documentation
=====================================  ===================================================

Answers are JSON (times ISO-8601 with offset, money USD). Bad input gets 422
(or 404 for an unknown symbol in a path) with a message naming the bad value;
a store that cannot be read gets 503. Token rules: :mod:`.auth`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from vibe.common.errors import VibeError
from vibe.trading_bot.api import control, events, routes_account, routes_records
from vibe.trading_bot.api.auth import authorize_read
from vibe.trading_bot.api.context import DashboardApi
from vibe.trading_bot.api.dashboard import mount_dashboard

API_PREFIX = "/api/v1"


async def _store_failed(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"cannot read the daemon's data: {exc}"}, status_code=503)


def create_dashboard_app(api: DashboardApi) -> FastAPI:
    """The app serving :class:`DashboardApi` (the health routes are added by the caller)."""
    app = FastAPI(
        title="vibe trading bot",
        summary="Paper-trading daemon: health probes, metrics, dashboard REST API",
        version="1",
        redoc_url=None,
    )
    app.state.dashboard = api
    app.state.event_hub = events.EventHub(api)
    app.add_exception_handler(VibeError, _store_failed)
    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authorize_read)])
    for module in (routes_account, routes_records, events, control):
        v1.include_router(module.router)
    app.include_router(v1)
    mount_dashboard(app)
    return app
