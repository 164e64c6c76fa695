"""One ``optimize`` run: the search (or the walk-forward folds) on an executor.

:func:`run_optimization` needs a validated :class:`OptimizeRequest`; the command
(:mod:`vibe.trading_bot.commands.optimize`) builds it from the flags and writes the
reports from the :class:`OptimizeOutcome`. Ctrl-C (``KeyboardInterrupt``) ends the
run early: the trials finished so far are told to the study and the outcome is
marked ``interrupted`` (the command still writes the reports).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import optuna

from vibe.trading_bot.optimize.bars import BarSet
from vibe.trading_bot.optimize.executors import TrialExecutor
from vibe.trading_bot.optimize.interrupt import CtrlC
from vibe.trading_bot.optimize.objective import score
from vibe.trading_bot.optimize.space import Dimension, param_text
from vibe.trading_bot.optimize.study import (
    SearchProgress,
    SearchSettings,
    TrialRecord,
    best_record,
    open_study,
    records,
    run_search,
    study_name,
)
from vibe.trading_bot.optimize.trial import TrialContext, TrialSpec
from vibe.trading_bot.optimize.walk_forward import Fold, FoldResult, plan_folds


@dataclass(frozen=True)
class OptimizeRequest:
    """A validated ``optimize`` (dates are ET sessions, inclusive).

    Attributes:
        start: first session.
        end: last session.
        context: symbols, timeframe and the settings sent to every trial.
        dims: the search space.
        fixed: ``--param`` values (text), for the report.
        search: sampler, seed, trials, objective and ``--min-trades``.
        walk_forward: number of folds K (``None``: one in-sample search).
        storage: the Optuna storage URL.
    """

    start: date
    end: date
    context: TrialContext
    dims: Sequence[Dimension]
    fixed: dict[str, str]
    search: SearchSettings
    walk_forward: int | None
    storage: str

    def definition(self, bars: BarSet, window: tuple[date, date]) -> dict[str, Any]:
        """What defines a study's trials (hashed into its name; see :mod:`.study`)."""
        search = self.search
        return {
            "window": [window[0].isoformat(), window[1].isoformat()],
            "symbols": self.context.symbols,
            "timeframe": self.context.timeframe,
            "bars": bars.digest,
            "settings": dict(self.context.settings),
            "space": {d.name: list(d.values) for d in self.dims},
            "objective": search.objective,
            "min_trades": search.min_trades,
            "sampler": search.sampler,
            "seed": search.seed,
        }


@dataclass
class OptimizeOutcome:
    """What the run found.

    Attributes:
        study: the study name (the last fold's with walk-forward).
        trials: every finished trial (walk-forward: the last fold's).
        best: the best trial (walk-forward: the last fold's, tuned on all but the last block).
        folds: the walk-forward folds (empty without ``--walk-forward``).
        interrupted: Ctrl-C ended the run early.
    """

    study: str
    trials: list[TrialRecord] = field(default_factory=list)
    best: TrialRecord | None = None
    folds: list[FoldResult] = field(default_factory=list)
    interrupted: bool = False


def run_optimization(
    request: OptimizeRequest,
    bars: BarSet,
    executor: TrialExecutor,
    progress: SearchProgress,
    ctrl_c: CtrlC | None = None,
) -> OptimizeOutcome:
    """Run the search, or every walk-forward fold, on ``executor``.

    ``ctrl_c`` (Ctrl-C as a flag, :mod:`.interrupt`) is checked between trials.

    Raises:
        InvalidInputError: no session with bars in the range, or fewer than K+1.
    """
    from vibe.common.errors import InvalidInputError

    sessions = bars.sessions(request.start, request.end)
    if not sessions:
        raise InvalidInputError(
            f"no session with bars of {', '.join(request.context.symbols)} between "
            f"{request.start.isoformat()} and {request.end.isoformat()}"
        )
    if request.walk_forward is None:
        window = (request.start, request.end)
        study = _study(request, bars, window)
        outcome = OptimizeOutcome(study.study_name)
        with _interruptible(outcome):
            _search(request, study, executor, window, progress, ctrl_c)
        outcome.trials = records(study, request.dims)
        outcome.best = best_record(outcome.trials)
        return outcome
    folds = plan_folds(sessions, request.walk_forward)
    return _walk_forward(request, bars, executor, progress, folds, ctrl_c)


def _study(request: OptimizeRequest, bars: BarSet, window: tuple[date, date]) -> optuna.Study:
    name = study_name(request.definition(bars, window))
    return open_study(request.storage, name, request.search, request.dims)


def _search(
    request: OptimizeRequest,
    study: optuna.Study,
    executor: TrialExecutor,
    window: tuple[date, date],
    progress: SearchProgress,
    ctrl_c: CtrlC | None,
) -> None:
    context = request.context
    run_search(study, request.dims, request.search, executor, context, window, progress, ctrl_c)


@contextlib.contextmanager
def _interruptible(outcome: OptimizeOutcome) -> Any:
    try:
        yield
    except KeyboardInterrupt:
        outcome.interrupted = True


def _walk_forward(
    request: OptimizeRequest,
    bars: BarSet,
    executor: TrialExecutor,
    progress: SearchProgress,
    folds: list[Fold],
    ctrl_c: CtrlC | None,
) -> OptimizeOutcome:
    outcome = OptimizeOutcome("")
    with _interruptible(outcome):
        for fold in folds:
            study = _study(request, bars, fold.in_sample)
            outcome.study = study.study_name
            _search(request, study, executor, fold.in_sample, progress, ctrl_c)
            outcome.folds.append(_evaluate(request, executor, fold, study))
    if outcome.folds:
        last = outcome.folds[-1]
        outcome.trials, outcome.best = last.trials, last.best
    return outcome


def _evaluate(
    request: OptimizeRequest, executor: TrialExecutor, fold: Fold, study: optuna.Study
) -> FoldResult:
    """The fold's best in-sample parameters, backtested on its out-of-sample block."""
    found = records(study, request.dims)
    best = best_record(found)
    if best is None:
        return FoldResult(fold, study.study_name, None, None, None, found)
    params = {name: param_text(value) for name, value in best.params.items()}
    start, end = fold.out_of_sample
    spec = TrialSpec(-1, start, end, params, keep_equity=True)
    (evaluation,) = list(executor.run(request.context, [spec]))
    value = None
    if evaluation.metrics is not None:
        value = score(evaluation.metrics, request.search.objective, request.search.min_trades)
    return FoldResult(fold, study.study_name, best, evaluation, value, found)


def default_output(results_dir: Path, request: OptimizeRequest, bars: BarSet) -> Path:
    """``RESULTS_DIR/optimize-<hash of the run's definition>.json``.

    A resumed run rewrites its own report.
    """
    definition = request.definition(bars, (request.start, request.end))
    name = study_name(definition | {"walk_forward": request.walk_forward})
    return Path(results_dir) / f"{name}.json"
