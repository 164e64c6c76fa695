"""Ctrl-C during ``optimize``: a flag checked between trials, never an exception mid-write.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the main thread is, which
could be inside a write to the study's SQLite storage. :class:`CtrlC` replaces the
handler while the search runs: the first Ctrl-C only sets :attr:`CtrlC.requested`;
the search raises ``KeyboardInterrupt`` itself at the next safe point
(:meth:`CtrlC.check`, after a trial is told), so the trials finished so far are all
stored and reported. A second Ctrl-C interrupts at once (Python's default handler).
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType
from typing import Any


class CtrlC:
    """``with CtrlC() as ctrl_c: ... ctrl_c.check()`` (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> CtrlC:
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second one: at once

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (call at a safe point)."""
        if self.requested:
            raise KeyboardInterrupt
