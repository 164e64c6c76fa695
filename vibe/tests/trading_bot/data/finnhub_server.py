"""A websockets server on 127.0.0.1 speaking Finnhub's trade protocol.

Each accepted connection plays the next :class:`Script`: wait for the client's
subscribe messages, send the scripted messages, then close (a server-side
disconnect) or stay open and silent.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response


@dataclass
class Script:
    messages: list[str]
    then_close: bool = True
    expect_subscriptions: int = 1


@dataclass
class FinnhubServer:
    scripts: list[Script]
    valid_token: str = "test-token"
    connections: int = 0
    subscriptions: list[list[str]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def start(self) -> None:
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_token)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _check_token(self, connection: ServerConnection, request: Request) -> Response | None:
        self.paths.append(request.path)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        token = query.get("token", [""])[-1]
        self.tokens.append(token)
        if token != self.valid_token:
            return connection.respond(401, "Invalid API key\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        index = self.connections
        self.connections += 1
        script = self.scripts[min(index, len(self.scripts) - 1)]
        subscribed: list[str] = []
        self.subscriptions.append(subscribed)
        while len(subscribed) < script.expect_subscriptions:
            message = json.loads(await ws.recv())
            if message.get("type") == "subscribe":
                subscribed.append(message["symbol"])
        for message in script.messages:
            await ws.send(message)
        if script.then_close:
            await ws.close()
            return
        await ws.wait_closed()  # stay open, say nothing


def trade_messages(symbol: str, ticks: list[tuple[int, float, int]]) -> list[str]:
    """Finnhub trade messages, one per minute of ticks (Finnhub batches prints)."""
    by_minute: dict[int, list[dict]] = {}
    for ms, price, size in ticks:
        by_minute.setdefault(ms // 60_000, []).append(
            {"s": symbol, "p": price, "t": ms, "v": size, "c": ["1"]}
        )
    return [json.dumps({"type": "trade", "data": data}) for _, data in sorted(by_minute.items())]
