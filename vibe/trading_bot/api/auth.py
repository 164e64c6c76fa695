"""``API_TOKEN``: who may read ``/api/v1`` and who may drive it.

Rules (issue 18):

* ``API_TOKEN`` set: every ``/api/v1`` call needs ``Authorization: Bearer <token>``;
  a missing or wrong token gets 401 (with ``WWW-Authenticate: Bearer``). The
  comparison is constant-time (:func:`hmac.compare_digest`), so the answer's
  timing says nothing about how much of a guess was right.
* ``API_TOKEN`` not set: read endpoints answer everyone; the control endpoints
  answer 403 with a message saying how to enable them.
* The probes, ``/metrics``, the page ``/`` and its static files are never behind
  the token (Kubernetes probes carry no credentials; the page asks for it).

The token is a :class:`~pydantic.SecretStr`: it is never logged, alerted or
shown by ``/status`` (only whether one is set).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vibe.trading_bot.api.context import DashboardApi

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="API_TOKEN",
    description="the daemon's API_TOKEN setting, sent as `Authorization: Bearer <token>`",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
CONTROL_DISABLED = (
    "control endpoints are disabled because API_TOKEN is not set: set API_TOKEN "
    "(a long random string) in the daemon's environment or .env, restart it, "
    "and send 'Authorization: Bearer <token>'"
)


def dashboard(request: Request) -> DashboardApi:
    """The :class:`DashboardApi` the app was built with."""
    api: DashboardApi = request.app.state.dashboard
    return api


def _check_token(api: DashboardApi, credentials: HTTPAuthorizationCredentials | None) -> None:
    token = api.settings.health.api_token
    if token is None:
        return
    if credentials is None:
        raise HTTPException(
            401,
            "missing 'Authorization: Bearer <token>' header: API_TOKEN is set on this daemon",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = credentials.credentials.encode("utf-8")
    if not hmac.compare_digest(given, token.get_secret_value().encode("utf-8")):
        raise HTTPException(
            401,
            "wrong bearer token: expected the daemon's API_TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )


def authorize_read(request: Request, credentials: Credentials) -> None:
    """Dependency of every ``/api/v1`` route (see module doc).

    Raises:
        HTTPException: 401 when ``API_TOKEN`` is set and the bearer token is missing or wrong.
    """
    _check_token(dashboard(request), credentials)


def authorize_control(request: Request, credentials: Credentials) -> None:
    """Dependency of the control routes (see module doc).

    Raises:
        HTTPException: 403 when ``API_TOKEN`` is not set; 401 when the token is
            missing or wrong.
    """
    api = dashboard(request)
    if api.settings.health.api_token is None:
        raise HTTPException(403, CONTROL_DISABLED)
    _check_token(api, credentials)
