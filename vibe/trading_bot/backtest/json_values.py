"""JSON value conventions of the backtest reports: finite numbers, UTC times."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from vibe.common.models import require_aware


def finite_or_none(value: float | None, ndigits: int) -> float | None:
    """``value`` rounded to ``ndigits`` decimals, or ``None`` if missing, NaN or infinite.

    Never ``-0.0``: a value that rounds to zero is ``0.0`` (``-0.0`` would read as a
    loss of nothing, e.g. a VaR of ``-0.0 %``).
    """
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), ndigits) + 0.0


def iso_utc(name: str, value: datetime) -> str:
    """ISO-8601 text of ``value`` in UTC with its ``+00:00`` offset.

    Raises:
        InvalidInputError: ``value`` is naive; the message names ``name``.
    """
    return require_aware(name, value).astimezone(UTC).isoformat()


def rounded_list(values: np.ndarray, ndigits: int) -> list[float | None]:
    """:func:`finite_or_none` of every element, vectorized (a year of 1-minute points)."""
    array = np.round(np.asarray(values, dtype=float), ndigits) + 0.0
    finite = np.isfinite(array)
    if finite.all():
        return list(array.tolist())
    return [
        value if ok else None for value, ok in zip(array.tolist(), finite.tolist(), strict=True)
    ]
