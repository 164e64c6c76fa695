"""A session progress bar for replays and backtests (rich), on stderr.

The elapsed time counts from the start of the run (the ``with`` block), not
from the first finished session: the warm-up and the first session are part
of the wait. A run that fails before its first session (a user error while
loading the data) leaves no bar behind, only its one error line.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class SessionProgress:
    """``with SessionProgress(console) as p: ... p.update(done, total, bars)``.

    Args:
        console: where the bar is drawn (stderr keeps stdout clean for JSON).
        enabled: draw nothing when ``False`` (e.g. live runs).
    """

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]sessions"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[bars]:,} bars"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self.bars = 0  # bars traded so far (the last update's count)
        self._updated = False

    def __enter__(self) -> SessionProgress:
        if self.enabled:
            self._task = self._progress.add_task("replay", total=None, bars=0)  # clock starts
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            if exc_type is not None and self._task is not None and not self._updated:
                self._progress.remove_task(self._task)  # failed before any session: no bar
            self._progress.stop()

    def update(self, done: int, total: int, bars: int) -> None:
        """Sessions done of ``total``; ``bars`` processed so far."""
        self.bars = bars
        self._updated = True
        if self._task is None:  # used outside a ``with`` block: the clock starts now
            self._task = self._progress.add_task("replay", total=total, bars=0)
        self._progress.update(self._task, completed=done, total=total, bars=bars)
