"""``GET /``: the dashboard page, and ``/static``: its script, style and the chart library.

The page is a static HTML file with a little plain JavaScript (no build step,
no CDN: it works offline and behind a firewall). It draws with TradingView's
Lightweight Charts, vendored under ``web/static/vendor`` with its LICENSE and
NOTICE, and reads everything from ``/api/v1`` (see :mod:`.rest`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vibe.trading_bot.api.context import DashboardApi
from vibe.trading_bot.web import STATIC_DIR

PAGE = STATIC_DIR / "dashboard" / "index.html"
router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The dashboard page."""
    return FileResponse(PAGE, media_type="text/html")


@router.get("/dashboard.json")
async def page_settings(request: Request) -> dict[str, bool]:
    """What the page needs before its first API call: whether ``API_TOKEN`` is set.

    Open (as the page is), so the page asks for the token before calling
    ``/api/v1`` instead of drawing a 401 first; it reveals nothing else.
    """
    api: DashboardApi = request.app.state.dashboard
    return {"token_required": api.control_enabled}


def mount_dashboard(app: FastAPI) -> None:
    """Serve the page at ``/`` and the static folder at ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
