"""The search space: ``--space NAME=SPEC`` -> :class:`Dimension` (one per parameter).

``NAME`` is any name ``backtest --param`` takes
(:func:`~vibe.trading_bot.backtest.runner.allowed_params`). ``SPEC`` is

* a list ``5,15,30`` / ``true,false`` / ``fixed_bps,half_spread`` (the values in that
  order, no repeats), typed as booleans, integers, floats or text when every value is;
* a range ``LOW:HIGH:STEP`` (inclusive, ``STEP > 0``): ``1.0:3.0:0.5`` is 1.0, 1.5,
  2.0, 2.5, 3.0; integers when all three are integers, otherwise floats rounded to
  the most decimals written (so 0.1 steps never show as 0.30000000000000004).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vibe.common.errors import InvalidInputError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

#: A parameter value as the settings parse it.
ParamValue = bool | int | float | str

MAX_RANGE_VALUES = 10_000
_BOOLS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter.

    Attributes:
        name: the setting name in lower case (a ``--param`` name).
        spec: the ``SPEC`` as written.
        values: the candidate values in order (a range: ascending), at least one.
        is_range: written as ``LOW:HIGH:STEP`` (searched as ordered numbers by TPE).
        step: the range's step (``None`` for a list).
    """

    name: str
    spec: str
    values: tuple[ParamValue, ...]
    is_range: bool = False
    step: float | int | None = None

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution: int/float with step for a range, categorical for a list."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if not self.is_range or self.step is None:
            return CategoricalDistribution(self.values)
        low, high = self.values[0], self.values[-1]
        if isinstance(self.step, int) and isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, step=self.step)
        return FloatDistribution(float(low), float(high), step=float(self.step))

    def snap(self, sampled: ParamValue) -> ParamValue:
        """``sampled`` (as Optuna returns it) -> the nearest value of :attr:`values`."""
        if not self.is_range or isinstance(sampled, bool | str):
            return sampled
        return min(self.values, key=lambda v: abs(float(v) - float(sampled)))


def param_text(value: ParamValue) -> str:
    """A value as ``--param`` text: ``true``/``false``, ``15``, ``1.5``, ``fixed_bps``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_space(items: Sequence[str], allowed: Sequence[str]) -> list[Dimension]:
    """``["NAME=SPEC", ...]`` -> dimensions in the order given.

    Raises:
        InvalidInputError: no item; an item without ``=``; an unknown or repeated name
            (lists the accepted names); an empty, repeated or malformed value; a range
            that is not ``LOW:HIGH:STEP`` numbers with ``LOW <= HIGH`` and ``STEP > 0``.
    """
    if not items:
        raise InvalidInputError("--space: expected at least one NAME=SPEC (e.g. orb_minutes=5,15)")
    dims: list[Dimension] = []
    for item in items:
        name, sep, spec = item.partition("=")
        name, spec = name.strip().lower(), spec.strip()
        if not sep or not name or not spec:
            raise InvalidInputError(f"--space {item!r}: expected NAME=SPEC (e.g. orb_minutes=5,15)")
        if name not in allowed:
            raise InvalidInputError(
                f"--space {name}: unknown; expected one of {', '.join(allowed)}"
            )
        if any(d.name == name for d in dims):
            raise InvalidInputError(f"--space {name}: given twice; expected each name once")
        dims.append(_parse_range(name, spec) if ":" in spec else _parse_list(name, spec))
    return dims


def _parse_list(name: str, spec: str) -> Dimension:
    parts = [part.strip() for part in spec.split(",")]
    if any(not part for part in parts):
        raise InvalidInputError(f"--space {name}={spec}: empty value; expected a,b,c")
    if len(set(parts)) != len(parts):
        raise InvalidInputError(f"--space {name}={spec}: a value is repeated; expected each once")
    return Dimension(name, spec, _typed(parts))


def _typed(parts: list[str]) -> tuple[ParamValue, ...]:
    if all(p.lower() in _BOOLS for p in parts):
        return tuple(_BOOLS[p.lower()] for p in parts)
    for kind in (int, float):
        try:
            return tuple(kind(p) for p in parts)
        except ValueError:
            continue
    return tuple(parts)


def _decimals(text: str) -> int:
    mantissa = text.lower().split("e")[0]
    return len(mantissa.partition(".")[2])


def _range_numbers(name: str, spec: str, parts: list[str]) -> tuple[float, float, float]:
    if len(parts) == 3:
        try:
            low, high, step = (float(p) for p in parts)
        except ValueError:
            pass
        else:
            if all(map(math.isfinite, (low, high, step))) and step > 0 and low <= high:
                return low, high, step
    raise InvalidInputError(
        f"--space {name}={spec}: expected LOW:HIGH:STEP numbers with LOW <= HIGH and "
        "STEP > 0 (e.g. 1.0:3.0:0.5)"
    )


def _parse_range(name: str, spec: str) -> Dimension:
    parts = [part.strip() for part in spec.split(":")]
    low, high, step = _range_numbers(name, spec, parts)
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > MAX_RANGE_VALUES:
        raise InvalidInputError(
            f"--space {name}={spec}: {count} values; expected at most {MAX_RANGE_VALUES}"
        )
    if all(_is_int(p) for p in parts):
        ints = tuple(int(low) + i * int(step) for i in range(count))
        return Dimension(name, spec, ints, is_range=True, step=int(step))
    digits = max(_decimals(p) for p in parts)
    floats = tuple(round(low + i * step, digits) for i in range(count))
    return Dimension(name, spec, floats, is_range=True, step=step)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def grid_size(dims: Sequence[Dimension]) -> int:
    """Number of points of the full grid (product of the value counts)."""
    return math.prod(len(d.values) for d in dims)
