"""``/api/v1/control``: pause and resume new entries, flatten one symbol or everything.

Each command is written to the service log (``logs.db``, event ``operator
command``) and announced as a ``system`` alert (event ``operator_command``:
Discord, or the log when alerts are off). The token rules are in :mod:`.auth`.

**Acting safely on the trading loop.** A command changes the executor on the
event loop while holding the trading lock (``Daemon.trading_lock``). The
live loop holds that lock while it trades a bar group in a worker thread, so a
command waits for the group in progress (milliseconds) and never runs beside
it; the replay trades each group on the event loop without awaiting in
between, so a command there always lands between two groups. A lock rather
than a queue drained between bar groups, because a command must also work
while no bars come (market closed, feed quiet) and the caller gets the
outcome in the answer.

* ``pause-entries``: new entries are refused (reason ``entries_paused``) until
  ``resume-entries``; closes, stops and take-profits go on. In memory: a
  restart trades again.
* ``flatten``: a market close (exit reason ``manual``) for the symbol, or for
  every open position and unfilled entry; it fills at the next bar's open as
  any close does (an unfilled entry is cancelled at once).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException

from vibe.common.models import ExitReason
from vibe.trading_bot.api.auth import authorize_control
from vibe.trading_bot.api.context import DashboardApi
from vibe.trading_bot.api.routes_account import Api
from vibe.trading_bot.api.routes_records import known_symbol
from vibe.trading_bot.api.schemas import ControlOut, FlattenIn
from vibe.trading_bot.execution.outcome import Outcome
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_FAILED = (Outcome.ERROR, Outcome.EXCHANGE_REJECTED)
router = APIRouter(prefix="/control", tags=["control"], dependencies=[Depends(authorize_control)])


async def _announce(api: DashboardApi, answer: ControlOut) -> ControlOut:
    _log.warning(
        "operator command",
        command=answer.command,
        symbols=",".join(answer.symbols),
        entries_paused=answer.entries_paused,
        detail=answer.message,
    )
    reporter = api.executor.reporter
    reporter.alert_from(
        SystemAlert,
        timestamp=answer.at,
        event=SystemEvent.OPERATOR_COMMAND,
        message=answer.message,
        component="dashboard",
        details={"command": answer.command},
    )
    await api.executor.flush_alerts()
    return answer


async def _set_entries(api: DashboardApi, paused: bool) -> ControlOut:
    async with api.trading_lock:
        api.executor.entries_paused = paused
    word = "paused" if paused else "resumed"
    return await _announce(
        api,
        ControlOut(
            command="pause-entries" if paused else "resume-entries",
            at=api.clock.now(),
            entries_paused=paused,
            symbols=[],
            message=f"new entries {word} by the operator",
        ),
    )


@router.post("/pause-entries", response_model=ControlOut, summary="Stop new entries")
async def pause_entries(api: Api) -> ControlOut:
    """Refuse new entries until resumed; open positions keep their stops and targets."""
    return await _set_entries(api, True)


@router.post("/resume-entries", response_model=ControlOut, summary="Allow new entries")
async def resume_entries(api: Api) -> ControlOut:
    """Take new entries again."""
    return await _set_entries(api, False)


@router.post("/flatten", response_model=ControlOut, summary="Close positions now")
async def flatten(api: Api, body: Annotated[FlattenIn | None, Body()] = None) -> ControlOut:
    """Close ``symbol`` (or every open position and unfilled entry) at market.

    Raises:
        HTTPException: 404 for a symbol this daemon does not trade; 409 when
            ``symbol`` has nothing open.
    """
    symbol = known_symbol(api, body.symbol if body is not None else None, 404)
    async with api.trading_lock:
        executor = api.executor
        open_now = executor.open_symbols()
        if symbol is not None and symbol not in open_now:
            raise HTTPException(409, f"nothing open in {symbol}: no position, no working entry")
        targets = [symbol] if symbol is not None else open_now
        results = [executor.close_position(s, ExitReason.MANUAL) for s in targets]
        paused = executor.entries_paused
    failed = [
        r.signal.symbol for r in results if r.outcome in (Outcome.ERROR, Outcome.EXCHANGE_REJECTED)
    ]
    what = ", ".join(targets) if targets else "nothing was open"
    message = f"flatten by the operator: {what}"
    if failed:
        message += f" (failed: {', '.join(failed)}; see the execution component)"
    answer = ControlOut(
        command="flatten",
        at=api.clock.now(),
        entries_paused=paused,
        symbols=targets,
        message=message,
    )
    return await _announce(api, answer)
