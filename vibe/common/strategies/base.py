"""The small strategy interface: one ``on_bar`` step per closed bar.

A strategy is fed closed bars in time order, one symbol's bars interleaved with
others' if it trades several, each with a :class:`BarContext` that the caller
(the orchestrator or the backtest runner) fills in: the bar's session open and
close (so early closes reach the strategy as data, never as a guess) and the
current position in the bar's symbol. The strategy answers with a list of
:class:`~vibe.common.models.Signal` (usually empty) and records breakouts it
rejected as :class:`Rejection` objects for the metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vibe.common.models import Bar, PositionSide, Signal, SignalAction


@dataclass(slots=True)
class BarContext:
    """What the caller tells a strategy about the bar's session and account.

    The strategy recognises a new session by the ``session_open`` value; passing
    the same ``datetime`` object for every bar of a session (e.g. one context per
    session and symbol, updating only ``position``) lets it skip the comparison.

    Attributes:
        session_open: the session's open, tz-aware (any zone; compared as instants).
        session_close: the session's close, tz-aware; early closes included (13:00 ET).
        position: direction of the open position in the bar's symbol, ``None`` when flat.
    """

    session_open: datetime
    session_close: datetime
    position: PositionSide | None = None


@dataclass(slots=True, frozen=True)
class Rejection:
    """A breakout that a validation rule refused.

    Attributes:
        symbol: ticker.
        timestamp: close time of the breakout bar, tz-aware UTC.
        action: the entry it would have been (open long / open short).
        price: the breakout bar's close, USD per share.
        rule: name of the rule that refused it (a :class:`vibe.common.strategies.orb_rules.Rule`
            value such as ``volume_filter``).
    """

    symbol: str
    timestamp: datetime
    action: SignalAction
    price: float
    rule: str


class Strategy(ABC):
    """Base class: per-bar signal generation plus a record of rejected breakouts.

    Subclasses implement :meth:`on_bar` and append to ``self._rejections`` through
    :meth:`_reject`. Consumers read :meth:`pop_rejections` (drains the list) and
    :attr:`rejection_counts` (cumulative per rule name).
    """

    name: str = "strategy"

    def __init__(self) -> None:
        self._rejections: list[Rejection] = []
        self.rejection_counts: Counter[str] = Counter()

    @abstractmethod
    def on_bar(self, bar: Bar, context: BarContext) -> list[Signal]:
        """Process one closed bar; return the signals it produces (often none).

        Args:
            bar: the closed bar; bars must arrive in time order per symbol.
            context: the bar's session and the current position in ``bar.symbol``.
        """

    def idle_until(self, symbol: str) -> datetime | None:
        """Start time (tz-aware) before which ``symbol``'s bars of this session need no decision.

        A promise about the bars that follow: until the returned time, :meth:`on_bar`
        would return no signal and record no rejection, and :meth:`skip_bars` leaves the
        strategy's state exactly as :meth:`on_bar` would. A backtest fast-forwards
        through such bars (see
        :meth:`~vibe.trading_bot.core.bar_processor.BarProcessor.quiet_end`). ``None``
        (this default): every bar needs :meth:`on_bar`. A subclass that returns a time
        must implement :meth:`skip_bars`.
        """
        return None

    def skip_bars(self, bars: Sequence[Bar]) -> None:
        """Take in bars of one symbol that :meth:`idle_until` covers, without deciding anything.

        Raises:
            NotImplementedError: this strategy never promised to be idle.
        """
        if bars:
            raise NotImplementedError(f"{type(self).__name__} does not skip bars")

    def pop_rejections(self) -> list[Rejection]:
        """Return the breakouts rejected since the last call and forget them."""
        out, self._rejections = self._rejections, []
        return out

    def _reject(self, rejection: Rejection) -> None:
        self._rejections.append(rejection)
        self.rejection_counts[rejection.rule] += 1
