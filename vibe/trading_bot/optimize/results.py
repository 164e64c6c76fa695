"""The ``optimize`` JSON report.

Keys: ``config`` (the run's flags and where the study lives), ``space`` (each
parameter's spec and values), ``objective`` (name, direction, ``min_trades``),
``trials`` (number, params, state ``complete|infeasible|failed``, value, metrics,
error), ``best`` (number, params, value, metrics; ``null`` when no trial is
feasible), ``walk_forward`` (``null`` without ``--walk-forward``; else ``folds``:
index, in-sample and out-of-sample first/last session, study, chosen params,
in-sample and out-of-sample objective and out-of-sample metrics; and
``out_of_sample``: chained metrics, objective and ``equity_curve``
``[[iso_utc, equity_usd], ...]``) and ``interrupted``. With walk-forward, ``trials``
and ``best`` are the last fold's (tuned on every block but the last). Metrics are
the backtest report's (USD to the cent, ratios to 6 decimals, NaN/inf as ``null``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vibe.trading_bot.optimize.driver import OptimizeOutcome, OptimizeRequest
from vibe.trading_bot.optimize.objective import score
from vibe.trading_bot.optimize.study import TrialRecord
from vibe.trading_bot.optimize.walk_forward import FoldResult, chain_equity, out_of_sample_metrics


@dataclass(frozen=True)
class RunInfo:
    """How the run was executed (reported, never part of a study's identity).

    Attributes:
        data: the ``--data`` folder.
        executor: ``local`` or ``dask``.
        executor_description: e.g. ``local pool, 2 worker(s)``.
        storage: the Optuna storage URL.
        initial_capital: USD (chains the out-of-sample equity).
        bar_minutes: bar length in minutes.
    """

    data: str
    executor: str
    executor_description: str
    storage: str
    initial_capital: float
    bar_minutes: int


def trial_dict(record: TrialRecord) -> dict[str, Any]:
    """One trial as its JSON object."""
    return {
        "number": record.number,
        "params": record.params,
        "state": record.state,
        "value": record.value,
        "metrics": record.metrics,
        "error": record.error,
    }


def _best_dict(record: TrialRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        k: v for k, v in trial_dict(record).items() if k in ("number", "params", "value", "metrics")
    }


def _fold_dict(result: FoldResult) -> dict[str, Any]:
    fold, evaluation = result.fold, result.evaluation
    return {
        "fold": fold.index,
        "in_sample": {"start": fold.in_sample[0].isoformat(), "end": fold.in_sample[1].isoformat()},
        "out_of_sample": {
            "start": fold.out_of_sample[0].isoformat(),
            "end": fold.out_of_sample[1].isoformat(),
        },
        "study": result.study,
        "params": None if result.best is None else result.best.params,
        "in_sample_objective": None if result.best is None else result.best.value,
        "out_of_sample_objective": result.out_of_sample_objective,
        "out_of_sample_metrics": None if evaluation is None else evaluation.metrics,
        "error": None if evaluation is None else evaluation.error,
        "trials": len(result.trials),
    }


def _walk_forward_dict(
    folds: Sequence[FoldResult], request: OptimizeRequest, info: RunInfo
) -> dict[str, Any]:
    evaluations = [f.evaluation for f in folds if f.evaluation is not None and f.evaluation.metrics]
    metrics = out_of_sample_metrics(evaluations, info.initial_capital, info.bar_minutes)
    search = request.search
    value = None if metrics is None else score(metrics, search.objective, search.min_trades)
    return {
        "folds": [_fold_dict(f) for f in folds],
        "out_of_sample": {
            "metrics": metrics,
            "objective": value,
            "equity_curve": chain_equity([e.equity for e in evaluations], info.initial_capital),
        },
    }


def report_dict(
    request: OptimizeRequest, outcome: OptimizeOutcome, info: RunInfo
) -> dict[str, Any]:
    """The whole JSON report (keys in the module doc)."""
    search, context = request.search, request.context
    config = {
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "symbols": list(context.symbols),
        "timeframe": context.timeframe,
        "data": info.data,
        "params": request.fixed,
        "sampler": search.sampler,
        "seed": search.seed,
        "trials": search.target(request.dims),
        "walk_forward": request.walk_forward,
        "executor": info.executor,
        "executor_description": info.executor_description,
        "study": outcome.study,
        "storage": info.storage,
    }
    wf = None if request.walk_forward is None else _walk_forward_dict(outcome.folds, request, info)
    return {
        "config": config,
        "space": {d.name: {"spec": d.spec, "values": list(d.values)} for d in request.dims},
        "objective": {
            "name": search.objective,
            "direction": "maximize",
            "min_trades": search.min_trades,
        },
        "trials": [trial_dict(r) for r in outcome.trials],
        "best": _best_dict(outcome.best),
        "walk_forward": wf,
        "interrupted": outcome.interrupted,
    }
