"""``GET /api/v1/events``: server-sent events of fills, closed trades, health changes, bars.

Events (``event:`` name, ``data:`` one JSON object):

============  ==================================================================
``hello``     first event of every connection: ``{"run_id", "resumed"}``; its id is
              where the stream starts (reconnect with it to miss nothing)
``fill``      a fill stored in ``trades.db`` (:class:`~.schemas.FillOut`)
``trade``     the round trip that fill closed (:class:`~.schemas.TradeOut`)
``health``    a component's state change, as logged in ``logs.db``
``bar``       a traded bar (``symbol``, :class:`~.schemas.BarOut` fields and, once
              known, its session's ``opening_range`` so far)
============  ==================================================================

**Resume.** Every event's ``id`` is the whole stream position
``<run>.<fill rowid>[t].<bar seq>.<log id>`` (``t``: the trade of that fill was
sent too). A client that reconnects with ``Last-Event-ID`` (browsers do it by
themselves) gets every fill, closed trade and health change stored after that
position: the cursors are SQLite row ids, which only grow, so nothing still in
the stores is lost. Bars come from the in-memory tape; after a daemon restart
(another ``run``) the client gets every bar the new process has taped.

**Cost.** One :class:`EventHub` task per app looks at the stores every
``poll_seconds`` (two indexed queries in the reader pool) and wakes the
connected clients only when something changed; each client then reads its own
batch from its own position.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event
from pydantic import BaseModel

from vibe.trading_bot.api.context import DashboardApi, StoreReader
from vibe.trading_bot.api.queries import (
    fills_after,
    health_changes_after,
    last_fill_rowid,
    last_health_id,
    last_log_id,
)
from vibe.trading_bot.api.routes_account import Api
from vibe.trading_bot.api.serialize import (
    bar_out,
    fill_out,
    health_change_out,
    range_out,
    trade_out,
)

BATCH = 500
KEEPALIVE_SECONDS = 15.0
_ID = re.compile(r"^(?P<run>[0-9a-f]{1,32})\.(?P<fill>\d+)(?P<t>t?)\.(?P<bar>\d+)\.(?P<log>\d+)$")
router = APIRouter(tags=["events"])


@dataclass(frozen=True, slots=True)
class EventCursor:
    """A position in the event stream (see module doc).

    Attributes:
        run_id: the daemon process whose bar tape ``bar`` counts in.
        fill: rowid of the last fill sent.
        trade_sent: the trade closed by fill ``fill`` (if any) was sent too.
        bar: sequence number of the last bar sent.
        log: id of the last log line looked at for health changes.
    """

    run_id: str
    fill: int
    trade_sent: bool
    bar: int
    log: int

    @property
    def text(self) -> str:
        """The SSE ``id`` of this position."""
        mark = "t" if self.trade_sent else ""
        return f"{self.run_id}.{self.fill}{mark}.{self.bar}.{self.log}"

    @classmethod
    def parse(cls, text: str, run_id: str) -> EventCursor:
        """The cursor of an event id; bars restart at 0 for another process's id.

        Raises:
            ValueError: ``text`` is not an id this stream sends (message names it).
        """
        match = _ID.match(text.strip())
        if match is None:
            raise ValueError(
                f"Last-Event-ID={text!r}; expected an id sent by this stream, "
                "<run>.<fill>[t].<bar>.<log> such as 'a1b2c3d4.17t.340.88'"
            )
        bar = int(match["bar"]) if match["run"] == run_id else 0
        return cls(run_id, int(match["fill"]), bool(match["t"]), bar, int(match["log"]))


class EventHub:
    """Looks at the stores for news and wakes the stream's clients (see module doc).

    Args:
        api: the dashboard's parts (reader, tape, ``poll_seconds``).
    """

    def __init__(self, api: DashboardApi) -> None:
        self._api = api
        self._changed = asyncio.Condition()
        self.heads: tuple[int, int, int] = (-1, -1, -1)
        self._task: asyncio.Task[None] | None = None
        self._clients = 0

    async def wait_for_change(self, seen: tuple[int, int, int]) -> None:
        """Return once the stores' heads differ from ``seen``."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.heads != seen)

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[None]:
        """Count a connected client; the polling task runs while there is one."""
        self._clients += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="dashboard-events")
        try:
            yield
        finally:
            self._clients -= 1
            if self._clients == 0 and self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    async def _poll(self) -> None:
        api = self._api
        log_head = await api.reader.run(lambda r: last_log_id(r.logs))
        while True:
            fill_head, log_head = await api.reader.run(partial(_heads, log_head=log_head))
            heads = (fill_head, api.tape.last_seq, log_head)
            if heads != self.heads:
                async with self._changed:
                    self.heads = heads
                    self._changed.notify_all()
            await asyncio.sleep(api.poll_seconds)


def _heads(reader: StoreReader, log_head: int) -> tuple[int, int]:
    return last_fill_rowid(reader.trades), last_health_id(reader.logs, log_head)


async def current_cursor(api: DashboardApi) -> EventCursor:
    """The stream's position now (a new client starts here)."""
    fill, log = await api.reader.run(lambda r: (last_fill_rowid(r.trades), last_log_id(r.logs)))
    return EventCursor(api.tape.run_id, fill, True, api.tape.last_seq, log)


def _store_events(
    reader: StoreReader, at: EventCursor
) -> tuple[list[ServerSentEvent], EventCursor]:
    events: list[ServerSentEvent] = []
    start = at.fill if at.trade_sent else max(at.fill - 1, 0)
    for stored in fills_after(reader.trades, start, BATCH):
        if stored.rowid > at.fill:
            at = replace(at, fill=stored.rowid, trade_sent=stored.closed is None)
            events.append(ServerSentEvent(event="fill", id=at.text, data=fill_out(stored.fill)))
        if stored.closed is not None and not at.trade_sent:
            at = replace(at, trade_sent=True)
            events.append(ServerSentEvent(event="trade", id=at.text, data=trade_out(stored.closed)))
        at = replace(at, trade_sent=True)
    for change in health_changes_after(reader.logs, at.log, BATCH):
        at = replace(at, log=change.id)
        events.append(ServerSentEvent(event="health", id=at.text, data=health_change_out(change)))
    return events, at


def _bar_events(api: DashboardApi, at: EventCursor) -> tuple[list[ServerSentEvent], EventCursor]:
    events = []
    for taped in api.tape.after(at.bar)[:BATCH]:
        at = replace(at, bar=taped.seq)
        payload = {"symbol": taped.bar.symbol, **bar_out(taped.bar).model_dump(mode="json")}
        if taped.opening_range is not None:
            payload["opening_range"] = range_out(taped.opening_range).model_dump(mode="json")
        events.append(ServerSentEvent(event="bar", id=at.text, data=payload))
    return events, at


def encode(event: ServerSentEvent) -> bytes:
    """One event in the SSE wire format (data as compact JSON)."""
    data = event.data
    text = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return format_sse_event(data_str=text, event=event.event, id=event.id, retry=event.retry)


async def event_stream(
    api: DashboardApi, hub: EventHub, start: EventCursor, resumed: bool
) -> AsyncIterator[bytes]:
    """Every event after ``start``, as they come, until the client goes away.

    Each batch goes out as one chunk (one write per batch, not per event), so
    the stream keeps up with a ``--speed max`` replay; a comment line every
    ``KEEPALIVE_SECONDS`` of silence keeps proxies from closing it.
    """
    at = start
    hello = {"run_id": api.tape.run_id, "resumed": resumed}
    yield encode(ServerSentEvent(event="hello", id=at.text, data=hello, retry=1000))
    async with hub.client():
        while True:
            seen = hub.heads
            events, at = await api.reader.run(partial(_store_events, at=at))
            bars, at = _bar_events(api, at)
            if events or bars:
                yield b"".join(encode(event) for event in (*events, *bars))
            if len(events) < BATCH and len(bars) < BATCH:
                try:
                    await asyncio.wait_for(hub.wait_for_change(seen), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"


async def resume_point(
    api: Api,
    last_event_id: Annotated[
        str | None, Header(description="resume after this event id (browsers send it)")
    ] = None,
) -> tuple[EventCursor, bool]:
    """Where a connection starts: after ``Last-Event-ID``, else now; and whether it resumes.

    Raises:
        HTTPException: 422 for a ``Last-Event-ID`` this stream never sent.
    """
    if not last_event_id:
        return await current_cursor(api), False
    try:
        return EventCursor.parse(last_event_id, api.tape.run_id), True
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get(
    "/events",
    response_class=Response,  # a stream of its own (see event_stream), not a JSON body
    summary="Server-sent events",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    api: Api,
    start: Annotated[tuple[EventCursor, bool], Depends(resume_point)],
) -> EventSourceResponse:
    """Fills, closed trades, health changes and bar closes as server-sent events.

    See the module doc of :mod:`vibe.trading_bot.api.events` for the ids and resuming.
    """
    hub: EventHub = request.app.state.event_hub
    return EventSourceResponse(event_stream(api, hub, *start))
