"""Anchored walk-forward: K folds over K+1 consecutive blocks of sessions.

The sessions of the range (ET dates on which every symbol has bars) are split into
K+1 consecutive blocks of (almost) equal size (``numpy.array_split``: the first
blocks get one session more when the count does not divide). Fold ``i`` (1..K)
optimizes on blocks ``0..i-1`` (anchored at the first session) and evaluates the
best parameters, once, on block ``i``. No out-of-sample session is ever in its
fold's in-sample window; the evaluation's indicator warm-up reads sessions before
the block (in-sample data, never later data), as every backtest does.

The out-of-sample equity is the folds' evaluations chained: each fold starts at
the initial capital and its P&L is added to the previous folds' (no compounding
across folds). Its metrics are computed from that chained curve and all the
evaluations' trades, with the same formulas as a backtest's; exposure is the
folds' exposures weighted by their bar counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.optimize.study import TrialRecord
from vibe.trading_bot.optimize.trial import TrialOutcome


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold (dates are ET sessions, inclusive).

    Attributes:
        index: 1..K.
        in_sample: first and last session the parameters are tuned on.
        out_of_sample: first and last session they are evaluated on.
    """

    index: int
    in_sample: tuple[date, date]
    out_of_sample: tuple[date, date]


@dataclass
class FoldResult:
    """What a fold found.

    Attributes:
        fold: the fold.
        study: the Optuna study name of its in-sample search.
        best: the best in-sample trial (``None``: no feasible trial).
        evaluation: the out-of-sample backtest of ``best``'s parameters.
        out_of_sample_objective: its objective (``None``: infeasible or not run).
        trials: the in-sample trials.
    """

    fold: Fold
    study: str
    best: TrialRecord | None
    evaluation: TrialOutcome | None
    out_of_sample_objective: float | None
    trials: list[TrialRecord] = field(default_factory=list)


def plan_folds(sessions: Sequence[date], folds: int) -> list[Fold]:
    """Split ``sessions`` (ascending) into ``folds + 1`` blocks and build the folds.

    Raises:
        InvalidInputError: ``folds < 1``, or fewer sessions than blocks.
    """
    if folds < 1:
        raise InvalidInputError(f"--walk-forward={folds}: expected a number of folds >= 1")
    if len(sessions) < folds + 1:
        raise InvalidInputError(
            f"--walk-forward={folds}: {len(sessions)} session(s) with bars in the range; "
            f"expected at least {folds + 1} (one per block)"
        )
    blocks = [list(block) for block in np.array_split(np.array(sessions, dtype=object), folds + 1)]
    return [
        Fold(i, (blocks[0][0], blocks[i - 1][-1]), (blocks[i][0], blocks[i][-1]))
        for i in range(1, folds + 1)
    ]


def chain_equity(curves: Sequence[Sequence[Sequence[Any]]], capital: float) -> list[list[Any]]:
    """``[[iso_utc, equity_usd], ...]`` of each fold -> one curve, P&L added across folds."""
    chained: list[list[Any]] = []
    offset = 0.0
    for curve in curves:
        values = [(stamp, value) for stamp, value in curve if value is not None]
        chained.extend([stamp, round(value + offset, 2)] for stamp, value in values)
        if values:
            offset += values[-1][1] - capital
    return chained


def out_of_sample_metrics(
    evaluations: Sequence[TrialOutcome], capital: float, bar_minutes: int
) -> dict[str, float | int | None] | None:
    """The chained out-of-sample metrics (see the module doc); ``None`` without a curve."""
    from vibe.trading_bot.backtest.metrics import metrics_from_arrays
    from vibe.trading_bot.backtest.report import metrics_dict

    curve = chain_equity([e.equity for e in evaluations], capital)
    if not curve:
        return None
    period = (datetime.fromisoformat(curve[0][0]), datetime.fromisoformat(curve[-1][0]))
    pnls = [pnl for e in evaluations for pnl in e.trade_pnls]
    equity = np.array([value for _, value in curve], dtype=float)
    metrics = metrics_dict(metrics_from_arrays(equity, period, pnls, capital, bar_minutes))
    points = [len(e.equity) for e in evaluations]
    exposures = [float((e.metrics or {}).get("exposure_pct") or 0.0) for e in evaluations]
    weighted = sum(x * n for x, n in zip(exposures, points, strict=True)) / max(sum(points), 1)
    metrics["exposure_pct"] = round(weighted, 6)
    return metrics
