"""The console side of ``optimize``: a progress bar over trials and the top-trials table."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vibe.trading_bot.optimize.aggregate import top_trials
from vibe.trading_bot.optimize.study import TrialRecord

TOP_ROWS = 10


class TrialProgress:
    """A progress bar over trials (on the console given to :func:`trial_progress`).

    The total grows as each search says how many trials it will run (:meth:`planned`).
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("trials", total=0, best="–")
        self._total = 0
        self._best: float | None = None

    def planned(self, trials: int) -> None:
        """``trials`` more trials will run."""
        self._total += trials
        self._progress.update(self._task, total=self._total)

    def advance(self, record: TrialRecord) -> None:
        """One more trial told."""
        if record.value is not None and (self._best is None or record.value > self._best):
            self._best = record.value
        best = "–" if self._best is None else f"{self._best:.4f}"
        self._progress.update(self._task, advance=1, best=best)


@contextlib.contextmanager
def trial_progress(console: Console) -> Iterator[TrialProgress]:
    """A :class:`TrialProgress` drawn on ``console`` (stderr) for the block."""
    columns = (
        TextColumn("[bold]trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield TrialProgress(progress)


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)


def top_trials_table(report: Mapping[str, Any], rows: int = TOP_ROWS) -> Table:
    """The ``rows`` best complete trials: params, objective, return, drawdown, trades."""
    names: Sequence[str] = list(report["space"])
    objective = report["objective"]["name"]
    table = Table(title=f"top trials by {objective}")
    for header in ("trial", *names, objective, "return %", "max DD %", "trades"):
        table.add_column(header, justify="right")
    for trial in top_trials(report["trials"], rows):
        metrics = trial["metrics"]
        table.add_row(
            str(trial["number"]),
            *(_text(trial["params"].get(n)) for n in names),
            _text(trial["value"]),
            _text(metrics.get("total_return_pct")),
            _text(metrics.get("max_drawdown_pct")),
            _text(metrics.get("num_trades")),
        )
    return table
