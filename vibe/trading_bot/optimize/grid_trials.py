"""A grid search's trials: the unvisited grid points, each stored once it has run.

A grid sampler learns nothing from results: every trial takes the next grid point
that no finished trial of the study has visited. So the grid search does not ask
Optuna for trials and tell it the results (``Study.ask`` / ``Study.tell``: about ten
commits of Optuna's RDB storage per trial, and every running trial read back at
each ask: ~33 ms of the parent's CPU per trial on the reference machine, 1.6 s of a
48-point search). It runs the unvisited points and stores each finished one as a
whole trial, params, value, state and metrics in one commit
(``Study.add_trial(optuna.trial.create_trial(...))``, Optuna's documented way to add
trials evaluated outside ``optimize``: ~10 ms each). Interrupted trials are
therefore never in the study; a resumed search runs every point it lacks.

The points come in grid order: the product of the values in the order of the
``--space`` flags, the last one varying fastest (the same order with or without
``--seed``). A study started by an earlier version (which asked Optuna's grid
sampler for points in its shuffled order) resumes too: its finished trials count,
whatever path stored them. Trial numbers follow the study's own numbering: this
process is the study's only client while it searches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState, create_trial

from vibe.trading_bot.optimize.objective import score
from vibe.trading_bot.optimize.space import Dimension, ParamValue, param_text
from vibe.trading_bot.optimize.trial import TrialOutcome, TrialSpec


def unvisited_points(
    dims: Sequence[Dimension], done: Sequence[FrozenTrial]
) -> list[dict[str, ParamValue]]:
    """The grid points (name -> value) of ``dims`` that no trial in ``done`` visited.

    Args:
        dims: the search space (a grid: every dimension's values).
        done: the study's finished trials.

    Returns:
        The points in grid order (see the module doc).
    """
    by_name = {d.name: d for d in dims}
    names = [d.name for d in dims]
    visited = {_key(trial.params, names, by_name) for trial in done}
    points = []
    for values in itertools.product(*(d.values for d in dims)):
        point = dict(zip(names, values, strict=True))
        if _key(point, names, by_name) not in visited:
            points.append(point)
    return points


def _key(
    params: Mapping[str, Any], names: Sequence[str], by_name: Mapping[str, Dimension]
) -> tuple[Any, ...]:
    return tuple(by_name[n].snap(params[n]) if n in params else None for n in names)


def trial_spec(number: int, params: Mapping[str, ParamValue], window: tuple[Any, Any]) -> TrialSpec:
    """The spec of trial ``number``: ``params`` as ``--param`` texts over ``window``."""
    texts = {name: param_text(value) for name, value in params.items()}
    return TrialSpec(number, window[0], window[1], texts)


def grid_specs(
    points: Sequence[dict[str, ParamValue]], first_number: int, window: tuple[Any, Any]
) -> Iterator[TrialSpec]:
    """One trial spec per point, numbered from ``first_number`` (the study's next trial)."""
    for number, point in enumerate(points, first_number):
        yield trial_spec(number, point, window)


def finished_trial(
    point: Mapping[str, ParamValue],
    distributions: Mapping[str, Any],
    outcome: TrialOutcome,
    objective: str,
    min_trades: int,
) -> FrozenTrial:
    """The trial to store for ``point``'s outcome (states as the study module documents).

    ``COMPLETE`` with the objective, ``PRUNED`` when infeasible, ``FAIL`` with the
    ``error`` user attribute when the backtest could not run; the metrics as a user
    attribute.
    """
    params, dists = dict(point), dict(distributions)
    if outcome.metrics is None:
        attrs = {"error": outcome.error or "failed"}
        return create_trial(
            state=TrialState.FAIL, params=params, distributions=dists, user_attrs=attrs
        )
    value = score(outcome.metrics, objective, min_trades)
    state = TrialState.PRUNED if value is None else TrialState.COMPLETE
    return create_trial(
        state=state,
        value=value,
        params=params,
        distributions=dists,
        user_attrs={"metrics": outcome.metrics},
    )
