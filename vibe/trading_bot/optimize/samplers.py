"""Optuna samplers for ``--sampler grid|tpe|random``.

TPE and random trials are asked in batches and told in trial order (:mod:`.study`),
so a seeded sampler proposes the same trials whatever the executor and worker
count. A grid search does not ask its sampler (:mod:`.grid_trials` runs the
unvisited points in grid order); the study still carries Optuna's
:class:`~optuna.samplers.GridSampler` over the space, so a trial asked of it
(e.g. through Optuna's own API) is a grid point too.
"""

from __future__ import annotations

from collections.abc import Sequence

from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler

from vibe.trading_bot.optimize.space import Dimension

SAMPLERS = ("grid", "tpe", "random")


def make_sampler(kind: str, dims: Sequence[Dimension], seed: int | None) -> BaseSampler:
    """The sampler of ``--sampler`` over ``dims``, seeded with ``seed`` (``None``: random).

    TPE starts with ``min(10, trials)`` random trials (Optuna's default), then models.
    """
    if kind == "grid":
        return GridSampler({d.name: list(d.values) for d in dims}, seed=seed)
    if kind == "random":
        return RandomSampler(seed=seed)
    return TPESampler(seed=seed)
