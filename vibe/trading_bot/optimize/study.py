"""The Optuna study: RDB (SQLite) storage under ``RESULTS_DIR``, asked and told in batches.

Storage: ``RESULTS_DIR/optimize/studies.db`` (``sqlite:///`` URL), one study per
search definition. The study's name is a hash of everything that defines its trials
(range, symbols, timeframe, data folder, fixed settings, space, objective,
``--min-trades``, sampler, seed, walk-forward fold); not of ``--trials``, the
executor or the worker count. Running ``optimize`` again with the same flags
therefore resumes: finished trials are kept, trials an interruption left running
are re-run (re-enqueued with their parameters; a grid's are among its unvisited
points), and only the missing ones run.

Determinism: TPE and random trials are asked :data:`BATCH_SIZE` at a time, run on
the executor in any order, and told in trial-number order (each as soon as the
trials before it are told); the next batch is asked once the batch is done, so the
sampler sees the same history whatever the executor and the worker count. A grid
learns nothing from results, so a grid search is one batch of all its unvisited
points, in grid order, each stored as a finished trial once it has run and the
trials before it are stored (:mod:`.grid_trials`: no ask, no tell). A seeded TPE or
random sampler is seeded with ``seed + trials already in the study``, so a resumed
study does not propose its first trials again.

Trial states: ``COMPLETE`` (feasible, value = objective), ``PRUNED`` (infeasible,
see :mod:`.objective`), ``FAIL`` with a user attribute ``error`` (the backtest
cannot run these parameters) or without one (interrupted; re-run on resume). Each
told trial carries its backtest ``metrics`` as a user attribute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from vibe.trading_bot.optimize.executors import TrialExecutor
from vibe.trading_bot.optimize.grid_trials import (
    finished_trial,
    grid_specs,
    trial_spec,
    unvisited_points,
)
from vibe.trading_bot.optimize.interrupt import CtrlC
from vibe.trading_bot.optimize.objective import score
from vibe.trading_bot.optimize.samplers import make_sampler
from vibe.trading_bot.optimize.space import Dimension, ParamValue, grid_size
from vibe.trading_bot.optimize.trial import TrialContext, TrialOutcome, TrialSpec

BATCH_SIZE = 16
DEFAULT_TRIALS = 100  # tpe and random without --trials
STORAGE_FILE = "optimize/studies.db"


@dataclass(frozen=True)
class SearchSettings:
    """How to search: ``--sampler``, ``--seed``, ``--trials``, ``--objective``, ``--min-trades``."""

    sampler: str
    seed: int | None
    trials: int | None
    objective: str
    min_trades: int

    def target(self, dims: Sequence[Dimension]) -> int:
        """Trials the study should hold: ``--trials``, at most the grid for ``grid``."""
        if self.sampler == "grid":
            return min(self.trials or grid_size(dims), grid_size(dims))
        return self.trials or DEFAULT_TRIALS


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as reported.

    Attributes:
        number: Optuna trial number.
        params: searched parameter -> typed value.
        state: ``complete``, ``infeasible`` or ``failed``.
        value: the objective (``None`` unless complete).
        metrics: the backtest report's metrics (``None`` when failed).
        error: why a failed trial could not run.
    """

    number: int
    params: dict[str, ParamValue]
    state: str
    value: float | None
    metrics: dict[str, Any] | None
    error: str | None = None


class SearchProgress(Protocol):
    """Progress of a search (the command's progress bar)."""

    def planned(self, trials: int) -> None:
        """``trials`` more trials will run."""
        ...

    def advance(self, record: TrialRecord) -> None:
        """One trial was told."""
        ...


def storage_url(results_dir: Path) -> str:
    """``sqlite:///<RESULTS_DIR>/optimize/studies.db`` (the folder is created)."""
    path = (Path(results_dir) / STORAGE_FILE).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def study_name(definition: Mapping[str, Any]) -> str:
    """``optimize-<16 hex>``: a hash of the JSON of ``definition`` (sorted keys)."""
    text = json.dumps(definition, sort_keys=True, default=str)
    return "optimize-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def study_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at ``url``; a SQLite file is opened in WAL mode, ``synchronous=NORMAL``.

    SQLite's defaults (rollback journal, ``synchronous=FULL``) sync the disk at every
    commit, and Optuna commits several times per ask and per tell: ~6 ms each on this
    machine, seconds per search while the workers wait for the next batch. In WAL
    mode with ``synchronous=NORMAL`` a commit survives the process being killed
    (what resuming needs); only a power loss may take the last trials back
    (https://www.sqlite.org/pragma.html#pragma_synchronous, https://www.sqlite.org/wal.html).
    """
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return optuna.storages.RDBStorage(url)
    path = url.removeprefix("sqlite:///")
    return optuna.storages.RDBStorage(url, engine_kwargs={"creator": partial(_connect, path)})


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def open_study(
    url: str, name: str, search: SearchSettings, dims: Sequence[Dimension]
) -> optuna.Study:
    """Create the study or load it (resume), with the sampler of ``search``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=study_storage(url), study_name=name, direction="maximize", load_if_exists=True
    )
    seed = search.seed
    if seed is not None and search.sampler != "grid":
        seed += len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(search.sampler, dims, seed)
    return study


def _done(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state is TrialState.FAIL and "error" in trial.user_attrs


def requeue_interrupted(study: optuna.Study, *, enqueue: bool = True) -> int:
    """Fail the trials an interruption left running and enqueue their parameters again.

    ``enqueue=False`` (a grid search, whose unvisited points include theirs): fail
    them only.

    Returns:
        How many were failed.
    """
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in running:
        study.tell(trial.number, state=TrialState.FAIL)
        if enqueue:
            study.enqueue_trial(dict(trial.params))
    return len(running)


def run_search(
    study: optuna.Study,
    dims: Sequence[Dimension],
    search: SearchSettings,
    executor: TrialExecutor,
    context: TrialContext,
    window: tuple[Any, Any],
    progress: SearchProgress,
    ctrl_c: CtrlC | None = None,
) -> None:
    """Run the missing trials of ``study`` on ``executor`` (see the module doc).

    Args:
        study: the study (created or loaded by :func:`open_study`).
        dims: the search space.
        search: sampler, trials, objective and ``--min-trades``.
        executor: where the trials run.
        context: symbols, timeframe and settings of every trial.
        window: the trials' first and last session (ET dates).
        progress: told how many trials will run, then each trial once it is told.
        ctrl_c: checked between trials (see :mod:`.interrupt`).

    Raises:
        KeyboardInterrupt: Ctrl-C (``ctrl_c``); the trials finished so far are told first.
    """
    grid = search.sampler == "grid"
    requeue_interrupted(study, enqueue=not grid)
    progress.planned(
        max(0, search.target(dims) - sum(map(_done, study.get_trials(deepcopy=False))))
    )
    by_name = {d.name: d for d in dims}
    check = ctrl_c.check if ctrl_c is not None else (lambda: None)
    while (missing := search.target(dims) - sum(map(_done, study.get_trials(deepcopy=False)))) > 0:
        check()
        if grid:
            pending = _grid_pending(study, dims, search, window, missing)
        else:  # the whole batch asked before any of it is told
            pending = iter(list(_asked(study, dims, search, window, min(BATCH_SIZE, missing))))
        _run_batch(executor, context, pending, progress, by_name, check)


@dataclass(frozen=True)
class _Pending:
    """A trial handed to the executor; ``store`` records its outcome in the study."""

    spec: TrialSpec
    store: Callable[[TrialOutcome], TrialRecord]


def _run_batch(
    executor: TrialExecutor,
    context: TrialContext,
    pending: Iterator[_Pending],
    progress: SearchProgress,
    by_name: Mapping[str, Dimension],
    check: Callable[[], None],
) -> None:
    """Run ``pending`` on the executor; store each outcome in trial order, as soon as it can.

    A trial is taken from ``pending`` (asked, for the ask path) only when the executor
    submits it. Interrupted: the finished trials are stored, still in trial order.
    """
    taken: list[_Pending] = []  # submitted, not stored yet, in trial order

    def specs() -> Iterator[TrialSpec]:
        for item in pending:
            taken.append(item)
            yield item.spec

    outcomes: dict[int, TrialOutcome] = {}

    def store(item: _Pending) -> None:
        progress.advance(_snapped(item.store(outcomes[item.spec.number]), by_name))

    try:
        for outcome in executor.run(context, specs()):
            outcomes[outcome.number] = outcome
            while taken and taken[0].spec.number in outcomes:
                store(taken.pop(0))
            check()
    finally:  # when interrupted: the finished ones, still in trial order
        for item in taken:
            if item.spec.number in outcomes:
                store(item)


def _asked(
    study: optuna.Study,
    dims: Sequence[Dimension],
    search: SearchSettings,
    window: tuple[Any, Any],
    count: int,
) -> Iterator[_Pending]:
    """Ask ``count`` trials one at a time (TPE, random); each is told when stored."""
    distributions = {d.name: d.distribution() for d in dims}
    by_name = {d.name: d for d in dims}
    for _ in range(count):
        trial = study.ask(dict(distributions))
        params = {name: by_name[name].snap(value) for name, value in trial.params.items()}
        spec = trial_spec(trial.number, params, window)
        yield _Pending(spec, partial(_tell, study, trial, search=search))


def _grid_pending(
    study: optuna.Study,
    dims: Sequence[Dimension],
    search: SearchSettings,
    window: tuple[Any, Any],
    count: int,
) -> Iterator[_Pending]:
    """The first ``count`` unvisited grid points (:mod:`.grid_trials`); each added when stored."""
    trials = study.get_trials(deepcopy=False)
    points = unvisited_points(dims, [t for t in trials if _done(t)])[:count]
    distributions = {d.name: d.distribution() for d in dims}
    specs = grid_specs(points, len(trials), window)
    for point, spec in zip(points, specs, strict=True):
        store = partial(_add, study, spec.number, point, distributions, search)
        yield _Pending(spec, store)


def _add(
    study: optuna.Study,
    number: int,
    point: Mapping[str, ParamValue],
    distributions: Mapping[str, Any],
    search: SearchSettings,
    outcome: TrialOutcome,
) -> TrialRecord:
    trial = finished_trial(point, distributions, outcome, search.objective, search.min_trades)
    study.add_trial(trial)
    value = trial.value if trial.state is TrialState.COMPLETE else None
    state = _STATES.get(trial.state, "failed")
    return TrialRecord(number, dict(point), state, value, outcome.metrics, outcome.error)


def _tell(
    study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome, search: SearchSettings
) -> TrialRecord:
    value: float | None = None
    if outcome.metrics is None:
        trial.set_user_attr("error", outcome.error or "failed")
        study.tell(trial, state=TrialState.FAIL)
        state = "failed"
    else:
        trial.set_user_attr("metrics", outcome.metrics)
        value = score(outcome.metrics, search.objective, search.min_trades)
        state = "infeasible" if value is None else "complete"
        study.tell(trial, value, state=TrialState.PRUNED if value is None else None)
    return TrialRecord(
        trial.number, dict(trial.params), state, value, outcome.metrics, outcome.error
    )


def _snapped(record: TrialRecord, by_name: Mapping[str, Dimension]) -> TrialRecord:
    params = {
        name: by_name[name].snap(value) if name in by_name else value
        for name, value in record.params.items()
    }
    return dataclasses.replace(record, params=params)


_STATES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "infeasible"}


def records(study: optuna.Study, dims: Sequence[Dimension]) -> list[TrialRecord]:
    """Every finished trial (interrupted ones excluded), by trial number, values snapped."""
    by_name = {d.name: d for d in dims}
    found = []
    for trial in study.get_trials(deepcopy=False):
        if _done(trial):
            record = TrialRecord(
                trial.number,
                dict(trial.params),
                _STATES.get(trial.state, "failed"),
                trial.value if trial.state is TrialState.COMPLETE else None,
                trial.user_attrs.get("metrics"),
                trial.user_attrs.get("error"),
            )
            found.append(_snapped(record, by_name))
    return found


def best_record(found: Sequence[TrialRecord]) -> TrialRecord | None:
    """The complete trial with the highest objective (ties: the lowest trial number)."""
    complete = [r for r in found if r.state == "complete" and r.value is not None]
    return max(complete, key=lambda r: (r.value, -r.number), default=None)
