"""The Opening Range Breakout's parameters and the rules that accept or reject a breakout.

:class:`OrbParams` holds every number of the strategy (:mod:`.orb`, the per-bar
path, and :mod:`.orb_vectorized`, the research path, both take it). The rules
below are the one table (:class:`Rule`, in the order they are checked) from
which the vectorized path's integer codes are derived.

Each rule is switchable through the strategy parameters and has a stable name
(:class:`Rule`) under which a rejected breakout is recorded, so metrics can count
rejections per rule. The same arithmetic serves the per-bar strategy (Python
floats) and the vectorized research path (numpy arrays): every helper here is
written with operators that behave identically on ``float`` and ``np.ndarray``,
which keeps the two paths bit-for-bit equal.

Rules, checked in this order (the first failing rule is the one recorded):

1. ``min_range_pct`` / ``max_range_pct``: the range width ``(high - low)`` as a
   percentage of the range midpoint ``(high + low) / 2`` must lie in
   ``[min_range_pct, max_range_pct]``.
2. ``trend_filter``: a long needs ``close > session VWAP``, a short ``close < VWAP``
   (a session with no volume yet has no VWAP and fails the rule).
3. ``volume_filter``: the breakout bar's volume must be ``>= volume_multiplier x``
   the mean volume of the previous ``volume_lookback_bars`` bars (across sessions);
   fewer previous bars than the lookback fails the rule (no warm-up, no verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import numpy as np

from vibe.common.errors import InvalidInputError

_Num = TypeVar("_Num", float, np.ndarray)


@dataclass(slots=True, frozen=True)
class OrbParams:
    """ORB parameters; field names equal ``StrategySettings`` fields (build with ``**dump``).

    Attributes:
        orb_minutes: opening range length, minutes.
        allow_short: take breakouts below the range low.
        entry_cutoff_minutes_before_close: no entry once a bar closes within this many
            minutes of the session close.
        take_profit_r: take-profit distance in multiples of R.
        flatten_minutes_before_close: flatten at the first bar ending this many minutes
            (or fewer) before the close.
        trend_filter: longs need close > session VWAP, shorts close < VWAP.
        volume_filter: breakout volume >= ``volume_multiplier`` × mean of the previous
            ``volume_lookback_bars`` bars.
        volume_multiplier: see ``volume_filter``.
        volume_lookback_bars: see ``volume_filter``, bars.
        min_range_pct: minimum range width, % of the range midpoint.
        max_range_pct: maximum range width, % of the range midpoint.

    Raises:
        InvalidInputError: a value is out of its domain (names the field).
    """

    orb_minutes: int = 15
    allow_short: bool = True
    entry_cutoff_minutes_before_close: int = 60
    take_profit_r: float = 2.0
    flatten_minutes_before_close: int = 5
    trend_filter: bool = True
    volume_filter: bool = True
    volume_multiplier: float = 1.5
    volume_lookback_bars: int = 20
    min_range_pct: float = 0.1
    max_range_pct: float = 3.0

    def __post_init__(self) -> None:
        positive = ("orb_minutes", "take_profit_r", "volume_multiplier", "volume_lookback_bars")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r}; expected a value > 0")
        for name in ("entry_cutoff_minutes_before_close", "flatten_minutes_before_close"):
            if getattr(self, name) < 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r}; expected >= 0")
        if not 0 <= self.min_range_pct < self.max_range_pct:
            raise InvalidInputError(
                f"min_range_pct={self.min_range_pct!r}, max_range_pct={self.max_range_pct!r};"
                " expected 0 <= min_range_pct < max_range_pct"
            )


class Rule(StrEnum):
    """Names under which a rejected breakout is recorded (the parameter that rejected it).

    The members are listed in the order the rules are checked (the first failing
    one is recorded); the vectorized path's code of a rule is its position + 1.
    """

    MIN_RANGE_PCT = "min_range_pct"
    MAX_RANGE_PCT = "max_range_pct"
    TREND_FILTER = "trend_filter"
    VOLUME_FILTER = "volume_filter"


#: Integer codes used by the vectorized path (0 = accepted); index into :data:`RULE_BY_CODE`.
RULE_BY_CODE: tuple[Rule | None, ...] = (None, *Rule)
#: Rule -> its vectorized code (derived from :data:`RULE_BY_CODE`).
CODE_OF: dict[Rule, int] = {rule: code for code, rule in enumerate(RULE_BY_CODE) if rule}


def range_width_pct(high: _Num, low: _Num) -> _Num:
    """Opening-range width in percent of its midpoint: ``(high - low) / ((high + low) / 2) * 100``.

    Works element-wise on numpy arrays too. Prices in USD per share; result in percent.
    """
    width: _Num = (high - low) / ((high + low) / 2.0) * 100.0
    return width


def range_rule(high: float, low: float, params: OrbParams) -> Rule | None:
    """Return the failing range-width rule, or ``None`` when the width is within bounds."""
    pct = range_width_pct(high, low)
    if pct < params.min_range_pct:
        return Rule.MIN_RANGE_PCT
    if pct > params.max_range_pct:
        return Rule.MAX_RANGE_PCT
    return None


def trend_ok(is_long: bool, close: float, vwap: float) -> bool:
    """True when the close is on the breakout's side of the session VWAP (NaN VWAP: False)."""
    if math.isnan(vwap):
        return False
    return close > vwap if is_long else close < vwap


def volume_ok(volume: int, previous_sum: int, previous_count: int, params: OrbParams) -> bool:
    """True when ``volume >= volume_multiplier * previous_sum / volume_lookback_bars``.

    Args:
        volume: the breakout bar's volume in shares.
        previous_sum: total volume of the previous ``min(previous_count, lookback)`` bars.
        previous_count: how many previous bars exist (fewer than the lookback fails).
        params: strategy parameters (``volume_multiplier``, ``volume_lookback_bars``).
    """
    lookback = params.volume_lookback_bars
    if previous_count < lookback:
        return False
    return bool(volume >= params.volume_multiplier * (previous_sum / lookback))


def check_breakout(
    params: OrbParams,
    is_long: bool,
    close: float,
    volume: int,
    vwap: float,
    previous_volume: tuple[int, int],
    range_high: float,
    range_low: float,
) -> Rule | None:
    """Apply every enabled rule to one breakout bar; return the first failing rule or ``None``.

    Args:
        params: strategy parameters (rule switches and thresholds).
        is_long: True for a breakout above the range high, False below the range low.
        close: the breakout bar's close, USD per share.
        volume: the breakout bar's volume, shares.
        vwap: session VWAP through the breakout bar (NaN when the session has no volume).
        previous_volume: ``(sum, count)`` of the previous bars' volumes, count capped at
            the lookback.
        range_high: opening-range high, USD per share.
        range_low: opening-range low, USD per share.
    """
    failed = range_rule(range_high, range_low, params)
    if failed is not None:
        return failed
    if params.trend_filter and not trend_ok(is_long, close, vwap):
        return Rule.TREND_FILTER
    if params.volume_filter and not volume_ok(volume, *previous_volume, params):
        return Rule.VOLUME_FILTER
    return None


def check_breakouts(
    params: OrbParams,
    is_long: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    vwap: np.ndarray,
    previous_volume: tuple[np.ndarray, np.ndarray],
    range_high: np.ndarray,
    range_low: np.ndarray,
) -> np.ndarray:
    """Vectorized :func:`check_breakout` over n breakout bars.

    All arrays have shape ``(n,)``; ``is_long`` is bool, ``volume`` and the previous
    volume ``(sum, count)`` are int64, the rest float64. Returns an int8 array of rule
    codes (0 = accepted, else an index into :data:`RULE_BY_CODE`).
    """
    pct = range_width_pct(range_high, range_low)
    codes = np.zeros(close.shape[0], dtype=np.int8)
    trend_fail = np.zeros(close.shape[0], dtype=bool)
    if params.trend_filter:
        with np.errstate(invalid="ignore"):
            trend_fail = ~np.where(is_long, close > vwap, close < vwap)
    volume_fail = np.zeros(close.shape[0], dtype=bool)
    if params.volume_filter:
        previous_sum, previous_count = previous_volume
        lookback = params.volume_lookback_bars
        enough = previous_count >= lookback
        passes = volume >= params.volume_multiplier * (previous_sum / lookback)
        volume_fail = ~(enough & passes)
    failing = {
        Rule.MIN_RANGE_PCT: pct < params.min_range_pct,
        Rule.MAX_RANGE_PCT: pct > params.max_range_pct,
        Rule.TREND_FILTER: trend_fail,
        Rule.VOLUME_FILTER: volume_fail,
    }
    # Later assignments win, so apply the rules in reverse order of precedence.
    for rule in reversed(Rule):
        codes[failing[rule]] = CODE_OF[rule]
    return codes
