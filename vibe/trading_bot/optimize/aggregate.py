"""Objective summaries over the trials: by one parameter, and by a pair (the heatmap)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ValueSummary:
    """The trials that used one value of a parameter.

    Attributes:
        value: the parameter value.
        trials: finished trials with this value.
        feasible: of those, the complete ones.
        best: highest objective (``None``: none feasible).
        mean: mean objective of the feasible ones.
    """

    value: Any
    trials: int
    feasible: int
    best: float | None
    mean: float | None


def by_value(
    trials: Sequence[Mapping[str, Any]], name: str, values: Sequence[Any]
) -> list[ValueSummary]:
    """One :class:`ValueSummary` per value of ``name`` (in ``values`` order).

    Args:
        trials: the report's ``trials`` (``params``, ``state``, ``value``).
        name: the parameter.
        values: its values, in the order reported.
    """
    out = []
    for value in values:
        used = [t for t in trials if t["params"].get(name) == value]
        scores = [t["value"] for t in used if t["state"] == "complete" and t["value"] is not None]
        best = max(scores) if scores else None
        mean = sum(scores) / len(scores) if scores else None
        out.append(ValueSummary(value, len(used), len(scores), best, mean))
    return out


def top_trials(trials: Sequence[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """The ``count`` complete trials with the highest objective (ties: lowest number first)."""
    done = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    return sorted(done, key=lambda t: (-t["value"], t["number"]))[:count]


def heatmap(
    trials: Sequence[Mapping[str, Any]],
    rows: tuple[str, Sequence[Any]],
    cols: tuple[str, Sequence[Any]],
) -> list[list[float | None]]:
    """Best objective for each (row value, column value), over the other parameters.

    Returns:
        ``len(rows values)`` lists of ``len(cols values)`` cells (``None``: no feasible trial).
    """
    (row_name, row_values), (col_name, col_values) = rows, cols
    grid: list[list[float | None]] = [[None] * len(col_values) for _ in row_values]
    for trial in trials:
        if trial["state"] != "complete" or trial["value"] is None:
            continue
        params = trial["params"]
        if params.get(row_name) not in row_values or params.get(col_name) not in col_values:
            continue
        i, j = row_values.index(params[row_name]), col_values.index(params[col_name])
        cell = grid[i][j]
        grid[i][j] = trial["value"] if cell is None else max(cell, trial["value"])
    return grid
