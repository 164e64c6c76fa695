"""A session progress bar for replays and backtests (rich), on stderr."""

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

    def __enter__(self) -> SessionProgress:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            self._progress.stop()

    def update(self, done: int, total: int, bars: int) -> None:
        """Sessions done of ``total``; ``bars`` processed so far."""
        if self._task is None:
            self._task = self._progress.add_task("replay", total=total, bars=0)
        self._progress.update(self._task, completed=done, total=total, bars=bars)
