"""Opening Range Breakout (ORB), the per-bar path.

Rules (every number is an :class:`OrbParams` field, named as the settings and the
backtest ``--param`` names):

* Opening range: high and low of the bars that **start** in
  ``[session open, session open + orb_minutes)``. A session with no such bar (a
  data gap over the open) takes no trade.
* Breakout: the **first** bar that starts at or after the range end and **closes**
  above the range high (long) or, with ``allow_short``, below the range low (short)
  is the session's one breakout. The validation rules
  (:mod:`vibe.common.strategies.orb_rules`) then accept it as an entry signal or reject it;
  either way the session's breakout is decided and no later bar is considered, so
  there is at most one entry (or one rejection) per symbol per session.
* Entry cutoff: a bar can only be a breakout while its close time is more than
  ``entry_cutoff_minutes_before_close`` (and more than
  ``flatten_minutes_before_close``) before the session close.
* Entry signal: market order; stop = the opposite side of the range; take-profit
  = signal close ± ``take_profit_r`` × R with R = |signal close − stop| (the
  executor recomputes it from the fill with :func:`vibe.common.risk.exit_levels`).
* Flat by the close: at the first bar that ends at or after
  ``session close − flatten_minutes_before_close``, a ``close`` signal with exit
  reason ``end_of_day`` if the context reports an open position.

Features use only the current and earlier bars: the session VWAP is accumulated
bar by bar and the volume average covers the previous bars. All per-session
thresholds are computed once at the session's first bar, so most bars (before the
range end, or once the breakout is decided) cost a few comparisons.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from vibe.common.errors import InvalidInputError
from vibe.common.models import Bar, ExitReason, Signal, SignalAction
from vibe.common.strategies.base import BarContext, Rejection, Strategy
from vibe.common.strategies.orb_rules import OrbParams, check_breakout

_RANGE, _HUNT, _WAIT_FLATTEN, _DONE = 0, 1, 2, 3


class _SymbolState:
    """Per-symbol state; session fields are reset at each session's first bar."""

    __slots__ = (
        "close_ts",
        "cum_pv",
        "cum_volume",
        "entry_before",
        "flatten_from",
        "high",
        "interval",
        "low",
        "open_ts",
        "phase",
        "range_end",
        "session_open",
        "volumes",
    )

    def __init__(self, lookback: int) -> None:
        never = datetime.min.replace(tzinfo=UTC)
        self.volumes: deque[int] = deque(maxlen=lookback + 1)
        self.session_open: datetime | None = None
        self.open_ts = self.close_ts = self.range_end = never
        self.entry_before = self.flatten_from = never
        self.interval = timedelta(0)
        self.phase = _DONE
        self.high, self.low = float("-inf"), float("inf")
        self.cum_pv = 0.0
        self.cum_volume = 0


class OrbStrategy(Strategy):
    """Opening Range Breakout, one :meth:`on_bar` call per closed bar (see module doc).

    Args:
        params: the rule parameters (defaults: the documented defaults).

    Rejected breakouts are recorded as :class:`Rejection` with ``rule`` set to a
    :class:`vibe.common.strategies.orb_rules.Rule` value; read them with ``pop_rejections()``.
    """

    name = "orb"

    def __init__(self, params: OrbParams | None = None) -> None:
        super().__init__()
        self.params = params or OrbParams()
        self._states: dict[str, _SymbolState] = {}

    def on_bar(self, bar: Bar, context: BarContext) -> list[Signal]:
        """Process one closed bar; see the module doc for the rules.

        Bars outside ``[session_open, session_close)`` are ignored (not part of any
        session, not counted in the volume average). Bars of one session must share
        one ``interval_seconds`` (the first bar's is used for the session thresholds).

        Raises:
            InvalidInputError: a session time in ``context`` is naive.
        """
        st = self._states.get(bar.symbol)
        if st is None:
            st = self._states[bar.symbol] = _SymbolState(self.params.volume_lookback_bars)
        if context.session_open is not st.session_open:
            self._enter_context(st, context, bar)
        ts = bar.timestamp
        if ts >= st.close_ts or ts < st.open_ts:
            return []
        st.volumes.append(bar.volume)
        phase = st.phase
        if phase == _DONE:
            return []
        if phase == _WAIT_FLATTEN:
            return [] if ts < st.flatten_from else self._flatten(st, bar, context)
        st.cum_pv += (bar.high + bar.low + bar.close) / 3.0 * bar.volume
        st.cum_volume += bar.volume
        if phase == _RANGE:
            if ts < st.range_end:
                st.high = max(st.high, bar.high)
                st.low = min(st.low, bar.low)
                return [] if ts < st.flatten_from else self._flatten(st, bar, context)
            st.phase = phase = _HUNT if st.high >= st.low else _WAIT_FLATTEN
        if phase == _HUNT:
            if ts < st.entry_before:
                return self._hunt(st, bar)
            st.phase = _WAIT_FLATTEN
        return [] if ts < st.flatten_from else self._flatten(st, bar, context)

    def idle_until(self, symbol: str) -> datetime | None:
        """The flatten time while waiting for it, the session close once done, else ``None``.

        After the breakout decision (or a range that never formed) the rules only count
        volumes until the flatten bar; after the flatten, until the close (see
        :meth:`Strategy.idle_until`).
        """
        st = self._states.get(symbol)
        if st is None:
            return None
        if st.phase == _DONE:
            return st.close_ts
        if st.phase == _WAIT_FLATTEN:
            return st.flatten_from
        return None

    def skip_bars(self, bars: Sequence[Bar]) -> None:
        """Count the session bars' volumes, as :meth:`on_bar` does in the idle phases.

        ``bars`` are one symbol's, in time order. The volume window keeps only its last
        ``volume_lookback_bars + 1`` entries, so only the stretch's last session bars
        are read (from the end back): the window ends exactly as if every bar had been
        appended.
        """
        if not bars:
            return
        st = self._states[bars[0].symbol]
        opens, closes = st.open_ts, st.close_ts
        room = st.volumes.maxlen
        kept: list[int] = []
        for bar in reversed(bars):
            at = bar.timestamp
            if at < opens:
                break  # the earlier bars are before the session too
            if at < closes:
                kept.append(bar.volume)
                if len(kept) == room:
                    break
        st.volumes.extend(reversed(kept))

    def _enter_context(self, st: _SymbolState, context: BarContext, bar: Bar) -> None:
        if context.session_open.tzinfo is None or context.session_close.tzinfo is None:
            raise InvalidInputError(
                f"context session_open={context.session_open.isoformat()}, session_close="
                f"{context.session_close.isoformat()}; expected tz-aware datetimes"
            )
        same = context.session_open == st.session_open
        st.session_open = context.session_open  # identity short-cut for the next bars
        if same:
            return
        tz = bar.timestamp.tzinfo
        p = self.params
        interval = timedelta(seconds=bar.interval_seconds)
        close = context.session_close.astimezone(tz)
        st.open_ts = context.session_open.astimezone(tz)
        st.close_ts = close
        st.range_end = st.open_ts + timedelta(minutes=p.orb_minutes)
        last_entry = max(p.entry_cutoff_minutes_before_close, p.flatten_minutes_before_close)
        st.entry_before = close - timedelta(minutes=last_entry) - interval
        st.flatten_from = close - timedelta(minutes=p.flatten_minutes_before_close) - interval
        st.interval = interval
        st.phase = _RANGE
        st.high, st.low = float("-inf"), float("inf")
        st.cum_pv, st.cum_volume = 0.0, 0

    def _hunt(self, st: _SymbolState, bar: Bar) -> list[Signal]:
        close = bar.close
        is_long = close > st.high
        if not is_long and not (self.params.allow_short and close < st.low):
            return []
        st.phase = _WAIT_FLATTEN
        return self._decide(st, bar, is_long)

    def _decide(self, st: _SymbolState, bar: Bar, is_long: bool) -> list[Signal]:
        p = self.params
        close = bar.close
        vols = st.volumes
        previous = (sum(vols) - bar.volume, min(len(vols) - 1, p.volume_lookback_bars))
        vwap = st.cum_pv / st.cum_volume if st.cum_volume else float("nan")
        action = SignalAction.OPEN_LONG if is_long else SignalAction.OPEN_SHORT
        at = bar.timestamp + st.interval
        rule = check_breakout(p, is_long, close, bar.volume, vwap, previous, st.high, st.low)
        if rule is not None:
            self._reject(Rejection(bar.symbol, at, action, close, rule.value))
            return []
        if is_long:
            stop = st.low
            target = close + p.take_profit_r * (close - stop)
        else:
            stop = st.high
            target = close - p.take_profit_r * (stop - close)
        return [Signal(bar.symbol, action, at, close, stop, target, None, self.name)]

    def _flatten(self, st: _SymbolState, bar: Bar, context: BarContext) -> list[Signal]:
        st.phase = _DONE
        if context.position is None:
            return []
        at = bar.timestamp + st.interval
        return [
            Signal(
                bar.symbol,
                SignalAction.CLOSE,
                at,
                bar.close,
                exit_reason=ExitReason.END_OF_DAY,
                strategy=self.name,
            )
        ]
