"""Per-session counters the risk manager needs: start-of-day equity and entry counts.

Sessions are identified by their America/New_York date. Counts come from the
trade store at the start of each session (so a restart mid-session keeps them;
one query per session) plus the entries made since.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from vibe.trading_bot.storage.trade_store import TradeStore

ET = ZoneInfo("America/New_York")
PDT_WINDOW_SESSIONS = 5


class SessionCounters:
    """Start-of-day equity (USD), entries today and day trades in the last 5 sessions.

    Every entry is counted as a day trade (ORB positions are flat by the close).

    Args:
        store: where earlier trades are counted from at each session start.
    """

    def __init__(self, store: TradeStore) -> None:
        self._store = store
        self._days: deque[date] = deque(maxlen=PDT_WINDOW_SESSIONS)
        self.day: date | None = None
        self.start_of_day_equity = 0.0
        self.trades_today = 0
        self._earlier_in_window = 0

    def start(self, day: date, equity: float, window_start: date | None = None) -> None:
        """Begin session ``day`` (ET date) at ``equity`` USD.

        Args:
            day: the session's date in America/New_York.
            equity: equity at the session start, USD.
            window_start: first session date of the 5-session PDT window; default
                the oldest of the last 5 sessions started in this run.
        """
        if not self._days or self._days[-1] != day:
            self._days.append(day)
        self.day = day
        self.start_of_day_equity = equity
        first = window_start or self._days[0]
        day_start = datetime.combine(day, time(0), ET)
        window_start_at = datetime.combine(first, time(0), ET)
        # one query for both counts: entries since the window start (or today's start)
        earlier, self.trades_today = self._store.count_entries(
            min(window_start_at, day_start), day_start
        )
        self._earlier_in_window = earlier if window_start_at <= day_start else 0

    def session_of(self, at: datetime) -> date:
        """The ET date of ``at``."""
        return at.astimezone(ET).date()

    @property
    def day_trades_in_window(self) -> int:
        """Entries in the last 5 sessions, today included."""
        return self._earlier_in_window + self.trades_today
