"""A TCP forwarder on 127.0.0.1 that can play an unreachable cloud (tests only).

While closed, every connection is accepted and closed at once (the client sees
a reset, a temporary failure); once opened, connections are forwarded to the
real server (moto or Azurite) byte for byte.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator


class CloudGate:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:target_port`` while open.

    Args:
        target_port: where the real server listens.
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.is_open = False
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="cloud-gate", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.is_open:
                self.refused += 1
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            threading.Thread(target=self._bridge, args=(client,), daemon=True).start()

    def _bridge(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self._target)) as upstream:
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join(30)

    def close(self) -> None:
        """Stop listening (open connections end with their peers)."""
        self._stop.set()
        self._listener.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def cloud_gate(target_port: int) -> Iterator[CloudGate]:
    """A :class:`CloudGate` (closed) for the duration of the block."""
    gate = CloudGate(target_port)
    try:
        yield gate
    finally:
        gate.close()
