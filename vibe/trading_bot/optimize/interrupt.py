"""Ctrl-C during ``optimize``: a flag checked between trials, never an exception mid-write.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the main thread is, which
could be inside a write to the study's SQLite storage. :func:`ctrl_c_flag` replaces
the handler while the search runs: the first Ctrl-C only sets
:attr:`CtrlC.requested`; the search raises ``KeyboardInterrupt`` itself at the next
safe point (:meth:`CtrlC.check`, after a trial is told), so the trials finished so far
are all stored and reported. A second Ctrl-C interrupts at once (Python's default
handler).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


class CtrlC:
    """Whether Ctrl-C was pressed (set by the handler :func:`ctrl_c_flag` installs)."""

    def __init__(self) -> None:
        self.requested = False

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler: remember it; a second one gets Python's default handler."""
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (call at a safe point)."""
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def ctrl_c_flag() -> Iterator[CtrlC]:
    """Route SIGINT to a :class:`CtrlC` for the block (main thread only), then restore."""
    flag = CtrlC()
    previous = signal.signal(signal.SIGINT, flag.on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
